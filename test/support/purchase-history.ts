import { randomUUID } from 'node:crypto';
import { paymentDecider, type PaymentCommand } from '../../src/aggregates/payment.js';
import { toEventData } from '../../src/commands/handle-command.js';
import { eventIdFor } from '../../src/domain/ids.js';
import { quotePurchase } from '../../src/domain/purchase-quote.js';
import { paymentStreamId, type PaymentEvent } from '../../src/events/payment.js';
import type { EventData, EventStore } from '../../src/eventstore/event-store.js';

/** The venues a history's purchases go to, in turn. */
export const HISTORY_VENUES = ['7a1f3c1e-0000-4000-8000-000000000001', '7a1f3c1e-0000-4000-8000-000000000002', '7a1f3c1e-0000-4000-8000-000000000003'];

/**
 * The commands of the `i`-th payment of a history: a purchase charged and captured, then for
 * every third a partial refund paid, for every third a full refund (refused by the gateway
 * one time in five, so the money goes back).
 */
function commandsOf(i: number, paymentId: string): PaymentCommand[] {
  const unitPrice = 2_500 + (i % 7) * 1_250;
  const quantity = 1 + (i % 3);
  const quote = quotePurchase({
    ticketPrice: unitPrice * quantity,
    ticketCount: quantity,
    venueAddress: { city: 'Nashville', state: 'TN' },
    trailingVolume: (i % 4) * 2_000_000,
    chain: 'polygon',
  });
  const requestedAt = new Date(Date.UTC(2026, 0, 1, 12, 0, i)).toISOString();
  const ref = `pi_history_${i}`;
  const outcome = { amount: quote.total, gateway: 'sandbox', gatewayReference: ref };
  const purchase: PaymentCommand[] = [
    {
      type: 'RequestPayment',
      data: {
        paymentId,
        userId: `buyer-${i % 5}`,
        venueId: HISTORY_VENUES[i % HISTORY_VENUES.length]!,
        eventId: 'event-history',
        tickets: [{ ticketTypeId: 'ga', quantity, unitPrice, priceSource: 'catalogue' }],
        quote,
        paymentMethod: { type: 'card', paymentMethodId: 'pm_card_visa' },
        captureMode: 'automatic',
        requestedAt,
        expiresAt: new Date(Date.parse(requestedAt) + 900_000).toISOString(),
      },
    },
    { type: 'SubmitPayment', data: { gateway: 'sandbox', operation: 'charge', idempotencyKey: `key-${i}` } },
    { type: 'RecordAuthorization', data: outcome },
    { type: 'RecordCapture', data: outcome },
  ];
  const requestedBy = { kind: 'user', userId: `buyer-${i % 5}` } as const;
  // Refund ids are unique per payment, as the refund command derives them from its own id.
  const refundId = `r-${paymentId}`;
  if (i % 3 === 1) {
    return [
      ...purchase,
      { type: 'RequestRefund', data: { refundId, amount: 1_000, reason: 'cannot make it', requestedBy } },
      { type: 'RecordRefundSuccess', data: { refundId, gatewayReference: `re_${i}` } },
    ];
  }
  if (i % 3 === 2) {
    const settle: PaymentCommand =
      i % 5 === 0
        ? { type: 'RecordRefundFailure', data: { refundId, reason: 'refused', code: 'refund_failed' } }
        : { type: 'RecordRefundSuccess', data: { refundId, gatewayReference: `re_${i}` } };
    return [...purchase, { type: 'RequestRefund', data: { refundId, reason: 'event cancelled', requestedBy } }, settle];
  }
  return purchase;
}

/** The `i`-th payment's events as its command handler writes them: one append per command. */
export function purchaseHistoryBatches(i: number, paymentId: string, now = new Date(Date.UTC(2026, 0, 1, 12, 0, i))): EventData[][] {
  let state = paymentDecider.initialState();
  return commandsOf(i, paymentId).map((command, n) => {
    const events: PaymentEvent[] = paymentDecider.decide(command, state);
    state = events.reduce((s, e) => paymentDecider.evolve(s, e), state);
    const commandId = eventIdFor(paymentId, n);
    return toEventData(events, { commandId, now, actor: 'system:history', tenantId: 'tenant-1', correlationId: paymentId });
  });
}

/**
 * Appends `payments` purchases (with refunds) decided by the Payment decider, each command's
 * events in an append of their own as the command handler writes them. Answers the payment ids.
 */
export async function appendPurchaseHistory(store: EventStore, payments: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < payments; i++) {
    const paymentId = randomUUID();
    let expected: 'no_stream' | number = 'no_stream';
    for (const batch of purchaseHistoryBatches(i, paymentId)) {
      expected = (await store.append(paymentStreamId(paymentId), batch, { expected })).nextExpectedRevision;
    }
    ids.push(paymentId);
  }
  return ids;
}
