import { describe, expect, it } from 'vitest';
import { paymentDecider, type PaymentCommand } from '../../src/aggregates/payment.js';
import { percentOf } from '../../src/domain/money.js';
import { allocationTotal } from '../../src/domain/refund-allocation.js';
import { DeciderSpecification } from '../support/decider.js';
import type { PaymentEvent, RefundRequested } from '../../src/events/payment.js';
import { actionRequired, authorized, captured, EXPIRES_AT, expired, paid, PAYMENT_ID, quote, REF, requestData, requested, submitted, TOTAL } from './payment-fixtures.js';

const { given } = DeciderSpecification.for(paymentDecider);

const outcome = { amount: TOTAL, gateway: 'sandbox', gatewayReference: REF };
const refundRequest = (refundId: string, amount?: number, requestedBy: { kind: 'user' | 'admin'; userId: string } = { kind: 'user', userId: 'buyer-1' }): PaymentCommand => ({
  type: 'RequestRefund',
  data: { refundId, reason: 'changed plans', requestedBy, ...(amount === undefined ? {} : { amount }) },
});
const refundRequested = (refundId: string, amount?: number): PaymentEvent =>
  given(paid).when(refundRequest(refundId, amount)).decided()[0]!;
const failure: PaymentCommand = { type: 'RecordPaymentFailure', data: { reason: 'Your card was declined.', code: 'card_declined', declineCode: 'generic_decline', gateway: 'sandbox' } };

describe('Payment decider: requesting and submitting', () => {
  it('records a request with its full quote', () => {
    given([]).when({ type: 'RequestPayment', data: requestData }).then([requested]);
    expect(given([requested]).state().status).toBe('pending');
  });

  it('refuses a second request for the same payment', () => {
    given([requested]).when({ type: 'RequestPayment', data: requestData }).thenRefused('PAYMENT_ALREADY_EXISTS');
  });

  it('refuses a payment for nothing', () => {
    given([]).when({ type: 'RequestPayment', data: { ...requestData, quote: { ...requestData.quote, total: 0 } } }).thenRefused('VALIDATION_ERROR');
  });

  it('refuses any other command for a payment that does not exist', () => {
    given([]).when({ type: 'CancelPayment', data: { reason: 'x' } }).thenRefused('PAYMENT_NOT_FOUND');
  });

  it('submits a pending payment once, and never one that has expired', () => {
    const submit: PaymentCommand = { type: 'SubmitPayment', data: { gateway: 'sandbox', operation: 'charge', idempotencyKey: 'key-1' } };
    given([requested]).when(submit).then([submitted]);
    expect(given([requested, submitted]).state().status).toBe('processing');
    given([requested, submitted]).when(submit).thenNothing();
    given([requested, expired]).when(submit).thenNothing();
  });

  it('expires a payment submitted only after its expiry instead of charging it late', () => {
    const late = (now: string): PaymentCommand => ({ type: 'SubmitPayment', data: { gateway: 'sandbox', operation: 'charge', idempotencyKey: 'key-1', now } });
    given([requested]).when(late(EXPIRES_AT)).then([{ type: 'PaymentExpired', data: { paymentId: PAYMENT_ID, expiresAt: EXPIRES_AT, expiredAt: EXPIRES_AT } }]);
    given([requested]).when(late(new Date(Date.parse(EXPIRES_AT) - 1).toISOString())).then([submitted]);
  });
});

describe('Payment decider: the gateway answers', () => {
  it('records a need for customer action as pending with the next action', () => {
    given([requested, submitted]).when({ type: 'RecordActionRequired', data: { gatewayReference: REF, nextAction: { type: 'authenticate' } } }).then([actionRequired]);
    expect(given([requested, submitted, actionRequired]).state()).toMatchObject({ status: 'pending', nextAction: { type: 'authenticate' } });
    given([requested, submitted, actionRequired]).when({ type: 'RecordActionRequired', data: { gatewayReference: REF, nextAction: { type: 'authenticate' } } }).thenNothing();
    given(paid).when({ type: 'RecordActionRequired', data: { gatewayReference: REF, nextAction: { type: 'authenticate' } } }).thenRefused('INVALID_STATE_TRANSITION');
  });

  it('records an authorization once, for the payment total only', () => {
    given([requested, submitted]).when({ type: 'RecordAuthorization', data: outcome }).then([authorized]);
    given([requested, submitted, authorized]).when({ type: 'RecordAuthorization', data: outcome }).thenNothing();
    given([requested, submitted, authorized]).when({ type: 'RecordAuthorization', data: { ...outcome, gatewayReference: 'pi_other' } }).thenRefused('INVALID_STATE_TRANSITION');
    given([requested, submitted]).when({ type: 'RecordAuthorization', data: { ...outcome, amount: TOTAL - 1 } }).thenRefused('INVALID_STATE_TRANSITION');
    given([requested, expired]).when({ type: 'RecordAuthorization', data: outcome }).thenRefused('INVALID_STATE_TRANSITION');
  });

  it('records a one-call charge as authorized and captured', () => {
    given([requested, submitted]).when({ type: 'RecordCapture', data: outcome }).then([authorized, captured]);
    expect(given(paid).state()).toMatchObject({ status: 'completed', authorized: TOTAL, captured: TOTAL });
  });

  it('captures an authorization, once', () => {
    given([requested, submitted, authorized]).when({ type: 'RecordCapture', data: outcome }).then([captured]);
    given(paid).when({ type: 'RecordCapture', data: outcome }).thenNothing();
  });

  it('refuses a capture that differs from the total or comes after expiry', () => {
    given([requested, submitted]).when({ type: 'RecordCapture', data: { ...outcome, amount: TOTAL + 1 } }).thenRefused('INVALID_STATE_TRANSITION');
    given([requested, expired]).when({ type: 'RecordCapture', data: outcome }).thenRefused('INVALID_STATE_TRANSITION');
  });

  it('records a decline with its reason, once, and never after capture', () => {
    const failed = given([requested, submitted])
      .when(failure)
      .then([{ type: 'PaymentFailed', data: { paymentId: PAYMENT_ID, reason: 'Your card was declined.', code: 'card_declined', declineCode: 'generic_decline', gateway: 'sandbox' } }]);
    expect(given([requested, submitted, ...failed]).state()).toMatchObject({ status: 'failed', failure: { declineCode: 'generic_decline' } });
    given([requested, submitted, ...failed]).when(failure).thenNothing();
    given(paid).when(failure).thenRefused('INVALID_STATE_TRANSITION');
  });
});

describe('Payment decider: cancellation, expiry and voiding', () => {
  it('cancels only a payment not yet with the gateway', () => {
    const cancel: PaymentCommand = { type: 'CancelPayment', data: { reason: 'buyer left' } };
    const cancelled = given([requested]).when(cancel).then([{ type: 'PaymentCancelled', data: { paymentId: PAYMENT_ID, reason: 'buyer left' } }]);
    given([requested, ...cancelled]).when(cancel).thenNothing();
    given([requested, submitted]).when(cancel).thenRefused('INVALID_STATE_TRANSITION');
    given(paid).when(cancel).thenRefused('INVALID_STATE_TRANSITION');
  });

  it('expires a pending payment at its deadline and does nothing otherwise', () => {
    given([requested]).when({ type: 'ExpirePayment', data: { now: EXPIRES_AT } }).then([expired]);
    given([requested]).when({ type: 'ExpirePayment', data: { now: '2026-01-01T12:14:59.999Z' } }).thenNothing();
    given([requested, submitted]).when({ type: 'ExpirePayment', data: { now: EXPIRES_AT } }).thenNothing();
    given(paid).when({ type: 'ExpirePayment', data: { now: EXPIRES_AT } }).thenNothing();
    given([requested, submitted, actionRequired]).when({ type: 'ExpirePayment', data: { now: EXPIRES_AT } }).then([expired]);
  });

  it('records the release of a hold on a payment that ended unpaid, once', () => {
    const events = [requested, submitted, actionRequired, expired];
    const voided = given(events)
      .when({ type: 'RecordAuthorizationVoided', data: { gatewayReference: REF } })
      .then([{ type: 'PaymentAuthorizationVoided', data: { paymentId: PAYMENT_ID, gatewayReference: REF, amount: 0 } }]);
    given([...events, ...voided]).when({ type: 'RecordAuthorizationVoided', data: { gatewayReference: REF } }).thenNothing();
    given(paid).when({ type: 'RecordAuthorizationVoided', data: { gatewayReference: REF } }).thenRefused('INVALID_STATE_TRANSITION');
  });
});

describe('Payment decider: refunds', () => {
  it('refunds everything when no amount is given, allocating every cent', () => {
    const [event] = given(paid).when(refundRequest('r1')).decided() as [RefundRequested];
    expect(event.data).toMatchObject({ amount: TOTAL, full: true, requestedBy: 'user:buyer-1' });
    expect(event.data.allocation).toEqual({
      ticketPrice: 10_000,
      platformFee: 790,
      gas: 50,
      taxes: [
        { kind: 'state', jurisdiction: 'tn', amount: 700 },
        { kind: 'local', jurisdiction: 'tn-nashville', amount: 225 },
      ],
      venueTaxReversed: [{ kind: 'entertainment', jurisdiction: 'tn-nashville', amount: 100 }],
    });
  });

  it('allocates a partial refund in proportion and never beyond a component', () => {
    const [event] = given(paid).when(refundRequest('r1', 1000)).decided() as [RefundRequested];
    expect(allocationTotal(event.data.allocation)).toBe(1000);
    expect(event.data.full).toBe(false);
    const rest = given([...paid, event]).when(refundRequest('r2')).decided() as [RefundRequested];
    expect(rest[0].data.amount).toBe(TOTAL - 1000);
    expect(rest[0].data.allocation.ticketPrice + event.data.allocation.ticketPrice).toBe(10_000);
    expect(rest[0].data.allocation.venueTaxReversed[0]!.amount + event.data.allocation.venueTaxReversed[0]!.amount).toBe(100);
  });

  it('refuses a refund larger than what remains captured', () => {
    given(paid).when(refundRequest('r1', TOTAL + 1)).thenRefused('REFUND_EXCEEDS_ORIGINAL', { details: { refundable: TOTAL } });
    given([...paid, refundRequested('r1', 10_000)]).when(refundRequest('r2', 1_766)).thenRefused('REFUND_EXCEEDS_ORIGINAL');
  });

  it('refuses a refund of nothing, and a full refund when nothing is left', () => {
    given(paid).when(refundRequest('r1', 0)).thenRefused('VALIDATION_ERROR');
    given([...paid, refundRequested('r1')]).when(refundRequest('r2')).thenRefused('PAYMENT_NOT_REFUNDABLE');
  });

  it("records an admin's refund as the admin's (who may refund is src/domain/access.ts's rule)", () => {
    given(paid)
      .when(refundRequest('r1', 100, { kind: 'admin', userId: 'ops' }))
      .thenMatches([{ type: 'RefundRequested', data: { requestedBy: 'admin:ops' } }]);
  });

  it('refuses refunds of payments that were never captured', () => {
    given([requested]).when(refundRequest('r1')).thenRefused('PAYMENT_NOT_REFUNDABLE');
    given([requested, submitted]).when(refundRequest('r1')).thenRefused('PAYMENT_NOT_REFUNDABLE');
    given([requested, expired]).when(refundRequest('r1')).thenRefused('PAYMENT_NOT_REFUNDABLE');
  });

  it('ignores a refund request it has already recorded', () => {
    given([...paid, refundRequested('r1', 100)]).when(refundRequest('r1', 100)).thenNothing();
  });

  it('moves to partially refunded, then refunded, as refunds succeed', () => {
    const first = refundRequested('r1', 1000);
    const succeed = (refundId: string) => ({ type: 'RecordRefundSuccess', data: { refundId, gatewayReference: `re_${refundId}` } }) as const;
    const [firstDone] = given([...paid, first]).when(succeed('r1')).decided();
    expect(firstDone).toMatchObject({ type: 'RefundSucceeded', data: { amount: 1000, venueId: 'venue-1', gatewayReference: 're_r1' } });
    const afterFirst = [...paid, first, firstDone!];
    expect(given(afterFirst).state()).toMatchObject({ status: 'partially_refunded', refunded: 1000, refundPending: 0 });
    given(afterFirst).when(succeed('r1')).thenNothing();
    const afterSecond = given(afterFirst).after(refundRequest('r2'), succeed('r2'));
    expect(given(afterSecond).state()).toMatchObject({ status: 'refunded', refunded: TOTAL });
    given(afterSecond).when(refundRequest('r3', 1)).thenRefused('PAYMENT_NOT_REFUNDABLE');
  });

  it('records a failed refund and makes its amount refundable again', () => {
    const request = refundRequested('r1');
    const fail = { type: 'RecordRefundFailure', data: { refundId: 'r1', reason: 'card closed', code: 'refund_failed' } } as const;
    const failed = given([...paid, request]).when(fail).then([
      {
        type: 'RefundFailed',
        data: {
          paymentId: PAYMENT_ID,
          refundId: 'r1',
          venueId: 'venue-1',
          userId: 'buyer-1',
          currency: 'USD',
          amount: TOTAL,
          // What the request set aside goes back exactly as it was taken.
          allocation: (request as RefundRequested).data.allocation,
          reason: 'card closed',
          code: 'refund_failed',
        },
      },
    ]);
    expect(given([...paid, request, ...failed]).state()).toMatchObject({ status: 'completed', refundPending: 0 });
    given([...paid, request, ...failed]).when(fail).thenNothing();
    given([...paid, request, ...failed]).when(refundRequest('r2')).then(given(paid).when(refundRequest('r2')).decided());
    given(paid).when(fail).thenRefused('INVALID_STATE_TRANSITION');
    given(paid).when({ type: 'RecordRefundSuccess', data: { refundId: 'nope', gatewayReference: 're' } }).thenRefused('INVALID_STATE_TRANSITION');
  });

  it('records a refund made at the gateway as requested and succeeded', () => {
    const gatewayRefund = { type: 'RecordGatewayRefund', data: { refundId: 'g1', amount: 500, gateway: 'stripe', gatewayReference: 're_1', reason: 'dashboard' } } as const;
    const events = given(paid)
      .when(gatewayRefund)
      .thenMatches([{ type: 'RefundRequested', data: { requestedBy: 'gateway:stripe', amount: 500 } }, { type: 'RefundSucceeded' }]);
    given([...paid, ...events]).when(gatewayRefund).thenNothing();
    given(paid).when({ ...gatewayRefund, data: { ...gatewayRefund.data, amount: TOTAL + 1 } }).thenRefused('REFUND_EXCEEDS_ORIGINAL');
  });

  it('holds a gateway refund that arrives before the capture it refers to', () => {
    const gatewayRefund = { type: 'RecordGatewayRefund', data: { refundId: 'g1', amount: 500, gateway: 'stripe', gatewayReference: 're_1', reason: 'x' } } as const;
    given([requested, submitted]).when(gatewayRefund).thenRefused('INVALID_STATE_TRANSITION', { details: { retryable: true } });
    given([requested, expired]).when(gatewayRefund).thenRefused('INVALID_STATE_TRANSITION');
  });

  it('completes our own pending refund when the gateway reports it first', () => {
    const request = refundRequested('r1', 500);
    given([...paid, request])
      .when({ type: 'RecordGatewayRefund', data: { refundId: 'r1', amount: 500, gateway: 'stripe', gatewayReference: 're_1', reason: 'x' } })
      .thenMatches([{ type: 'RefundSucceeded' }]);
  });
});

describe('Payment decider: disputes', () => {
  const open = { type: 'OpenDispute', data: { disputeId: 'dp_1', amount: TOTAL, reason: 'fraudulent' } } as const;
  const opened: PaymentEvent = { type: 'DisputeOpened', data: { paymentId: PAYMENT_ID, disputeId: 'dp_1', amount: TOTAL, reason: 'fraudulent' } };

  it('opens a dispute on a captured payment, once, and refuses refunds while it is open', () => {
    given(paid).when(open).then([opened]);
    expect(given([...paid, opened]).state().status).toBe('disputed');
    given([...paid, opened]).when(open).thenNothing();
    given([...paid, opened]).when(refundRequest('r1')).thenRefused('PAYMENT_NOT_REFUNDABLE');
  });

  it('holds a dispute that arrives before the capture, and refuses one on a failed payment or beyond what remains', () => {
    given([requested, submitted]).when(open).thenRefused('INVALID_STATE_TRANSITION', { details: { retryable: true } });
    given([requested, expired]).when(open).thenRefused('INVALID_STATE_TRANSITION');
    given(paid).when({ ...open, data: { ...open.data, amount: TOTAL + 1 } }).thenRefused('INVALID_STATE_TRANSITION');
  });

  it('returns to completed when the dispute is won', () => {
    const closed = given([...paid, opened])
      .when({ type: 'CloseDispute', data: { disputeId: 'dp_1', outcome: 'won' } })
      .then([{ type: 'DisputeClosed', data: { paymentId: PAYMENT_ID, disputeId: 'dp_1', venueId: 'venue-1', currency: 'USD', outcome: 'won', amount: TOTAL } }]);
    expect(given([...paid, opened, ...closed]).state()).toMatchObject({ status: 'completed', chargedBack: 0 });
    given([...paid, opened, ...closed]).when({ type: 'CloseDispute', data: { disputeId: 'dp_1', outcome: 'won' } }).thenNothing();
  });

  it('counts a lost dispute as money returned and refuses further refunds', () => {
    const closed = given([...paid, opened]).when({ type: 'CloseDispute', data: { disputeId: 'dp_1', outcome: 'lost' } }).decided();
    // The chargeback is split over the components as a full refund would be, to the cent.
    expect(closed[0]!.data).toMatchObject({
      outcome: 'lost',
      amount: TOTAL,
      allocation: { ticketPrice: 10_000, platformFee: quote.platformFee.amount, gas: quote.gas.amount },
    });
    expect(given([...paid, opened, ...closed]).state()).toMatchObject({ status: 'refunded', chargedBack: TOTAL });
    given([...paid, opened, ...closed]).when(refundRequest('r1')).thenRefused('PAYMENT_NOT_REFUNDABLE');
  });

  it('counts a lost partial dispute against what the refund policy still allows the buyer', () => {
    const partial = { disputeId: 'dp_2', amount: 3_000, reason: 'fraudulent' };
    const lost = given(paid).after({ type: 'OpenDispute', data: partial }, { type: 'CloseDispute', data: { disputeId: 'dp_2', outcome: 'lost' } });
    expect(given(lost).state()).toMatchObject({ chargedBack: 3_000 });
    const half = percentOf(TOTAL, 5_000);
    const byPolicy = (amount: number): PaymentCommand => ({
      type: 'RequestRefund',
      data: { refundId: 'r-policy', reason: 'changed plans', requestedBy: { kind: 'user', userId: 'buyer-1' }, amount, policy: { refundBps: 5_000, source: 'event' } },
    });
    // Half the capture back under a 50% policy, of which the chargeback already returned 3,000.
    given(lost).when(byPolicy(half - 3_000 + 1)).thenRefused('REFUND_POLICY_EXCEEDED', { details: { expose: { refundable: half - 3_000, refundPercent: 50 } } });
    expect(given(lost).when(byPolicy(half - 3_000)).decided()[0]).toMatchObject({ type: 'RefundRequested', data: { amount: half - 3_000 } });
  });

  it('holds the close of a dispute it has not seen open', () => {
    given(paid).when({ type: 'CloseDispute', data: { disputeId: 'dp_9', outcome: 'lost' } }).thenRefused('INVALID_STATE_TRANSITION', { details: { retryable: true } });
  });
});
