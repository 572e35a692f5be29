import fc from 'fast-check';
import { customerRefundsAccount } from '../../../../src/projections/ledger/accounts.js';
import { describe, expect, it } from 'vitest';
import { evolvePayment, initialPaymentState, paymentDecider, type PaymentState } from '../../../../src/aggregates/payment.js';
import { isTesseraError } from '../../../../src/errors.js';
import type { PaymentEvent } from '../../../../src/events/payment.js';
import type { RecordedEvent } from '../../../../src/eventstore/event-store.js';
import { checkEntry, type JournalEntry } from '../../../../src/projections/ledger/journal.js';
import type { Booking } from '../../../../src/projections/ledger/ledger-projection.js';
import { paymentPostingRules } from '../../../../src/projections/ledger/rules/payment.js';
import { captured, paid, PAYMENT_ID, quote, TOTAL } from '../../../aggregates/payment-fixtures.js';
import { paymentCommand } from '../../../support/payment-arbitraries.js';
import { metadata } from '../../../support/events.js';
import type { RefundAllocation } from '../../../../src/domain/refund-allocation.js';

/** The entries a payment event books, checked as the ledger checks them. */
function book(event: PaymentEvent, index = 0): JournalEntry[] {
  const rule = (paymentPostingRules as Record<string, ((e: RecordedEvent) => Booking | readonly Booking[] | null) | undefined>)[event.type];
  if (!rule) return [];
  const recorded: RecordedEvent = {
    id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
    type: event.type,
    data: event.data,
    metadata: metadata(),
    streamId: `payment-${PAYMENT_ID}`,
    revision: index,
    position: { commit: BigInt(index), prepare: BigInt(index) },
    recordedAt: new Date(0),
  };
  const booked = rule(recorded);
  const bookings: readonly Booking[] = booked === null ? [] : Array.isArray(booked) ? (booked as readonly Booking[]) : [booked as Booking];
  return bookings
    .map((booking, entryIndex) => ({
      sourceEventId: recorded.id,
      entryIndex,
      streamId: recorded.streamId,
      streamRevision: index,
      position: recorded.position,
      entryType: booking.entryType ?? event.type,
      occurredAt: recorded.metadata.occurredAt,
      recordedAt: recorded.recordedAt,
      description: booking.description,
      metadata: {},
      postings: booking.postings.filter((p) => BigInt(p.amount) !== 0n),
    }))
    .filter((entry) => entry.postings.length > 0);
}

function balances(entries: readonly JournalEntry[]): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  for (const entry of entries) {
    for (const p of entry.postings) sums.set(p.account, (sums.get(p.account) ?? 0n) + BigInt(p.amount));
  }
  return sums;
}

describe('payment posting rules', () => {
  it("books the seed's $100 Nashville purchase to every party, to the cent, in one entry", () => {
    const entries = book(captured);
    expect(entries).toHaveLength(1);
    // 2.9% of 11765, half-up, plus 30c: the card network's cost, the platform's expense, in the same entry.
    expect(entries[0]!.postings.map((p) => [p.account, Number(p.amount)])).toEqual([
      ['gateway:clearing', 11_765],
      ['venue:venue-1:pending', -9_900],
      ['platform:fees', -790],
      ['platform:gas', -50],
      ['tax:tn.state:payable', -700],
      ['tax:tn-nashville.local:payable', -225],
      ['tax:tn-nashville.entertainment:payable', -100],
      ['gateway:fees', 371],
      ['gateway:clearing', -371],
    ]);
    expect(() => checkEntry(entries[0]!)).not.toThrow();
  });

  it('books nothing for events that move no money', () => {
    for (const event of paid.filter((e) => e.type !== 'PaymentCaptured')) expect(book(event)).toEqual([]);
  });

  it('keeps every entry balanced and every account where the payment left it, whatever happens to it', () => {
    fc.assert(
      fc.property(fc.array(paymentCommand, { maxLength: 40 }), (commands) => {
        let state: PaymentState = initialPaymentState();
        const entries: JournalEntry[] = [];
        let index = 0;
        for (const command of commands) {
          let events: PaymentEvent[];
          try {
            events = paymentDecider.decide(command, state);
          } catch (error) {
            expect(isTesseraError(error)).toBe(true);
            continue;
          }
          for (const event of events) {
            state = evolvePayment(state, event);
            for (const entry of book(event, index++)) {
              checkEntry(entry);
              entries.push(entry);
            }
          }
        }
        const sums = balances(entries);
        const of = (account: string) => Number(sums.get(account) ?? 0n);
        // The trial balance of the payment's accounts is zero.
        expect([...sums.values()].reduce((a, b) => a + b, 0n)).toBe(0n);
        // Clearing holds what was captured less what left it: refunds paid, chargebacks, card costs.
        const costs = state.captured > 0 ? quote.processingCost.amount : 0;
        expect(of('gateway:clearing')).toBe(state.captured - state.refunded - state.chargedBack - costs);
        // The buyer is owed exactly the refunds in flight.
        expect(of(customerRefundsAccount('tenant-test', 'buyer-1'))).toBe(0 - state.refundPending);
        // The venue is owed its proceeds less what refunds and chargebacks took back.
        const takenBack: RefundAllocation[] = [
          ...Object.values(state.refunds).filter((r) => r.status !== 'failed').map((r) => r.allocation),
          ...state.chargebacks,
        ];
        const venueBack = takenBack.reduce((sum, a) => sum + a.ticketPrice - a.venueTaxReversed.reduce((s, l) => s + l.amount, 0), 0);
        const proceeds = state.captured > 0 ? quote.venueProceeds : 0;
        expect(of('venue:venue-1:pending')).toBe(0 - (proceeds - venueBack));
        const feesBack = takenBack.reduce((sum, a) => sum + a.platformFee, 0);
        expect(of('platform:fees')).toBe(0 - ((state.captured > 0 ? quote.platformFee.amount : 0) - feesBack));
        expect(state.captured === 0 || state.captured === TOTAL).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});
