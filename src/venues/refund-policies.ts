import { refundPolicyDecider, type RefundPolicyState } from '../aggregates/refund-policy.js';
import { handleCommand, loadAggregate, type CommandContext } from '../commands/handle-command.js';
import { DEFAULT_REFUND_TIERS, refundShareAt, type RefundTier } from '../domain/refund-policy.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import { refundPolicyStreamId, type RefundPolicyScope, type RefundPolicySet } from '../events/refund-policy-events.js';

export async function setRefundPolicy(
  store: EventStore,
  policy: RefundPolicySet['data'],
  context: CommandContext,
): Promise<{ policy: RefundPolicySet['data']; changed: boolean; position: Position | null }> {
  const result = await handleCommand(store, {
    streamId: refundPolicyStreamId(policy.scope, policy.scopeId),
    decider: refundPolicyDecider,
    command: { type: 'SetRefundPolicy', data: policy },
    context,
  });
  return { policy: result.state.policy!, changed: result.events.length > 0, position: result.position };
}

async function policyOf(store: EventStore, scope: RefundPolicyScope, id: string): Promise<RefundPolicySet['data'] | undefined> {
  const { state }: { state: RefundPolicyState } = await loadAggregate(store, refundPolicyStreamId(scope, id), refundPolicyDecider);
  return state.policy;
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
 * An event record written by another venue than the purchase's is not this purchase's event
 * policy (a manager cannot bind the refunds of another venue's event) and is ignored.
 */
export async function refundPolicyFor(store: EventStore, purchase: { eventId: string; venueId: string }, now: Date): Promise<AppliedRefundPolicy | undefined> {
  const event = await policyOf(store, 'event', purchase.eventId);
  if (!event?.startsAt || event.venueId !== purchase.venueId) return undefined;
  const venue = event.tiers ? undefined : await policyOf(store, 'venue', purchase.venueId);
  const [tiers, source] = event.tiers ? [event.tiers, 'event' as const] : venue?.tiers ? [venue.tiers, 'venue' as const] : [DEFAULT_REFUND_TIERS, 'default' as const];
  return { refundBps: refundShareAt(tiers, new Date(event.startsAt), now), tiers, startsAt: event.startsAt, source };
}
