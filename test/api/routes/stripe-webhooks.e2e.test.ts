import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlGatewayReferences } from '../../../src/gateways/gateway-references.js';
import { testApp, type TestApp } from '../../support/app.js';
import { authAs, paymentState, purchase, sqlBackends, venueAt, type ProcessAnswer } from '../../support/payments-http.js';
import { eventually } from '../../support/poll.js';
import { writtenRows } from '../../support/written-rows.js';

const SECRET = 'whsec_tessera_test_secret';

const stripeEvent = (type: string, object: Record<string, unknown>) => ({
  id: `evt_${randomUUID().replaceAll('-', '')}`,
  object: 'event',
  api_version: '2025-01-27.acacia',
  created: Math.floor(Date.now() / 1000),
  type,
  data: { object },
});

interface Delivery {
  readonly secret?: string;
  /** Unix seconds the signature claims (default now). */
  readonly timestamp?: number;
  /** Signs this payload but sends the event (a body changed in transit). */
  readonly signedPayload?: string;
  readonly header?: string | null;
}

describe.each(sqlBackends())('Stripe webhooks over HTTP (%s)', (backend) => {
  let t: TestApp;
  let venueId: string;

  beforeAll(async () => {
    t = await testApp({
      backend,
      background: true,
      env: { STRIPE_WEBHOOK_SECRET: SECRET, PM_RETRY_INITIAL_MS: '50', PM_RETRY_MAX_MS: '200', DEADLINE_POLL_MS: '50' },
    });
    venueId = await venueAt(t, { tierOverride: 'pro' });
  });
  afterAll(() => t.close());

  function deliver(event: object, delivery: Delivery = {}) {
    const payload = JSON.stringify(event);
    const header =
      delivery.header === undefined
        ? Stripe.webhooks.generateTestHeaderString({
            payload: delivery.signedPayload ?? payload,
            secret: delivery.secret ?? SECRET,
            ...(delivery.timestamp === undefined ? {} : { timestamp: delivery.timestamp }),
          })
        : delivery.header;
    return t.app.inject({
      method: 'POST',
      url: '/api/v1/webhooks/stripe',
      headers: { 'content-type': 'application/json; charset=utf-8', ...(header === null ? {} : { 'stripe-signature': header }) },
      payload,
    });
  }

  const stored = async (stripeEventId: string) =>
    (await t.storage.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM tessera_stripe_webhooks WHERE stripe_event_id = $1', [stripeEventId]))
      .rows[0]!.n;

  /** A purchase waiting for 3-D Secure: the gateway holds an intent that is not captured yet. */
  async function awaitingCustomer(): Promise<{ paymentId: string; intent: string }> {
    const response = await purchase(t, venueId, { paymentMethodId: 'pm_card_authenticationRequired' });
    const { transaction } = response.json<ProcessAnswer>();
    return { paymentId: transaction.id, intent: transaction.stripePaymentIntentId! };
  }

  const succeeded = (paymentId: string, intent: string) =>
    stripeEvent('payment_intent.succeeded', { id: intent, object: 'payment_intent', amount_received: 11_765, metadata: { paymentId } });

  const refunded = (intent: string, amount: number) =>
    stripeEvent('refund.created', { id: `re_${randomUUID().slice(0, 8)}`, object: 'refund', amount, status: 'succeeded', payment_intent: intent, metadata: {} });

  it('holds a refund delivered before the capture it refers to, then applies it once the capture arrives', async () => {
    const { paymentId, intent } = await awaitingCustomer();
    // The refund names only the intent. With GATEWAY=stripe the purchase process manager indexed it
    // under `stripe` when Stripe named it (asking for 3-D Secure); the sandbox indexes it under its own name.
    await sqlGatewayReferences(t.storage.sql).remember('stripe', intent, paymentId);
    const early = await deliver(refunded(intent, 2_000));
    expect(early.statusCode).toBe(200);
    expect(early.json()).toMatchObject({ received: true, duplicate: false, status: 'held' });
    expect(await paymentState(t, paymentId)).toMatchObject({ status: 'pending', refunded: 0 });

    const capture = await deliver(succeeded(paymentId, intent));
    expect(capture.json()).toMatchObject({ status: 'processed' });
    const state = await eventually(async () => {
      const s = await paymentState(t, paymentId);
      return s.refunded > 0 ? s : undefined;
    });
    expect(state).toMatchObject({ status: 'partially_refunded', captured: 11_765, refunded: 2_000 });
  });

  it('answers a redelivered event as a duplicate and applies it once', async () => {
    const { paymentId, intent } = await awaitingCustomer();
    await deliver(succeeded(paymentId, intent));
    const event = refunded(intent, 1_000);
    const first = await deliver(event);
    const again = await deliver(event);
    expect(first.json()).toMatchObject({ eventId: event.id, duplicate: false, status: 'processed' });
    expect(again.json()).toEqual({ received: true, eventId: event.id, duplicate: true, status: 'processed' });
    expect(await paymentState(t, paymentId)).toMatchObject({ refunded: 1_000 });
  });

  it.each<[string, (event: object) => Delivery]>([
    ['signed with another secret', () => ({ secret: 'whsec_someone_else' })],
    ['signed more than five minutes ago', () => ({ timestamp: Math.floor(Date.now() / 1000) - 600 })],
    ['changed after it was signed', (event) => ({ signedPayload: JSON.stringify({ ...event, type: 'customer.created' }) })],
    ['without a Stripe-Signature header', () => ({ header: null })],
    ['with a malformed header', () => ({ header: 't=abc,v1=nothing' })],
  ])('refuses an event %s with 400 and stores nothing', async (_case, forge) => {
    const { paymentId, intent } = await awaitingCustomer();
    const event = succeeded(paymentId, intent);
    const response = await deliver(event, forge(event));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'WEBHOOK_SIGNATURE_INVALID', path: '/api/v1/webhooks/stripe' });
    expect(await stored(event.id)).toBe(0);
    expect((await paymentState(t, paymentId)).status).toBe('pending');
  });

  it('acknowledges event types it does not act on', async () => {
    const response = await deliver(stripeEvent('customer.created', { id: 'cus_1', object: 'customer' }));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'ignored', reason: 'unhandled_type' });
  });

  it("acknowledges a signed event for a PaymentIntent that is not one of Tessera's payments: 200 ignored, stored, counted, never parked", async () => {
    const foreign = stripeEvent('payment_intent.succeeded', { id: 'pi_other_product', object: 'payment_intent', amount_received: 2_500, metadata: { orderId: 'A-1' } });
    const response = await deliver(foreign);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ received: true, eventId: foreign.id, duplicate: false, status: 'ignored', reason: 'not_a_tessera_payment' });
    const row = await t.storage.sql.query<{ status: string; ignored_reason: string }>(
      'SELECT status, ignored_reason FROM tessera_stripe_webhooks WHERE stripe_event_id = $1',
      [foreign.id],
    );
    expect(row.rows).toEqual([{ status: 'ignored', ignored_reason: 'not_a_tessera_payment' }]);
    // Its retry deadline comes due (50 ms) and finds nothing to do: nothing is parked for an operator.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const parked = await t.app.inject({ method: 'GET', url: '/admin/parked', headers: await authAs('admin') });
    expect(parked.json<{ items: { id: string }[] }>().items.map((item) => item.id)).not.toContain(`webhook:stripe:${foreign.id}`);
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^stripe_webhooks_ignored_total\{reason="not_a_tessera_payment"\} 1$/m);
  });

  it('tells /info that webhooks are on and the gateway is not Stripe', async () => {
    const info = await t.app.inject({ method: 'GET', url: '/info' });
    expect(info.json()).toMatchObject({ features: { webhooks: true, stripe: false } });
  });
});

describe.each(sqlBackends())('Stripe webhooks with a malformed event (%s)', (backend) => {
  let t: TestApp;

  // No background work: every row that appears during a delivery was written by it.
  beforeAll(async () => {
    t = await testApp({ backend, env: { STRIPE_WEBHOOK_SECRET: SECRET } });
  });
  afterAll(() => t.close());

  const deliverSigned = (payload: string) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/webhooks/stripe',
      headers: { 'content-type': 'application/json', 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET }) },
      payload,
    });

  const capture = () => stripeEvent('payment_intent.succeeded', { id: 'pi_1', object: 'payment_intent', amount_received: 100, metadata: { paymentId: randomUUID() } });

  it.each<[string, (event: Record<string, unknown>) => unknown, string]>([
    ['without an id', ({ id: _id, ...rest }) => rest, 'id'],
    ['with an id that is not a string', (event) => ({ ...event, id: 5 }), 'id'],
    ['with a type that is not a string', (event) => ({ ...event, type: 7 }), 'type'],
    ['with data null', (event) => ({ ...event, data: null }), 'data'],
    ['with data.object not an object', (event) => ({ ...event, data: { object: 'pi_1' } }), 'data.object'],
    ['with created not an integer', (event) => ({ ...event, created: '2026-01-01' }), 'created'],
    ['of a capture without its amount', (event) => ({ ...event, data: { object: { id: 'pi_1', metadata: {} } } }), 'data.object.amount_received'],
  ])('refuses a validly signed event %s with 400 WEBHOOK_PAYLOAD_INVALID and stores nothing', async (_case, malform, field) => {
    const before = await writtenRows(t.storage.sql);
    const response = await deliverSigned(JSON.stringify(malform(capture())));
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'WEBHOOK_PAYLOAD_INVALID', errors: expect.arrayContaining([expect.objectContaining({ field })]) as unknown });
    expect(await writtenRows(t.storage.sql)).toEqual(before);
  });

  it('refuses a validly signed delivery that is not an object, nested 50,000 deep, or holding a NUL, and stores nothing', async () => {
    const before = await writtenRows(t.storage.sql);
    const deep = `{"id":"evt_deep","type":"customer.created","created":1,"data":{"object":{"a":${'['.repeat(50_000)}${']'.repeat(50_000)}}}}`;
    const answers = await Promise.all(
      ['null', '"evt_1"', deep, JSON.stringify({ ...capture(), data: { object: { id: 'pi_1\u0000', amount_received: 1 } } })].map(deliverSigned),
    );
    expect(answers.map((answer) => [answer.statusCode, answer.json<{ code: string }>().code])).toEqual([
      [400, 'WEBHOOK_PAYLOAD_INVALID'],
      [400, 'WEBHOOK_PAYLOAD_INVALID'],
      [400, 'MALFORMED_REQUEST'],
      [422, 'VALIDATION_ERROR'],
    ]);
    expect(await writtenRows(t.storage.sql)).toEqual(before);
  });

  it('still receives a well-formed event', async () => {
    const event = stripeEvent('customer.created', { id: 'cus_1', object: 'customer' });
    const response = await deliverSigned(JSON.stringify(event));
    expect(response.json()).toMatchObject({ received: true, eventId: event.id, status: 'ignored' });
  });
});

describe('Stripe webhooks without STRIPE_WEBHOOK_SECRET', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.close());

  it('answers 503 so Stripe retries later, and /info says webhooks are off', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/webhooks/stripe',
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' },
      payload: JSON.stringify(stripeEvent('customer.created', {})),
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect((await t.app.inject({ method: 'GET', url: '/info' })).json()).toMatchObject({ features: { webhooks: false } });
  });
});

describe('/info with the Stripe gateway', () => {
  it('claims stripe when GATEWAY=stripe', async () => {
    const t = await testApp({ env: { GATEWAY: 'stripe', STRIPE_SECRET_KEY: 'sk_test_not_called', STRIPE_WEBHOOK_SECRET: SECRET } });
    try {
      const info = await t.app.inject({ method: 'GET', url: '/info' });
      expect(info.json()).toMatchObject({ features: { stripe: true, webhooks: true } });
    } finally {
      await t.close();
    }
  });
});
