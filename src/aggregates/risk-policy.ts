import { DEFAULT_RISK_THRESHOLDS, RISK_LIST_KINDS, type RiskListKind, type RiskThresholds } from '../domain/risk.js';
import { TesseraError } from '../errors.js';
import { isRiskPolicyEvent, type RiskList, type RiskListEntryAdded, type RiskPolicyEvent } from '../events/risk-policy.js';
import type { Decider } from './decider.js';

/** A tenant's lists and threshold overrides, folded from its `risk-policy-<tenant>` stream. */
export interface RiskPolicyState {
  /** `<list>:<kind>:<value>` -> the entry. */
  readonly entries: ReadonlyMap<string, RiskListEntryAdded['data']>;
  /** scope -> overrides. */
  readonly thresholds: ReadonlyMap<string, Partial<RiskThresholds>>;
}

export type RiskPolicyCommand =
  | { readonly type: 'AddRiskListEntry'; readonly data: RiskListEntryAdded['data'] }
  | { readonly type: 'RemoveRiskListEntry'; readonly data: { readonly list: RiskList; readonly kind: RiskListKind; readonly value: string; readonly removedBy: string; readonly removedAt: string } }
  | { readonly type: 'SetRiskThresholds'; readonly data: { readonly scope: string; readonly thresholds: Partial<RiskThresholds>; readonly setBy: string; readonly setAt: string } };

export const listKey = (list: RiskList, kind: RiskListKind, value: string): string => `${list}:${kind}:${value}`;

/** How a list value is compared: trimmed; case-insensitive except user ids and card fingerprints. */
export const normalizeListValue = (kind: RiskListKind, value: string): string => {
  const trimmed = value.trim();
  return kind === 'user' || kind === 'card' ? trimmed : trimmed.toLowerCase();
};

export function evolveRiskPolicy(state: RiskPolicyState, event: RiskPolicyEvent): RiskPolicyState {
  switch (event.type) {
    case 'RiskListEntryAdded': {
      const entries = new Map(state.entries);
      entries.set(listKey(event.data.list, event.data.kind, event.data.value), event.data);
      return { ...state, entries };
    }
    case 'RiskListEntryRemoved': {
      const entries = new Map(state.entries);
      entries.delete(listKey(event.data.list, event.data.kind, event.data.value));
      return { ...state, entries };
    }
    case 'RiskThresholdsSet': {
      const thresholds = new Map(state.thresholds);
      thresholds.set(event.data.scope, event.data.thresholds);
      return { ...state, thresholds };
    }
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled risk policy event ${JSON.stringify(unhandled)}`);
    }
  }
}

export function decideRiskPolicy(command: RiskPolicyCommand, state: RiskPolicyState): RiskPolicyEvent[] {
  switch (command.type) {
    case 'AddRiskListEntry': {
      const existing = state.entries.get(listKey(command.data.list, command.data.kind, command.data.value));
      if (existing && existing.reason === command.data.reason) return [];
      return [{ type: 'RiskListEntryAdded', data: command.data }];
    }
    case 'RemoveRiskListEntry': {
      const { list, kind, value } = command.data;
      if (!state.entries.has(listKey(list, kind, value))) {
        throw new TesseraError('RISK_LIST_ENTRY_NOT_FOUND', `no ${kind} ${value} on the ${list} list`, { expose: { list, kind, value } });
      }
      return [{ type: 'RiskListEntryRemoved', data: command.data }];
    }
    case 'SetRiskThresholds': {
      const { scope, thresholds } = command.data;
      refuseDisorderedThresholds(effectiveAfter(state, scope, thresholds));
      if (JSON.stringify(state.thresholds.get(scope) ?? {}) === JSON.stringify(thresholds)) return [];
      return [{ type: 'RiskThresholdsSet', data: command.data }];
    }
    default: {
      const unhandled: never = command;
      throw new Error(`unhandled risk policy command ${JSON.stringify(unhandled)}`);
    }
  }
}

/** The thresholds a purchase at this venue and event is held to: defaults, then tenant, venue, event. */
export function thresholdsFor(state: RiskPolicyState, venueId: string, eventId: string): RiskThresholds {
  return { ...DEFAULT_RISK_THRESHOLDS, ...state.thresholds.get('default'), ...state.thresholds.get(`venue:${venueId}`), ...state.thresholds.get(`event:${eventId}`) };
}

/** Whether the tenant's policy sets `field` itself for the purchase's venue or event (or by default), rather than leaving the built-in value. */
export function policySets(state: RiskPolicyState, venueId: string, eventId: string, field: keyof RiskThresholds): boolean {
  return ['default', `venue:${venueId}`, `event:${eventId}`].some((scope) => state.thresholds.get(scope)?.[field] !== undefined);
}

/** Which block and allow lists the purchase's identifiers are on. */
export function listHits(state: RiskPolicyState, values: Partial<Record<RiskListKind, string>>) {
  const on = (list: RiskList) =>
    RISK_LIST_KINDS.filter((kind) => values[kind] !== undefined && state.entries.has(listKey(list, kind, normalizeListValue(kind, values[kind]))));
  return { blocked: on('block'), allowed: on('allow') };
}

/** The most demanding combination a scope's overrides can meet: the defaults and every broader scope. */
function effectiveAfter(state: RiskPolicyState, scope: string, overrides: Partial<RiskThresholds>): RiskThresholds {
  const broader = scope === 'default' ? {} : state.thresholds.get('default');
  return { ...DEFAULT_RISK_THRESHOLDS, ...broader, ...overrides };
}

function refuseDisorderedThresholds(t: RiskThresholds): void {
  if (!(t.challengeAt <= t.reviewAt && t.reviewAt <= t.declineAt && t.declineAt <= 100)) {
    throw new TesseraError('VALIDATION_ERROR', 'score thresholds must rise: challengeAt <= reviewAt <= declineAt <= 100', {
      errors: [{ field: 'thresholds', message: `challengeAt ${t.challengeAt}, reviewAt ${t.reviewAt}, declineAt ${t.declineAt}` }],
    });
  }
}

export const riskPolicyDecider: Decider<RiskPolicyState, RiskPolicyCommand, RiskPolicyEvent> = {
  initialState: () => ({ entries: new Map(), thresholds: new Map() }),
  evolve: evolveRiskPolicy,
  decide: decideRiskPolicy,
  isEvent: isRiskPolicyEvent,
};
