import fc from 'fast-check';
import type { PaymentCommand } from '../../src/aggregates/payment.js';
import { EXPIRES_AT, requestData, TOTAL } from '../aggregates/payment-fixtures.js';

/**
 * Any command the Payment decider may receive, valid or not, for property tests: sequences of
 * these exercise every transition and refusal (the seed's $100 Nashville purchase).
 */
const refs = ['pi_a', 'pi_b'];
const ids = ['r1', 'r2', 'r3', 'r4'];

export const paymentCommand: fc.Arbitrary<PaymentCommand> = fc.oneof(
  fc.constant<PaymentCommand>({ type: 'RequestPayment', data: requestData }),
  fc.constant<PaymentCommand>({ type: 'SubmitPayment', data: { gateway: 'sandbox', operation: 'charge', idempotencyKey: 'k' } }),
  fc.constantFrom(...refs).map<PaymentCommand>((ref) => ({ type: 'RecordActionRequired', data: { gatewayReference: ref, nextAction: { type: 'authenticate' } } })),
  fc.record({ ref: fc.constantFrom(...refs), amount: fc.constantFrom(TOTAL, TOTAL - 1, TOTAL + 1) }).map<PaymentCommand>(({ ref, amount }) => ({
    type: 'RecordAuthorization',
    data: { amount, gateway: 'sandbox', gatewayReference: ref },
  })),
  fc.record({ ref: fc.constantFrom(...refs), amount: fc.constantFrom(TOTAL, TOTAL + 1) }).map<PaymentCommand>(({ ref, amount }) => ({
    type: 'RecordCapture',
    data: { amount, gateway: 'sandbox', gatewayReference: ref },
  })),
  fc.constant<PaymentCommand>({ type: 'RecordPaymentFailure', data: { reason: 'declined', code: 'card_declined', gateway: 'sandbox' } }),
  fc.constant<PaymentCommand>({ type: 'CancelPayment', data: { reason: 'x' } }),
  fc.constant<PaymentCommand>({ type: 'ExpirePayment', data: { now: EXPIRES_AT } }),
  fc.constantFrom(...refs).map<PaymentCommand>((ref) => ({ type: 'RecordAuthorizationVoided', data: { gatewayReference: ref } })),
  fc
    .record({ id: fc.constantFrom(...ids), amount: fc.option(fc.integer({ min: 0, max: TOTAL + 10 }), { nil: undefined }), admin: fc.boolean() })
    .map<PaymentCommand>(({ id, amount, admin }) => ({
      type: 'RequestRefund',
      data: { refundId: id, reason: 'x', requestedBy: admin ? { kind: 'admin', userId: 'ops' } : { kind: 'user', userId: 'buyer-1' }, ...(amount === undefined ? {} : { amount }) },
    })),
  fc.constantFrom(...ids).map<PaymentCommand>((id) => ({ type: 'RecordRefundSuccess', data: { refundId: id, gatewayReference: `re_${id}` } })),
  fc.constantFrom(...ids).map<PaymentCommand>((id) => ({ type: 'RecordRefundFailure', data: { refundId: id, reason: 'x', code: 'refund_failed' } })),
  fc.record({ id: fc.constantFrom('g1', 'g2', ...ids), amount: fc.integer({ min: 1, max: TOTAL + 10 }) }).map<PaymentCommand>(({ id, amount }) => ({
    type: 'RecordGatewayRefund',
    data: { refundId: id, amount, gateway: 'stripe', gatewayReference: `re_${id}`, reason: 'x' },
  })),
  fc.record({ id: fc.constantFrom('dp1', 'dp2'), amount: fc.integer({ min: 1, max: TOTAL + 10 }) }).map<PaymentCommand>(({ id, amount }) => ({
    type: 'OpenDispute',
    data: { disputeId: id, amount, reason: 'fraudulent' },
  })),
  fc.record({ id: fc.constantFrom('dp1', 'dp2'), outcome: fc.constantFrom('won' as const, 'lost' as const) }).map<PaymentCommand>(({ id, outcome }) => ({
    type: 'CloseDispute',
    data: { disputeId: id, outcome },
  })),
);

