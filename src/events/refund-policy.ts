import type { RefundTier } from '../domain/refund-policy.js';

/**
 * Refund policies as data (seed 001 "refund_policies"), one stream per scope:
 * `refund-policy-venue-<venueId>` (the venue's default tiers) and
 * `refund-policy-event-<venueId>-<eventId>` (the event's start time at that venue, and tiers of
 * its own when they differ). An event's policy is the venue's own: keyed by venue, one venue's
 * manager can never set, nor lock anyone out of, another venue's policy for the same event id.
 * Before that, event policies lived in `refund-policy-event-<eventId>` (legacyEventPolicyStreamId),
 * which is still read for venues that have not set the event again since.
 */
export type RefundPolicyScope = 'venue' | 'event';

export const refundPolicyStreamId = (policy: { readonly scope: RefundPolicyScope; readonly scopeId: string; readonly venueId: string }): string =>
  policy.scope === 'venue' ? `refund-policy-venue-${policy.venueId}` : `refund-policy-event-${policy.venueId}-${policy.scopeId}`;

/** Where an event's policy was kept when it was keyed by the event alone. */
export const legacyEventPolicyStreamId = (eventId: string): string => `refund-policy-event-${eventId}`;

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

/** Each event type's schema version as written now (src/events/versions.ts). */
export const REFUND_POLICY_EVENT_VERSIONS = {
  RefundPolicySet: 1,
} as const satisfies Record<RefundPolicyEvent['type'], number>;

export const isRefundPolicyEvent = (event: { type: string; data: unknown }): event is RefundPolicyEvent => event.type === 'RefundPolicySet';
