import type { RiskListKind, RiskThresholds } from '../domain/risk.js';
import { eventGuard } from './event-guard.js';

/**
 * A tenant's risk policy (`risk-policy-<tenantId>`, issue 20): the block and allow lists an
 * operator keeps, and the thresholds that override the seed's defaults for the tenant, a venue or
 * an event. Every change is an event, so a decision can be explained from history.
 */
export const riskPolicyStreamId = (tenantId: string): string => `risk-policy-${tenantId}`;

export type RiskList = 'block' | 'allow';

export interface RiskListEntryAdded {
  readonly type: 'RiskListEntryAdded';
  readonly data: {
    readonly list: RiskList;
    readonly kind: RiskListKind;
    /** Stored normalized: trimmed, lower-case for devices, addresses and email domains. */
    readonly value: string;
    readonly reason: string;
    readonly addedBy: string;
    readonly addedAt: string;
  };
}

export interface RiskListEntryRemoved {
  readonly type: 'RiskListEntryRemoved';
  readonly data: { readonly list: RiskList; readonly kind: RiskListKind; readonly value: string; readonly removedBy: string; readonly removedAt: string };
}

/** `scope`: `default` (the tenant), `venue:<id>` or `event:<id>`; the most specific wins, per threshold. */
export interface RiskThresholdsSet {
  readonly type: 'RiskThresholdsSet';
  readonly data: { readonly scope: string; readonly thresholds: Partial<RiskThresholds>; readonly setBy: string; readonly setAt: string };
}

export type RiskPolicyEvent = RiskListEntryAdded | RiskListEntryRemoved | RiskThresholdsSet;

export const RISK_POLICY_EVENT_VERSIONS = {
  RiskListEntryAdded: 1,
  RiskListEntryRemoved: 1,
  RiskThresholdsSet: 1,
} as const satisfies Record<RiskPolicyEvent['type'], number>;

const riskPolicyEvents = eventGuard<RiskPolicyEvent>(RISK_POLICY_EVENT_VERSIONS);

export const RISK_POLICY_EVENT_TYPES = riskPolicyEvents.types;
export const isRiskPolicyEvent = riskPolicyEvents.is;
