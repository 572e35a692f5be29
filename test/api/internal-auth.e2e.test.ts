import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { NonceStore } from '../../src/api/auth/nonce-store.js';
import type { RouteModule } from '../../src/api/route.js';
import { cents } from '../../src/api/schemas.js';
import { authAs } from '../support/payments-http.js';
import { internalHeaders, reachableBackends, testApp, TEST_INTERNAL_SECRET, type InternalSigningOptions, type TestApp } from '../support/app.js';

let executions = 0;
const internalRoutes: RouteModule = {
  name: 'test-internal',
  register(api) {
    api.route({
      method: 'POST',
      url: '/internal/test-notify',
      summary: 'an internal command',
      auth: 'internal',
      idempotent: true,
      body: z.object({ amount: cents }),
      response: z.object({ service: z.string(), amount: cents }),
      handler: ({ service, body }) => {
        executions += 1;
        return { service, amount: body.amount };
      },
    });
  },
};

describe.each(reachableBackends())('internal routes over HTTP (%s)', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ backend, extraRoutes: [internalRoutes] });
  });
  afterAll(() => t.close());

  const URL = '/internal/test-notify';
  const call = (rawBody: string, options: InternalSigningOptions & { service?: string; key?: string; headers?: Record<string, string> } = {}) =>
    t.app.inject({
      method: 'POST',
      url: URL,
      headers: {
        ...(options.headers ?? internalHeaders('POST', URL, rawBody, options.service ?? 'order-service', options)),
        'idempotency-key': options.key ?? randomUUID(),
      },
      payload: rawBody,
    });

  it('accepts a signed call and hands the handler the calling service', async () => {
    const response = await call('{ "amount": 10000 }');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ service: 'order-service', amount: 10_000 });
  });

  it('signs the body exactly as sent, whitespace included', async () => {
    const response = await call('{ "amount": 10000 }', { headers: internalHeaders('POST', URL, '{"amount":10000}', 'order-service') });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'INVALID_SIGNATURE' });
  });

  it('refuses the same signed request a second time as a replay, and runs it once', async () => {
    const headers = internalHeaders('POST', URL, '{"amount":3}', 'order-service');
    const before = executions;
    const first = await call('{"amount":3}', { headers });
    const replayed = await call('{"amount":3}', { headers });
    expect(first.statusCode).toBe(200);
    expect(replayed.statusCode).toBe(401);
    expect(replayed.json()).toMatchObject({ code: 'SIGNATURE_REPLAYED' });
    expect(executions - before).toBe(1);
  });

  it('refuses a signed call sent to another path or with another query', async () => {
    const signedForOther = internalHeaders('POST', '/internal/other-route', '{"amount":1}', 'order-service');
    expect((await call('{"amount":1}', { headers: signedForOther })).json()).toMatchObject({ code: 'INVALID_SIGNATURE' });
    const signedWithQuery = internalHeaders('POST', `${URL}?amount=1`, '{"amount":1}', 'order-service');
    expect((await call('{"amount":1}', { headers: signedWithQuery })).json()).toMatchObject({ code: 'INVALID_SIGNATURE' });
  });

  it('refuses the old v1 signature, asking for v2', async () => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const v1 = createHmac('sha256', TEST_INTERNAL_SECRET).update(`${timestamp}.order-service.{"amount":1}`).digest('hex');
    const response = await call('{"amount":1}', {
      headers: { 'content-type': 'application/json', 'x-internal-service': 'order-service', 'x-internal-timestamp': timestamp, 'x-internal-signature': v1 },
    });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'INVALID_SIGNATURE', error: expect.stringMatching(/v2 are required/) as string });
  });

  it('refuses a call without the signature headers', async () => {
    const response = await t.app.inject({ method: 'POST', url: URL, payload: { amount: 1 } });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'AUTH_REQUIRED' });
  });

  it('refuses a call signed with another secret', async () => {
    const response = await call('{"amount":1}', { secret: 'not-the-secret-but-long-enough-anyway!' });
    expect(response.json()).toMatchObject({ code: 'INVALID_SIGNATURE' });
  });

  it('refuses a call signed further back than the 30-second skew', async () => {
    const response = await call('{"amount":1}', { timestamp: Math.floor(Date.now() / 1000) - 45 });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'SIGNATURE_EXPIRED' });
  });

  it('refuses a service that is not in INTERNAL_SERVICES', async () => {
    const response = await call('{"amount":1}', { service: 'stranger-service' });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('scopes idempotency keys by service and replays a retried call signed afresh', async () => {
    const key = randomUUID();
    const before = executions;
    const first = await call('{"amount":7}', { key });
    const retry = await call('{"amount":7}', { key });
    const otherService = await call('{"amount":7}', { key, service: 'ticket-service' });
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toBe(first.body);
    expect(otherService.json()).toEqual({ service: 'ticket-service', amount: 7 });
    expect(executions - before).toBe(2);
  });
});

describe('internal routes when the nonce store is down', () => {
  let t: TestApp;
  beforeAll(async () => {
    const down: NonceStore = { kind: 'sql', claim: () => Promise.reject(new Error('store down')), purgeExpired: () => Promise.resolve(0) };
    t = await testApp({ extraRoutes: [internalRoutes], edge: (edge) => ({ ...edge, nonces: down }) });
  });
  afterAll(() => t.close());

  it('refuses a correctly signed call with 503 rather than let it through unchecked', async () => {
    const before = executions;
    const raw = '{"amount":5}';
    const response = await t.app.inject({
      method: 'POST',
      url: '/internal/test-notify',
      headers: { ...internalHeaders('POST', '/internal/test-notify', raw, 'order-service'), 'idempotency-key': randomUUID() },
      payload: raw,
    });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    expect(executions).toBe(before);
  });
});

describe('a service with a secret of its own', () => {
  const TICKET_SERVICE_SECRET = 'ticket-service-secret-of-at-least-32-characters';
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ env: { INTERNAL_SERVICE_SECRETS: JSON.stringify({ 'ticket-service': TICKET_SERVICE_SECRET }) } });
  });
  afterAll(() => t.close());

  it('answers a service header naming an object property (constructor, __proto__) as an unknown service, never 500', async () => {
    for (const service of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const raw = '{"amount":100,"venueAddress":{"city":"Nashville","state":"TN"}}';
      const headers = { ...internalHeaders('POST', '/internal/calculate-tax', raw, 'order-service'), 'x-internal-service': service };
      const response = await t.app.inject({ method: 'POST', url: '/internal/calculate-tax', headers, payload: raw });
      expect(response.statusCode, service).toBe(401);
    }
  });

  it('cannot be impersonated by another service holding the shared secret, so only it prices tickets', async () => {
    const venueId = randomUUID();
    const admin = await authAs('admin');
    await t.app.inject({
      method: 'PUT',
      url: `/api/v1/venues/${venueId}`,
      headers: admin,
      payload: { name: 'Ryman', address: { street: '1 Broadway', city: 'Nashville', state: 'TN', zip: '37203' } },
    });
    const raw = JSON.stringify({ name: 'Floor', price: 1 });
    const url = `/internal/venues/${venueId}/events/${randomUUID()}/ticket-types/${randomUUID()}`;
    const put = (secret: string) => t.app.inject({ method: 'PUT', url, headers: internalHeaders('PUT', url, raw, 'ticket-service', { secret }), payload: raw });
    const impersonated = await put(TEST_INTERNAL_SECRET);
    expect(impersonated.statusCode).toBe(401);
    expect(impersonated.json()).toMatchObject({ code: 'INVALID_SIGNATURE' });
    expect((await put(TICKET_SERVICE_SECRET)).statusCode).toBe(201);
  });
});
