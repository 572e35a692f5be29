import { describe, expect, it } from 'vitest';
import type { GroupPaymentEvent } from '../../src/events/group-payment.js';
import type { PaymentCaptured } from '../../src/events/payment.js';
import { groupTaxMovements, mergeMovements, taxMovements } from '../../src/projections/tax-collections.js';
import { paid } from '../aggregates/payment-fixtures.js';
import { decide, record } from '../support/payment-records.js';

describe('the tax collections', () => {
  it("collects each of a capture's tax lines on the day it occurred", () => {
    const [captured] = record(paid).slice(3);
    expect(taxMovements(captured!)).toEqual([
      { day: '2026-01-01', jurisdiction: 'tn', kind: 'state', currency: 'USD', taxable: 10_000, collected: 700, refunded: 0, transactions: 1 },
      { day: '2026-01-01', jurisdiction: 'tn-nashville', kind: 'local', currency: 'USD', taxable: 10_000, collected: 225, refunded: 0, transactions: 1 },
      { day: '2026-01-01', jurisdiction: 'tn-nashville', kind: 'entertainment', currency: 'USD', taxable: 10_000, collected: 100, refunded: 0, transactions: 1 },
    ]);
  });

  it('gives back the tax of a refund when it is requested and takes it again when the gateway refuses it', () => {
    const refundRequested = decide(paid, {
      type: 'RequestRefund',
      data: { refundId: 'refund-1', reason: 'cancelled show', requestedBy: { kind: 'admin', userId: 'admin-1' } },
    });
    const failed = decide([...paid, ...refundRequested], { type: 'RecordRefundFailure', data: { refundId: 'refund-1', reason: 'no', code: 'refund_failed' } });
    const [asked, refused] = record([...refundRequested, ...failed], 4);
    const given = taxMovements(asked!);
    // A full refund returns every tax line in full, the venue-borne entertainment tax included.
    expect(given.map((m) => [m.jurisdiction, m.kind, m.refunded])).toEqual([
      ['tn', 'state', 700],
      ['tn-nashville', 'local', 225],
      ['tn-nashville', 'entertainment', 100],
    ]);
    const net = mergeMovements([...taxMovements(record(paid)[3]!), ...given, ...taxMovements(refused!)]);
    expect(net.map((m) => [m.jurisdiction, m.kind, m.collected - m.refunded, m.taxable])).toEqual([
      ['tn', 'state', 700, 10_000],
      ['tn-nashville', 'local', 225, 10_000],
      ['tn-nashville', 'entertainment', 100, 10_000],
    ]);
  });

  it("collects a completed group purchase's taxes as a capture of the same quote, and nothing before it completes", () => {
    const capture = record(paid)[3]!;
    const { quote, venueId, eventId, currency, amount, ticketPrice, processingCost } = (capture as unknown as PaymentCaptured).data;
    const groupId = 'group-1';
    const at = (event: GroupPaymentEvent) => ({ ...event, metadata: { occurredAt: capture.metadata.occurredAt } });
    const completed: GroupPaymentEvent = {
      type: 'GroupPaymentCompleted',
      data: {
        groupId,
        organizerId: 'organizer-1',
        venueId,
        eventId,
        currency,
        amount,
        ticketPrice,
        gateway: 'sandbox',
        processingCost,
        quote,
        contributions: [{ memberId: 'm-0', amount, gatewayReference: 'pi_0', ticketCount: quote.ticketCount, payerId: 'payer-0' }],
      },
    };
    expect(groupTaxMovements(at(completed))).toEqual(taxMovements(capture));
    expect(groupTaxMovements(at({ type: 'GroupPaymentFunded', data: { groupId, total: amount } }))).toEqual([]);
  });

  it('moves no tax for events that move no money', () => {
    expect(record(paid).slice(0, 3).flatMap(taxMovements)).toEqual([]);
  });
});
