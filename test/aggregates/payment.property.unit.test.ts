import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { paymentDecider, type PaymentState } from '../../src/aggregates/payment.js';
import { allocationTotal } from '../../src/domain/refund-allocation.js';
import { isTesseraError } from '../../src/errors.js';
import type { PaymentEvent } from '../../src/events/payment.js';
import { DeciderSpecification } from '../support/decider.js';
import { paymentCommand as command } from '../support/payment-arbitraries.js';
import { requestData } from './payment-fixtures.js';

const { given } = DeciderSpecification.for(paymentDecider);

function checkInvariants(state: PaymentState): void {
  expect(state.captured).toBeLessThanOrEqual(state.authorized);
  expect(state.refunded + state.refundPending + state.chargedBack).toBeLessThanOrEqual(state.captured);
  expect(Math.min(state.refunded, state.refundPending, state.chargedBack)).toBeGreaterThanOrEqual(0);
  if (state.status === 'failed' || state.status === 'cancelled' || state.status === 'expired') expect(state.captured).toBe(0);
  for (const refund of Object.values(state.refunds)) expect(allocationTotal(refund.allocation)).toBe(refund.amount);
  const refunds = Object.values(state.refunds).filter((r) => r.status !== 'failed');
  const ticketRefunded = refunds.reduce((sum, r) => sum + r.allocation.ticketPrice, 0);
  expect(ticketRefunded).toBeLessThanOrEqual(requestData.quote.ticketPrice);
}

describe('Payment decider under random command sequences', () => {
  it('never breaks captured <= authorized or refunded + pending + charged back <= captured', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
        let history: PaymentEvent[] = [];
        for (const cmd of commands) {
          let events;
          try {
            events = given(history).when(cmd).decided();
          } catch (error) {
            // Refusals are fine; anything but a domain refusal is a bug.
            expect(isTesseraError(error)).toBe(true);
            continue;
          }
          history = [...history, ...events];
          checkInvariants(given(history).state());
        }
      }),
      { numRuns: 500 },
    );
  });
});
