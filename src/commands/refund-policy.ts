import { refundPolicyDecider, type RefundPolicyState } from '../aggregates/refund-policy.js';
import { commandHandler, loadAggregate, type CommandContext } from './handle-command.js';
import { DEFAULT_REFUND_TIERS, refundShareAt, type RefundTier } from '../domain/refund-policy.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import { legacyEventPolicyStreamId, refundPolicyStreamId, type RefundPolicySet } from '../events/refund-policy.js';

/** The RefundPolicy aggregate's command handler: one stream per venue, or per venue and event. */
export const refundPolicyHandler = commandHandler(refundPolicyDecider, refundPolicyStreamId);

export async function setRefundPolicy(
  store: EventStore,
  policy: RefundPolicySet['data'],
  context: CommandContext,
): Promise<{ policy: RefundPolicySet['data']; changed: boolean; position: Position | null }> {
  const result = await refundPolicyHandler.handle(store, policy, { type: 'SetRefundPolicy', data: policy }, context);
  return { policy: result.state.policy!, changed: result.events.length > 0, position: result.position };
}

async function policyIn(store: EventStore, streamId: string): Promise<RefundPolicySet['data'] | undefined> {
  const { state }: { state: RefundPolicyState } = await loadAggregate(store, streamId, refundPolicyDecider);
  return state.policy;
}

/** The venue's policy for the event: its own stream, else one it set before policies were keyed by venue. */
async function eventPolicyOf(store: EventStore, venueId: string, eventId: string): Promise<RefundPolicySet['data'] | undefined> {
  const own = await policyIn(store, refundPolicyStreamId({ scope: 'event', scopeId: eventId, venueId }));
  if (own) return own;
  const legacy = await policyIn(store, legacyEventPolicyStreamId(eventId));
  return legacy?.venueId === venueId ? legacy : undefined;
}

export interface AppliedRefundPolicy {
  readonly refundBps: number;
  readonly tiers: readonly RefundTier[];
  readonly startsAt: string;
  /** Where the tiers came from. */
  readonly source: 'event' | 'venue' | 'default';
}

/**
 * The policy a buyer's refund of a ticket to `eventId` meets at `now`: the event's tiers, else
 * its venue's, else the platform's default, counted back from the event's start. Without a
 * recorded start time no policy can apply (undefined): the refund is bounded only by what was paid.
 * The event's policy is the purchase's venue's own (its stream is keyed by venue and event).
 */
export async function refundPolicyFor(store: EventStore, purchase: { eventId: string; venueId: string }, now: Date): Promise<AppliedRefundPolicy | undefined> {
  const event = await eventPolicyOf(store, purchase.venueId, purchase.eventId);
  if (!event?.startsAt) return undefined;
  const venue = event.tiers ? undefined : await policyIn(store, refundPolicyStreamId({ scope: 'venue', scopeId: purchase.venueId, venueId: purchase.venueId }));
  const [tiers, source] = event.tiers ? [event.tiers, 'event' as const] : venue?.tiers ? [venue.tiers, 'venue' as const] : [DEFAULT_REFUND_TIERS, 'default' as const];
  return { refundBps: refundShareAt(tiers, new Date(event.startsAt), now), tiers, startsAt: event.startsAt, source };
}
