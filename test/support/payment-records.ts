import { decidePayment, evolvePayment, initialPaymentState, type PaymentCommand, type PaymentState } from '../../src/aggregates/payment.js';
import { comparePositions, type EventStore, type Position, type RecordedEvent } from '../../src/eventstore/event-store.js';
import { paymentStreamId, type PaymentEvent } from '../../src/events/payment.js';
import { PAYMENT_ID } from '../aggregates/payment-fixtures.js';
import { metadata } from './events.js';

export type Recorded = RecordedEvent<PaymentEvent['type'], PaymentEvent['data']> & PaymentEvent;

/** Records events as the store would: revisions from `from`, one minute apart from 12:00. */
export function record(events: readonly PaymentEvent[], from = 0): Recorded[] {
  return events.map((event, i) => {
    const revision = from + i;
    const occurredAt = new Date(Date.parse('2026-01-01T12:00:00.000Z') + revision * 60_000).toISOString();
    return {
      ...event,
      id: `00000000-0000-4000-8000-${String(revision).padStart(12, '0')}`,
      streamId: `payment-${PAYMENT_ID}`,
      revision,
      position: { commit: BigInt(revision + 1), prepare: BigInt(revision + 1) },
      recordedAt: new Date(occurredAt),
      metadata: metadata({ occurredAt, tenantId: 'tenant-1' }),
    };
  });
}

/** Given the events so far, the events the decider answers a command with. */
export function decide(given: readonly PaymentEvent[], command: PaymentCommand): PaymentEvent[] {
  const state = given.reduce<PaymentState>(evolvePayment, initialPaymentState());
  return decidePayment(command, state);
}

/**
 * The position of the latest event of some payments' streams, for waiting on a read model. (The
 * store's head may still be behind an event that a stream read already shows, while an older
 * transaction runs: $all only passes a commit once nothing can appear before it.)
 */
export async function lastPositionOf(store: EventStore, paymentIds: readonly string[]): Promise<Position> {
  const lasts = await Promise.all(paymentIds.map((id) => store.readStream(paymentStreamId(id), { direction: 'backwards', maxCount: 1 })));
  const positions = lasts.flatMap((events) => events.map((e) => e.position));
  if (positions.length === 0) throw new Error('none of these payments has events');
  return positions.reduce((max, p) => (comparePositions(p, max) > 0 ? p : max));
}
