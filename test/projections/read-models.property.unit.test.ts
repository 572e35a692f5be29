import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evolvePayment, initialPaymentState, paymentDecider, type PaymentCommand, type PaymentState } from '../../src/aggregates/payment.js';
import { isTesseraError } from '../../src/errors.js';
import type { PaymentEvent } from '../../src/events/payment.js';
import type { Booking } from '../../src/projections/ledger/ledger-projection.js';
import { paymentPostingRules } from '../../src/projections/ledger/rules/payment.js';
import { evolveRefund, evolveSummary, summaryColumns, type PaymentSummary, type RefundRow } from '../../src/projections/payments/rows.js';
import { mergeMovements, taxMovements } from '../../src/projections/tax-collections.js';
import { paymentCommand } from '../support/payment-arbitraries.js';
import { record, type Recorded } from '../support/payment-records.js';
import { requestData, TOTAL } from '../aggregates/payment-fixtures.js';

const PAID: readonly PaymentCommand[] = [
  { type: 'RequestPayment', data: requestData },
  { type: 'SubmitPayment', data: { gateway: 'sandbox', operation: 'charge', idempotencyKey: 'k' } },
  { type: 'RecordCapture', data: { amount: TOTAL, gateway: 'sandbox', gatewayReference: 'pi_a' } },
];

/** The events the decider accepts from a random command sequence (refusals are skipped). */
function eventsOf(commands: readonly PaymentCommand[]): PaymentEvent[] {
  let state: PaymentState = initialPaymentState();
  const events: PaymentEvent[] = [];
  for (const command of commands) {
    try {
      const decided = paymentDecider.decide(command, state);
      for (const event of decided) state = evolvePayment(state, event);
      events.push(...decided);
    } catch (error) {
      if (!isTesseraError(error)) throw error;
    }
  }
  return events;
}

/** What the ledger's posting rules book on each tax account, as owed (credit positive). */
function ledgerTaxOwed(events: readonly Recorded[]): Map<string, number> {
  const owed = new Map<string, number>();
  for (const event of events) {
    const rule = (paymentPostingRules as Record<string, ((e: Recorded) => Booking | readonly Booking[] | null) | undefined>)[event.type];
    const booked = rule?.(event) ?? null;
    const bookings: readonly Booking[] = booked === null ? [] : isList(booked) ? booked : [booked];
    for (const booking of bookings) {
      for (const p of booking.postings) {
        if (p.account.startsWith('tax:')) owed.set(p.account, (owed.get(p.account) ?? 0) - Number(p.amount));
      }
    }
  }
  return new Map([...owed].filter(([, amount]) => amount !== 0));
}

describe('the read models under random payment histories', () => {
  it('hold the status and amounts the aggregate has, count each outcome once, and owe each jurisdiction what the ledger books', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.array(paymentCommand, { maxLength: 30 }), fc.integer({ min: 1, max: 5 }), (paidFirst, commands, replays) => {
        // Most histories start paid, so refunds, their failures and disputes come up often.
        const events = record(eventsOf([...(paidFirst ? PAID : []), ...commands]));
        const aggregate = events.reduce<PaymentState>(evolvePayment, initialPaymentState());
        let summary: PaymentSummary | undefined;
        const refunds = new Map<string, RefundRow>();
        let outcomes = 0;
        // Replaying a prefix again (a batch handled twice) must change nothing.
        for (const event of [...events, ...events.slice(0, replays)]) {
          const change = evolveSummary(summary, event);
          if (change) {
            summary = change.summary;
            outcomes += change.stats.filter((s) => ['completed', 'failed', 'expired', 'cancelled'].includes(s.outcome)).length;
          }
          const refundId = 'refundId' in event.data ? event.data.refundId : undefined;
          if (refundId !== undefined && change) {
            const next = evolveRefund(refunds.get(refundId), event);
            if (next) refunds.set(refundId, next);
          }
        }
        if (aggregate.status === 'none') {
          expect(summary).toBeUndefined();
          return;
        }
        const row = summaryColumns(summary!);
        expect(row).toMatchObject({ status: aggregate.status, captured: aggregate.captured, refunded: aggregate.refunded, refund_pending: aggregate.refundPending, charged_back: aggregate.chargedBack });
        expect(outcomes).toBeLessThanOrEqual(1);
        for (const [id, refund] of Object.entries(aggregate.refunds)) expect(refunds.get(id)).toMatchObject({ amount: refund.amount, status: refund.status });

        const tax = mergeMovements(events.flatMap(taxMovements));
        const fromReport = new Map<string, number>();
        for (const m of tax) {
          const account = `tax:${m.jurisdiction}.${m.kind}:payable`;
          fromReport.set(account, (fromReport.get(account) ?? 0) + m.collected - m.refunded);
        }
        expect(new Map([...fromReport].filter(([, amount]) => amount !== 0))).toEqual(ledgerTaxOwed(events));
      }),
      { numRuns: 300 },
    );
  });
});

const isList = (booked: Booking | readonly Booking[]): booked is readonly Booking[] => Array.isArray(booked);
