import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { TransientGatewayError } from '../../src/gateways/gateway.js';
import { uuidV5 } from '../../src/domain/ids.js';
import { checkStripeEvent, mapStripeEvent, refundIdFor, verifyStripeEvent } from '../../src/gateways/stripe-events.js';
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

/** A payment id as Tessera makes them: a name-based (version 5) UUID. */
const P1 = uuidV5('payment-1');

describe('Stripe webhooks as commands', () => {
  it('maps a succeeded intent to a capture of our payment', () => {
    expect(mapStripeEvent(event('payment_intent.succeeded', { id: 'pi_1', amount_received: 1000, metadata: { paymentId: P1 } }))).toEqual({
      kind: 'commands',
      targets: [{ paymentId: P1, reference: 'pi_1', command: { type: 'RecordCapture', data: { amount: 1000, gateway: 'stripe', gatewayReference: 'pi_1' } } }],
    });
  });

  it('maps a failed intent to a failure with the decline', () => {
    const mapped = mapStripeEvent(event('payment_intent.payment_failed', { id: 'pi_1', metadata: { paymentId: P1 }, last_payment_error: { code: 'card_declined', decline_code: 'lost_card', message: 'declined' } }));
    expect(mapped).toMatchObject({ kind: 'commands', targets: [{ paymentId: P1, reference: 'pi_1', command: { type: 'RecordPaymentFailure', data: { declineCode: 'lost_card' } } }] });
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ["another product's, with no metadata", {}, /pi_1 has no metadata.paymentId$/],
    ["another product's, with metadata of its own", { orderId: 'A-1' }, /pi_1 has no metadata.paymentId$/],
    ["a share of one of Tessera's group payments", { groupId: 'g1', memberId: 'm1' }, /a share of group payment g1/],
    ["the charge of one of Tessera's resale escrows", { escrowId: 'e1', listingId: 'l1' }, /the charge of resale escrow e1/],
  ])('ignores an intent that names no Tessera payment: %s', (_case, metadata, detail) => {
    for (const type of ['payment_intent.succeeded', 'payment_intent.amount_capturable_updated', 'payment_intent.payment_failed']) {
      const mapped = mapStripeEvent(event(type, { id: 'pi_1', amount_received: 1000, amount_capturable: 1000, metadata }));
      expect(mapped, type).toMatchObject({ kind: 'ignored', reason: 'not_a_tessera_payment', detail: expect.stringMatching(detail) as string });
    }
  });

  it('ignores a paymentId Tessera did not make (every Tessera payment id is a name-based UUID)', () => {
    for (const paymentId of ['order-42', '8c5f2e2a-4b5d-4c1e-9a7b-0f1e2d3c4b5a', 'p1']) {
      expect(mapStripeEvent(event('payment_intent.succeeded', { id: 'pi_1', amount_received: 1000, metadata: { paymentId } }))).toMatchObject({
        kind: 'ignored',
        reason: 'not_a_tessera_payment',
      });
      expect(mapStripeEvent(event('refund.created', { id: 're_1', amount: 5, status: 'succeeded', payment_intent: 'pi_1', metadata: { paymentId } }))).toMatchObject({
        kind: 'ignored',
        reason: 'not_a_tessera_payment',
      });
    }
  });

  it('maps refunds, keeping our refund id or deriving one for refunds made in the dashboard', () => {
    const ours = mapStripeEvent(event('refund.updated', { id: 're_1', amount: 500, status: 'succeeded', payment_intent: 'pi_1', metadata: { paymentId: P1, refundId: 'r1' } }));
    expect(ours).toMatchObject({ kind: 'commands', targets: [{ paymentId: P1, command: { type: 'RecordGatewayRefund', data: { refundId: 'r1', amount: 500 } } }] });
    const theirs = { id: 're_2', amount: 300, status: 'succeeded', payment_intent: 'pi_1', metadata: {} };
    expect(mapStripeEvent(event('refund.created', theirs))).toMatchObject({
      targets: [{ reference: 'pi_1', command: { data: { refundId: refundIdFor(theirs as unknown as Stripe.Refund) } } }],
    });
    const failed = mapStripeEvent(event('refund.updated', { id: 're_1', amount: 500, status: 'failed', failure_reason: 'lost_or_stolen_card', payment_intent: 'pi_1', metadata: { refundId: 'r1' } }));
    expect(failed).toMatchObject({ targets: [{ command: { type: 'RecordRefundFailure', data: { refundId: 'r1' } } }] });
    const charge = mapStripeEvent(event('charge.refunded', { id: 'ch_1', metadata: { paymentId: P1 }, refunds: { data: [theirs] } }));
    expect(charge).toMatchObject({ targets: [{ paymentId: P1, command: { type: 'RecordGatewayRefund' } }] });
    expect(mapStripeEvent(event('charge.refunded', { id: 'ch_1', metadata: {} }))).toMatchObject({ kind: 'ignored', reason: 'nothing_to_record' });
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
    expect(mapStripeEvent(event('customer.created', {}))).toMatchObject({ kind: 'ignored', reason: 'unhandled_type' });
  });

  it('verifies the Stripe-Signature header and refuses a tampered body', () => {
    const payload = JSON.stringify({ id: 'evt_1', object: 'event', type: 'customer.created', data: { object: {} } });
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_test' });
    expect(verifyStripeEvent(payload, header, 'whsec_test').id).toBe('evt_1');
    expect(thrownBy(() => verifyStripeEvent(payload.replace('evt_1', 'evt_2'), header, 'whsec_test'))).toMatchObject({ code: 'WEBHOOK_SIGNATURE_INVALID' });
  });
});

describe('Stripe webhook events checked before they are stored', () => {
  const delivered = (fields: Record<string, unknown>) =>
    ({ id: 'evt_1NfXk2', object: 'event', type: 'customer.created', created: 1_767_225_600, data: { object: { id: 'cus_1' } }, ...fields }) as unknown as Stripe.Event;
  const problems = (event: Stripe.Event) => (thrownBy(() => checkStripeEvent(event)) as { code: string; details: { errors: { field: string }[] } });

  it('accepts the events Tessera acts on, with only the fields it reads', () => {
    const objects: Record<string, Record<string, unknown>> = {
      'payment_intent.succeeded': { id: 'pi_1', amount_received: 1000, metadata: { paymentId: 'p1' } },
      'payment_intent.amount_capturable_updated': { id: 'pi_1', amount_capturable: 1000 },
      'payment_intent.payment_failed': { id: 'pi_1', metadata: {}, last_payment_error: null },
      'charge.refunded': { id: 'ch_1', refunds: { data: [{ id: 're_1', amount: 5, status: null, payment_intent: { id: 'pi_1' } }] } },
      'refund.updated': { id: 're_1', amount: 500, status: 'failed', failure_reason: 'lost_or_stolen_card', payment_intent: 'pi_1', metadata: { refundId: 'r1' } },
      'charge.dispute.created': { id: 'dp_1', amount: 1000, reason: 'fraudulent', payment_intent: null },
      'charge.dispute.closed': { id: 'dp_1', status: 'lost', payment_intent: 'pi_1' },
      'customer.created': {},
      constructor: { anything: true },
    };
    for (const [type, object] of Object.entries(objects)) {
      const event = delivered({ type, data: { object } });
      expect(checkStripeEvent(event)).toBe(event);
    }
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['without an id', { id: undefined }, 'id'],
    ['with an id that is not a string', { id: 5 }, 'id'],
    ['with an id that is not an event id', { id: 'cus_1' }, 'id'],
    ['with a type that is not a string', { type: 7 }, 'type'],
    ['with data null', { data: null }, 'data'],
    ['with data.object an array', { data: { object: [] } }, 'data.object'],
    ['with created not an integer', { created: 1.5 }, 'created'],
    ['of a capture without the amount', { type: 'payment_intent.succeeded', data: { object: { id: 'pi_1', metadata: {} } } }, 'data.object.amount_received'],
    ['of a refund with a text amount', { type: 'refund.created', data: { object: { id: 're_1', amount: '5', status: 'succeeded' } } }, 'data.object.amount'],
    ['of a capture naming a payment by a number', { type: 'payment_intent.succeeded', data: { object: { id: 'pi_1', amount_received: 1, metadata: { paymentId: 0.5 } } } }, 'data.object.metadata.paymentId'],
  ])('refuses an event %s with WEBHOOK_PAYLOAD_INVALID naming the field', (_case, fields, field) => {
    const refusal = problems(delivered(fields));
    expect(refusal.code).toBe('WEBHOOK_PAYLOAD_INVALID');
    expect(refusal.details.errors.map((error) => error.field)).toContain(field);
  });

  it('refuses a delivery that is not an object at all', () => {
    for (const payload of [null, 'evt_1', 42, []]) {
      expect(problems(payload as unknown as Stripe.Event)).toMatchObject({ code: 'WEBHOOK_PAYLOAD_INVALID', details: { errors: [{ field: 'event' }] } });
    }
  });
});
