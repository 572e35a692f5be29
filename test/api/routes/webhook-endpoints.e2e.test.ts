import { randomUUID } from 'node:crypto';
import type { Response as LightMyRequestResponse } from 'light-my-request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../../../src/domain/webhooks.js';
import type { CloudEvent } from '../../../src/events/integration.js';
import { bearer, testApp, type TestApp } from '../../support/app.js';
import { completedPurchase, venueAt } from '../../support/payments-http.js';
import { eventually } from '../../support/poll.js';
import { startWebhookReceiver, type ReceivedHook, type TestWebhookReceiver } from '../../support/webhook-receiver.js';

/**
 * Webhooks out (issue 22), end to end: a tenant's admin registers an endpoint (a real HTTP server
 * in process), a purchase is made, and the endpoint gets `payment.completed` signed with its
 * secret; failures are retried, dead-lettered after the window and redelivered by hand; secrets
 * rotate with two valid at once; one tenant never sees another's endpoints or deliveries.
 */
const PAYMENT_COMPLETED = 'com.tessera.payment.completed';
// Retries every 20-100 ms, given up 1.5 s after a delivery was made: the schedule, compressed.
const FAST = {
  DEADLINE_POLL_MS: '20',
  PM_RETRY_INITIAL_MS: '20',
  PM_RETRY_MAX_MS: '100',
  WEBHOOK_ALLOW_HTTP: 'true',
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_RETRY_INITIAL_MS: '20',
  WEBHOOK_RETRY_MAX_MS: '100',
  WEBHOOK_RETRY_WINDOW_MS: '1500',
  WEBHOOK_POLL_MS: '20',
  WEBHOOK_MAX_ENDPOINTS: '3',
};

interface EndpointAnswer {
  id: string;
  url: string;
  eventTypes: string[];
  status: string;
  secrets: { serial: number; expiresAt: string | null }[];
  secret?: string;
}

interface DeliveryAnswer {
  id: string;
  eventId: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  log?: { attempt: number; statusCode: number | null; error: string | null; responseExcerpt: string | null }[];
}

describe('webhooks out', () => {
  let t: TestApp;
  let venueId: string;
  let admin: Record<string, string>;
  const receivers: TestWebhookReceiver[] = [];

  const receiver = async () => {
    const started = await startWebhookReceiver();
    receivers.push(started);
    return started;
  };
  const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, headers = admin): Promise<LightMyRequestResponse> =>
    t.app.inject({ method, url, headers: { ...headers, ...(method === 'GET' ? {} : { 'idempotency-key': randomUUID() }) }, ...(payload === undefined ? {} : { payload }) });
  const register = async (url: string, eventTypes = [PAYMENT_COMPLETED], headers = admin) => {
    const response = await call('POST', '/api/v1/webhook-endpoints', { url, eventTypes }, headers);
    expect(response.statusCode, response.body).toBe(201);
    return response.json<EndpointAnswer>();
  };
  const remove = async (id: string) => expect((await call('DELETE', `/api/v1/webhook-endpoints/${id}`)).statusCode).toBe(200);
  const eventOf = (hook: ReceivedHook) => JSON.parse(hook.body) as CloudEvent;
  /** The hooks a receiver got for one event id. */
  const hooksFor = (r: TestWebhookReceiver, eventId: string) => r.received.filter((hook) => eventOf(hook).id === eventId);
  /** The id of the PaymentCaptured event behind a transaction's payment.completed, as the endpoint saw it. */
  const completedHook = async (r: TestWebhookReceiver, paymentId: string): Promise<ReceivedHook> =>
    eventually(() => r.received.find((hook) => hook.status === 200 && eventOf(hook).subject === paymentId), { timeoutMs: 10_000 });
  const deliveryOf = async (eventId: string, endpointId: string): Promise<DeliveryAnswer> => {
    const list = await call('GET', `/api/v1/webhook-deliveries?endpointId=${endpointId}`);
    const found = list.json<{ items: DeliveryAnswer[] }>().items.find((d) => d.eventId === eventId);
    const detail = await call('GET', `/api/v1/webhook-deliveries/${found!.id}`);
    expect(detail.statusCode).toBe(200);
    return detail.json<DeliveryAnswer>();
  };

  beforeAll(async () => {
    t = await testApp({ background: true, env: FAST });
    venueId = await venueAt(t);
    admin = await bearer({ role: 'admin', sub: 'admin-1' });
  });
  afterAll(async () => {
    await t.close();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it("registers an endpoint, answers its secret once, and POSTs a purchase's payment.completed signed with it", async () => {
    const r = await receiver();
    const endpoint = await register(`${r.url}/hooks`);
    expect(endpoint.secret).toMatch(/^whsec_/);
    expect(endpoint).toMatchObject({ url: `${r.url}/hooks`, eventTypes: [PAYMENT_COMPLETED], status: 'enabled', secrets: [{ serial: 1, expiresAt: null }] });
    const read = await call('GET', `/api/v1/webhook-endpoints/${endpoint.id}`);
    expect(read.json()).not.toHaveProperty('secret');
    expect(read.body).not.toContain(endpoint.secret!);

    const transaction = await completedPurchase(t, venueId);
    const hook = await completedHook(r, transaction.id);
    expect(hook.path).toBe('/hooks');
    expect(hook.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    expect(verifySignature(hook.headers['tessera-signature'] as string, hook.body, endpoint.secret!, new Date())).toMatchObject({ ok: true });
    const event = eventOf(hook);
    expect(event).toMatchObject({ specversion: '1.0', type: PAYMENT_COMPLETED, subject: transaction.id, tenantid: 'tenant-1', data: { paymentId: transaction.id } });
    expect(hook.body).not.toContain('pm_card_visa');
    // Only the types asked for: the purchase's other events (requested, authorized) were not sent.
    expect(r.received.every((h) => eventOf(h).type === PAYMENT_COMPLETED)).toBe(true);

    const delivery = await eventually(async () => {
      const d = await deliveryOf(event.id, endpoint.id);
      return d.status === 'delivered' ? d : undefined;
    });
    expect(delivery).toMatchObject({ attempts: 1, lastStatusCode: 200, log: [{ attempt: 1, statusCode: 200, error: null, responseExcerpt: 'ok' }] });
    expect(hook.headers['tessera-delivery-id']).toBe(delivery.id);
    await remove(endpoint.id);
  });

  it('retries an endpoint that answers 500 three times and delivers once it recovers, each attempt in the log', async () => {
    const r = await receiver();
    r.script(500, 500, 500);
    const endpoint = await register(`${r.url}/flaky`);
    const transaction = await completedPurchase(t, venueId);
    const hook = await completedHook(r, transaction.id);
    const eventId = eventOf(hook).id;
    const tries = hooksFor(r, eventId);
    expect(tries.map((h) => h.status)).toEqual([500, 500, 500, 200]);
    // Every try carries the same event (same id and body), signed afresh.
    expect(new Set(tries.map((h) => h.body)).size).toBe(1);
    for (const attempt of tries) expect(verifySignature(attempt.headers['tessera-signature'] as string, attempt.body, endpoint.secret!, new Date()).ok).toBe(true);
    expect(tries.map((h) => h.headers['tessera-delivery-attempt'])).toEqual(['1', '2', '3', '4']);

    const delivery = await eventually(async () => {
      const d = await deliveryOf(eventId, endpoint.id);
      return d.status === 'delivered' ? d : undefined;
    });
    expect(delivery.attempts).toBe(4);
    expect(delivery.log!.map((a) => a.statusCode)).toEqual([500, 500, 500, 200]);
    expect(delivery.log![0]).toMatchObject({ error: 'the endpoint answered 500', responseExcerpt: 'refused with 500' });
    await remove(endpoint.id);
  });

  it('dead-letters a delivery whose endpoint never recovers, and redelivers it by hand once it does', async () => {
    const r = await receiver();
    r.always(503);
    const endpoint = await register(`${r.url}/down`);
    const transaction = await completedPurchase(t, venueId);
    const eventId = await eventually(() => r.received.map(eventOf).find((e) => e.subject === transaction.id)?.id);

    const dead = await eventually(
      async () => {
        const list = await call('GET', '/api/v1/webhook-deliveries?status=dead');
        return list.json<{ items: DeliveryAnswer[] }>().items.find((d) => d.eventId === eventId);
      },
      { timeoutMs: 10_000 },
    );
    expect(dead.attempts).toBeGreaterThanOrEqual(3);
    expect(dead.lastStatusCode).toBe(503);
    const triesBefore = hooksFor(r, eventId).length;
    expect(triesBefore).toBe(dead.attempts);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(hooksFor(r, eventId)).toHaveLength(triesBefore); // given up: no more tries

    r.always(undefined);
    const redelivered = await call('POST', `/api/v1/webhook-deliveries/${dead.id}/redeliver`);
    expect(redelivered.statusCode, redelivered.body).toBe(200);
    expect(redelivered.json()).toMatchObject({ id: dead.id, status: 'pending' });
    await eventually(() => (hooksFor(r, eventId).some((h) => h.status === 200) ? true : undefined));
    const delivered = await eventually(async () => {
      const d = await deliveryOf(eventId, endpoint.id);
      return d.status === 'delivered' ? d : undefined;
    });
    expect(delivered.attempts).toBe(dead.attempts + 1);
    await remove(endpoint.id);
  });

  it('signs with both secrets while the old one rotates out, then with the new one alone', async () => {
    const r = await receiver();
    const endpoint = await register(`${r.url}/rotating`);
    // No body: the old secret signs beside the new one for a day.
    const rotated = await call('POST', `/api/v1/webhook-endpoints/${endpoint.id}/rotate-secret`);
    expect(rotated.statusCode, rotated.body).toBe(200);
    const second = rotated.json<EndpointAnswer>();
    expect(second.secret).not.toBe(endpoint.secret);
    expect(second.secrets.map((s) => s.serial)).toEqual([2, 1]);
    expect(second.secrets[0]!.expiresAt).toBeNull();
    expect(Date.parse(second.secrets[1]!.expiresAt!) - Date.now()).toBeGreaterThan(86_000_000);

    const during = await completedHook(r, (await completedPurchase(t, venueId)).id);
    const header = during.headers['tessera-signature'] as string;
    expect(header.match(/v1=/g)).toHaveLength(2);
    expect(verifySignature(header, during.body, endpoint.secret!, new Date()).ok).toBe(true);
    expect(verifySignature(header, during.body, second.secret!, new Date()).ok).toBe(true);

    // A second rotation retires the first secret at once: never more than two in force.
    const third = (await call('POST', `/api/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, { expiresInSeconds: 0 })).json<EndpointAnswer>();
    expect(third.secrets.map((s) => s.serial)).toEqual([3]);
    const after = await completedHook(r, (await completedPurchase(t, venueId)).id);
    const afterHeader = after.headers['tessera-signature'] as string;
    expect(afterHeader.match(/v1=/g)).toHaveLength(1);
    expect(verifySignature(afterHeader, after.body, third.secret!, new Date()).ok).toBe(true);
    expect(verifySignature(afterHeader, after.body, second.secret!, new Date()).ok).toBe(false);
    expect(verifySignature(afterHeader, after.body, endpoint.secret!, new Date()).ok).toBe(false);
    await remove(endpoint.id);
  });

  it('sends nothing to a disabled endpoint, and nothing more once it is deleted', async () => {
    const r = await receiver();
    const endpoint = await register(`${r.url}/paused`);
    const disabled = await call('PATCH', `/api/v1/webhook-endpoints/${endpoint.id}`, { status: 'disabled' });
    expect(disabled.json()).toMatchObject({ status: 'disabled' });
    // A second endpoint of the tenant shows when the purchase's event has been fanned out.
    const witness = await receiver();
    const witnessEndpoint = await register(`${witness.url}/witness`);
    const transaction = await completedPurchase(t, venueId);
    await completedHook(witness, transaction.id);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(r.received).toHaveLength(0);

    await call('PATCH', `/api/v1/webhook-endpoints/${endpoint.id}`, { status: 'enabled' });
    await remove(endpoint.id);
    expect((await call('GET', `/api/v1/webhook-endpoints/${endpoint.id}`)).statusCode).toBe(404);
    await completedHook(witness, (await completedPurchase(t, venueId)).id);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(r.received).toHaveLength(0);
    await remove(witnessEndpoint.id);
  });

  it("keeps each tenant to its own endpoints and deliveries: another tenant's ids are not found", async () => {
    const r = await receiver();
    const endpoint = await register(`${r.url}/tenant-1`);
    const hook = await completedHook(r, (await completedPurchase(t, venueId)).id);
    const delivery = await eventually(async () => (await call('GET', `/api/v1/webhook-deliveries?endpointId=${endpoint.id}`)).json<{ items: DeliveryAnswer[] }>().items[0]);
    expect(delivery.eventId).toBe(eventOf(hook).id);

    const other = await bearer({ role: 'admin', sub: 'admin-1', tenantId: 'tenant-2' });
    expect((await call('GET', '/api/v1/webhook-endpoints', undefined, other)).json()).toEqual({ items: [], count: 0 });
    expect((await call('GET', '/api/v1/webhook-deliveries', undefined, other)).json()).toMatchObject({ items: [], count: 0 });
    const attempts: [method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: object][] = [
      ['GET', `/api/v1/webhook-endpoints/${endpoint.id}`],
      ['PATCH', `/api/v1/webhook-endpoints/${endpoint.id}`, { status: 'disabled' }],
      ['POST', `/api/v1/webhook-endpoints/${endpoint.id}/rotate-secret`, {}],
      ['DELETE', `/api/v1/webhook-endpoints/${endpoint.id}`],
      ['GET', `/api/v1/webhook-deliveries/${delivery.id}`],
      ['POST', `/api/v1/webhook-deliveries/${delivery.id}/redeliver`],
    ];
    for (const [method, url, body] of attempts) {
      const response = await call(method, url, body, other);
      expect(response.statusCode, `${method} ${url}`).toBe(404);
      expect(response.json<{ code: string }>().code).toMatch(/^WEBHOOK_(ENDPOINT|DELIVERY)_NOT_FOUND$/);
    }
    // A buyer's token gets nowhere near them.
    expect((await call('GET', '/api/v1/webhook-endpoints', undefined, await bearer({ sub: 'buyer-1' }))).statusCode).toBe(403);
    // Still the tenant's, untouched.
    expect((await call('GET', `/api/v1/webhook-endpoints/${endpoint.id}`)).json()).toMatchObject({ status: 'enabled', secrets: [{ serial: 1 }] });
    await remove(endpoint.id);
  });

  it('refuses unknown event types, malformed URLs and cursors with 422, and more endpoints than the limit with 409, writing nothing', async () => {
    const headers = await bearer({ role: 'admin', sub: 'admin-9', tenantId: 'tenant-limits' });
    const refused = async (payload: object) => {
      const response = await call('POST', '/api/v1/webhook-endpoints', payload, headers);
      expect(response.statusCode, JSON.stringify(payload)).toBe(422);
      expect(response.json()).toMatchObject({ code: 'VALIDATION_ERROR' });
    };
    await refused({ url: 'https://hooks.example.com/x', eventTypes: ['com.tessera.payment.teleported'] });
    await refused({ url: 'https://hooks.example.com/x', eventTypes: [] });
    await refused({ url: 'hooks.example.com', eventTypes: ['*'] });
    await refused({ url: 'https://user:secret@hooks.example.com/x', eventTypes: ['*'] });
    await refused({ url: 'https://hooks.example.com/x', eventTypes: ['*'], secret: 'mine' });
    for (const cursor of ['bm90LWpzb24', Buffer.from(JSON.stringify(['0000-01-01T00:00:00Z', randomUUID()])).toString('base64url')]) {
      const badCursor = await call('GET', `/api/v1/webhook-deliveries?cursor=${cursor}`, undefined, headers);
      expect(badCursor.statusCode, cursor).toBe(422);
    }
    expect((await call('GET', '/api/v1/webhook-endpoints', undefined, headers)).json()).toEqual({ items: [], count: 0 });

    for (let i = 0; i < 3; i += 1) await register(`https://hooks.example.com/${i}`, ['*'], headers);
    const fourth = await call('POST', '/api/v1/webhook-endpoints', { url: 'https://hooks.example.com/3', eventTypes: ['*'] }, headers);
    expect(fourth.statusCode).toBe(409);
    expect(fourth.json()).toMatchObject({ code: 'WEBHOOK_ENDPOINT_LIMIT_REACHED' });
    const listed = (await call('GET', '/api/v1/webhook-endpoints', undefined, headers)).json<{ items: EndpointAnswer[] }>().items;
    expect(listed).toHaveLength(3);
    expect(listed[0]!.eventTypes).toEqual(['*']);
    for (const e of listed) await call('DELETE', `/api/v1/webhook-endpoints/${e.id}`, undefined, headers);
  });
});

describe('webhook endpoints where the server allows only public https', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({});
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses http:// and endpoints on loopback or private addresses', async () => {
    const headers = { ...(await bearer({ role: 'admin', sub: 'admin-1' })) };
    for (const url of ['http://hooks.example.com/x', 'https://127.0.0.1:5432/', 'https://localhost/x', 'https://169.254.169.254/latest/meta-data', 'https://[::1]/x']) {
      const response = await t.app.inject({ method: 'POST', url: '/api/v1/webhook-endpoints', headers: { ...headers, 'idempotency-key': randomUUID() }, payload: { url, eventTypes: ['*'] } });
      expect(response.statusCode, url).toBe(422);
      expect(response.json<{ errors: { field: string }[] }>().errors[0]!.field).toBe('url');
    }
    const ok = await t.app.inject({ method: 'POST', url: '/api/v1/webhook-endpoints', headers: { ...headers, 'idempotency-key': randomUUID() }, payload: { url: 'https://hooks.example.com/x', eventTypes: ['*'] } });
    expect(ok.statusCode).toBe(201);
  });
});
