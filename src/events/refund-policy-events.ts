import type { RefundTier } from '../domain/refund-policy.js';

/**
 * Refund policies as data (seed 001 "refund_policies"), one stream per scope:
 * `refund-policy-venue-<id>` (the venue's default tiers) and `refund-policy-event-<id>` (the
 * event's start time, and tiers of its own when they differ). Schema version 1.
 */
export const REFUND_POLICY_EVENT_SCHEMA_VERSION = 1;

export type RefundPolicyScope = 'venue' | 'event';

export const refundPolicyStreamId = (scope: RefundPolicyScope, id: string): string => `refund-policy-${scope}-${id}`;

export interface RefundPolicySet {
  readonly type: 'RefundPolicySet';
  readonly data: {
    readonly scope: RefundPolicyScope;
    readonly scopeId: string;
    readonly venueId: string;
    /** The event's start (events only): what the tiers count back from. */
    readonly startsAt?: string;
    /** Absent on an event that follows its venue's (or the platform's) tiers. */
    readonly tiers?: readonly RefundTier[];
  };
}

export type RefundPolicyEvent = RefundPolicySet;

export const isRefundPolicyEvent = (event: { type: string; data: unknown }): event is RefundPolicyEvent => event.type === 'RefundPolicySet';
