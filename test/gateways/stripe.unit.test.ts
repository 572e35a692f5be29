import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { TransientGatewayError } from '../../src/gateways/gateway.js';
import { mapStripeEvent, refundIdFor, verifyStripeEvent } from '../../src/gateways/stripe-events.js';
import { thrownBy } from '../support/payments.js';
import { paymentResultFromError, paymentResultFromIntent, refundResultFromRefund } from '../../src/gateways/stripe.js';

const intent = (fields: Record<string, unknown>) => ({ id: 'pi_1', object: 'payment_intent', amount: 1000, amount_received: 0, amount_capturable: 0, metadata: {}, ...fields }) as unknown as Stripe.PaymentIntent;
const event = (type: string, object: Record<string, unknown>) => ({ id: `evt_${type}`, object: 'event', type, data: { object } }) as unknown as Stripe.Event;

describe('Stripe adapter: results', () => {
  it('maps PaymentIntent statuses onto the port', () => {
    expect(paymentResultFromIntent(intent({ status: 'succeeded', amount_received: 1000 }))).toEqual({ kind: 'succeeded', reference: 'pi_1', amount: 1000 });
    expect(paymentResultFromIntent(intent({ status: 'requires_capture', amount_capturable: 1000 }))).toEqual({ kind: 'succeeded', reference: 'pi_1', amount: 1000 });
    expect(paymentResultFromIntent(intent({ status: 'requires_action', client_secret: 's', next_action: { redirect_to_url: { url: 'https://3ds' } } }))).toEqual({
      kind: 'requires_action',
      reference: 'pi_1',
      nextAction: { type: 'authenticate', redirectUrl: 'https://3ds', clientSecret: 's' },
    });
    expect(
      paymentResultFromIntent(intent({ status: 'requires_payment_method', last_payment_error: { code: 'card_declined', decline_code: 'insufficient_funds', message: 'no' } })),
    ).toEqual({ kind: 'declined', reference: 'pi_1', code: 'card_declined', declineCode: 'insufficient_funds', message: 'no' });
    expect(() => paymentResultFromIntent(intent({ status: 'processing' }))).toThrow(TransientGatewayError);
  });

  it('maps card errors to declines and outages to transient errors', () => {
    const card = new Stripe.errors.StripeCardError({ type: 'card_error', code: 'card_declined', decline_code: 'stolen_card', message: 'Your card was declined.' });
    expect(paymentResultFromError(card)).toEqual({ kind: 'declined', code: 'card_declined', declineCode: 'stolen_card', message: 'Your card was declined.' });
    expect(() => paymentResultFromError(new Stripe.errors.StripeRateLimitError({ type: 'rate_limit_error', message: 'slow down' }))).toThrow(TransientGatewayError);
    expect(() => paymentResultFromError(new Stripe.errors.StripeConnectionError({ type: 'api_error', message: 'reset' }))).toThrow(TransientGatewayError);
    expect(() => paymentResultFromError(new Stripe.errors.StripeAPIError({ type: 'api_error', message: 'boom' }))).toThrow(TransientGatewayError);
    const missing = new Stripe.errors.StripeInvalidRequestError({ type: 'invalid_request_error', code: 'resource_missing', message: 'No such PaymentMethod' });
    expect(paymentResultFromError(missing)).toEqual({ kind: 'declined', code: 'resource_missing', message: 'No such PaymentMethod' });
    const badKey = new Stripe.errors.StripeAuthenticationError({ type: 'authentication_error', message: 'bad key' });
    expect(() => paymentResultFromError(badKey)).toThrow('bad key');
  });

  it('maps refunds: pending and succeeded are accepted, failed is a failure', () => {
    const refund = (status: string) => ({ id: 're_1', amount: 500, status, failure_reason: status === 'failed' ? 'expired_or_canceled_card' : null }) as unknown as Stripe.Refund;
    expect(refundResultFromRefund(refund('succeeded'))).toEqual({ kind: 'succeeded', reference: 're_1', amount: 500 });
    expect(refundResultFromRefund(refund('pending'))).toEqual({ kind: 'succeeded', reference: 're_1', amount: 500 });
    expect(refundResultFromRefund(refund('failed'))).toMatchObject({ kind: 'failed', code: 'expired_or_canceled_card' });
  });
});

describe('Stripe webhooks as commands', () => {
  it('maps a succeeded intent to a capture of our payment', () => {
    expect(mapStripeEvent(event('payment_intent.succeeded', { id: 'pi_1', amount_received: 1000, metadata: { paymentId: 'p1' } }))).toEqual({
      kind: 'commands',
      targets: [{ paymentId: 'p1', reference: 'pi_1', command: { type: 'RecordCapture', data: { amount: 1000, gateway: 'stripe', gatewayReference: 'pi_1' } } }],
    });
  });

  it('maps a failed intent to a failure with the decline', () => {
    const mapped = mapStripeEvent(event('payment_intent.payment_failed', { id: 'pi_1', metadata: {}, last_payment_error: { code: 'card_declined', decline_code: 'lost_card', message: 'declined' } }));
    expect(mapped).toMatchObject({ kind: 'commands', targets: [{ reference: 'pi_1', command: { type: 'RecordPaymentFailure', data: { declineCode: 'lost_card' } } }] });
  });

  it('maps refunds, keeping our refund id or deriving one for refunds made in the dashboard', () => {
    const ours = mapStripeEvent(event('refund.updated', { id: 're_1', amount: 500, status: 'succeeded', payment_intent: 'pi_1', metadata: { paymentId: 'p1', refundId: 'r1' } }));
    expect(ours).toMatchObject({ kind: 'commands', targets: [{ paymentId: 'p1', command: { type: 'RecordGatewayRefund', data: { refundId: 'r1', amount: 500 } } }] });
    const theirs = { id: 're_2', amount: 300, status: 'succeeded', payment_intent: 'pi_1', metadata: {} };
    expect(mapStripeEvent(event('refund.created', theirs))).toMatchObject({
      targets: [{ reference: 'pi_1', command: { data: { refundId: refundIdFor(theirs as unknown as Stripe.Refund) } } }],
    });
    const failed = mapStripeEvent(event('refund.updated', { id: 're_1', amount: 500, status: 'failed', failure_reason: 'lost_or_stolen_card', payment_intent: 'pi_1', metadata: { refundId: 'r1' } }));
    expect(failed).toMatchObject({ targets: [{ command: { type: 'RecordRefundFailure', data: { refundId: 'r1' } } }] });
    const charge = mapStripeEvent(event('charge.refunded', { id: 'ch_1', metadata: { paymentId: 'p1' }, refunds: { data: [theirs] } }));
    expect(charge).toMatchObject({ targets: [{ paymentId: 'p1', command: { type: 'RecordGatewayRefund' } }] });
    expect(mapStripeEvent(event('charge.refunded', { id: 'ch_1', metadata: {} }))).toMatchObject({ kind: 'ignored' });
  });

  it('maps disputes by their PaymentIntent; an inquiry closed with a warning counts as won', () => {
    expect(mapStripeEvent(event('charge.dispute.created', { id: 'dp_1', amount: 1000, reason: 'fraudulent', payment_intent: 'pi_1', metadata: {} }))).toMatchObject({
      targets: [{ reference: 'pi_1', command: { type: 'OpenDispute', data: { disputeId: 'dp_1', amount: 1000 } } }],
    });
    expect(mapStripeEvent(event('charge.dispute.closed', { id: 'dp_1', status: 'lost', payment_intent: 'pi_1', metadata: {} }))).toMatchObject({
      targets: [{ command: { type: 'CloseDispute', data: { outcome: 'lost' } } }],
    });
    expect(mapStripeEvent(event('charge.dispute.closed', { id: 'dp_1', status: 'warning_closed', payment_intent: 'pi_1', metadata: {} }))).toMatchObject({
      targets: [{ command: { data: { outcome: 'won' } } }],
    });
  });

  it('ignores event types it does not act on', () => {
    expect(mapStripeEvent(event('customer.created', {}))).toMatchObject({ kind: 'ignored' });
  });

  it('verifies the Stripe-Signature header and refuses a tampered body', () => {
    const payload = JSON.stringify({ id: 'evt_1', object: 'event', type: 'customer.created', data: { object: {} } });
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_test' });
    expect(verifyStripeEvent(payload, header, 'whsec_test').id).toBe('evt_1');
    expect(thrownBy(() => verifyStripeEvent(payload.replace('evt_1', 'evt_2'), header, 'whsec_test'))).toMatchObject({ code: 'WEBHOOK_SIGNATURE_INVALID' });
  });
});
