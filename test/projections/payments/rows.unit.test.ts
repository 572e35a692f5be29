import { describe, expect, it } from 'vitest';
import type { PaymentEvent } from '../../../src/events/payment.js';
import { evolveRefund, evolveSummary, hourOf, mergeStats, summaryColumns, type PaymentSummary, type RefundRow, type StatsDelta } from '../../../src/projections/payments/rows.js';
import { PAYMENT_ID, paid, TOTAL, requested } from '../../aggregates/payment-fixtures.js';
import { decide, record, type Recorded } from '../../support/payment-records.js';

function fold(events: readonly Recorded[], start?: PaymentSummary): { summary: PaymentSummary | undefined; stats: StatsDelta[] } {
  let summary = start;
  const stats: StatsDelta[] = [];
  for (const event of events) {
    const change = evolveSummary(summary, event);
    if (!change) continue;
    summary = change.summary;
    stats.push(...change.stats);
  }
  return { summary, stats };
}

describe('the payments read model rows', () => {
  it('folds a purchase into a completed row with its amounts, gateway reference and processing time', () => {
    const { summary } = fold(record(paid));
    expect(summary).toBeDefined();
    const row = summaryColumns(summary!);
    expect(row).toMatchObject({
      payment_id: PAYMENT_ID,
      tenant_id: 'tenant-1',
      user_id: 'buyer-1',
      venue_id: 'venue-1',
      status: 'completed',
      amount: TOTAL,
      captured: TOTAL,
      ticket_price: 10_000,
      state_tax: 700,
      local_tax: 225,
      venue_tax: 100,
      gateway_reference: 'pi_sandbox_1',
      payment_method: 'card',
      created_at: '2026-01-01T12:00:00.000Z',
      updated_at: '2026-01-01T12:03:00.000Z',
      settled_at: '2026-01-01T12:03:00.000Z',
      processing_ms: 180_000,
      revision: 3,
    });
  });

  it('skips an event at or below the revision it has folded, so a batch handled twice changes nothing', () => {
    const events = record(paid);
    const once = fold(events).summary!;
    expect(evolveSummary(once, events[3]!)).toBeNull();
    expect(evolveSummary(once, events[0]!)).toBeNull();
  });

  it('starts no row from an event other than PaymentRequested', () => {
    expect(evolveSummary(undefined, record(paid)[3]!)).toBeNull();
  });

  it('counts a request and a completion with its processing time, by hour, currency and method', () => {
    const { stats } = fold(record(paid));
    expect(mergeStats(stats)).toEqual([
      { hour: '2026-01-01T12:00:00.000Z', currency: 'USD', method: 'card', outcome: 'requested', reason: '', kind: 'purchase', count: 1, amount: TOTAL, processingMs: 0, processingCount: 0 },
      { hour: '2026-01-01T12:00:00.000Z', currency: 'USD', method: 'card', outcome: 'completed', reason: '', kind: 'purchase', count: 1, amount: TOTAL, processingMs: 180_000, processingCount: 1 },
    ]);
  });

  it('counts a decline under its decline code and keeps the failure on the row', () => {
    const failed: PaymentEvent = {
      type: 'PaymentFailed',
      data: { paymentId: PAYMENT_ID, reason: 'Your card was declined.', code: 'card_declined', declineCode: 'insufficient_funds', gateway: 'sandbox' },
    };
    const { summary, stats } = fold(record([requested, failed]));
    expect(summaryColumns(summary!)).toMatchObject({ status: 'failed', failure_code: 'card_declined', decline_code: 'insufficient_funds', processing_ms: 60_000 });
    expect(stats.find((s) => s.outcome === 'failed')).toMatchObject({ reason: 'insufficient_funds', count: 1, processingCount: 1 });
  });

  it('follows a refund from requested to succeeded, and the payment to partially refunded', () => {
    const refundRequested = decide(paid, {
      type: 'RequestRefund',
      data: { refundId: 'refund-1', amount: 5_000, reason: 'cannot go', requestedBy: { kind: 'user', userId: 'buyer-1' } },
    });
    const succeeded = decide([...paid, ...refundRequested], { type: 'RecordRefundSuccess', data: { refundId: 'refund-1', gatewayReference: 're_1' } });
    const events = record([...paid, ...refundRequested, ...succeeded]);
    let refund: RefundRow | undefined;
    for (const event of events) refund = evolveRefund(refund, event) ?? refund;
    expect(refund).toMatchObject({ refundId: 'refund-1', amount: 5_000, status: 'succeeded', reason: 'cannot go', requestedBy: 'user:buyer-1', gatewayReference: 're_1' });
    const { summary, stats } = fold(events);
    expect(summaryColumns(summary!)).toMatchObject({ status: 'partially_refunded', refunded: 5_000, refund_pending: 0 });
    expect(stats.find((s) => s.outcome === 'refunded')).toMatchObject({ amount: 5_000 });
  });

  it('puts an event in the UTC hour it occurred in', () => {
    expect(hourOf('2026-01-01T12:59:59.999Z')).toBe('2026-01-01T12:00:00.000Z');
    expect(hourOf('2026-01-01T14:30:00+02:00')).toBe('2026-01-01T12:00:00.000Z');
  });
});
