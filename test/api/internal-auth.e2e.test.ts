import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { internalSignature } from '../../src/api/auth/internal-signature.js';
import type { RouteModule } from '../../src/api/route.js';
import { cents } from '../../src/api/schemas.js';
import { testApp, TEST_INTERNAL_SECRET, type TestApp } from '../support/app.js';

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

describe('internal routes over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ extraRoutes: [internalRoutes] });
  });
  afterAll(() => t.close());

  const call = (rawBody: string, options: { service?: string; timestamp?: number; secret?: string; key?: string } = {}) => {
    const service = options.service ?? 'order-service';
    const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
    return t.app.inject({
      method: 'POST',
      url: '/internal/test-notify',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': options.key ?? randomUUID(),
        'x-internal-service': service,
        'x-internal-timestamp': timestamp,
        'x-internal-signature': internalSignature(options.secret ?? TEST_INTERNAL_SECRET, timestamp, service, rawBody),
      },
      payload: rawBody,
    });
  };

  it('accepts a signed call and hands the handler the calling service', async () => {
    const response = await call('{ "amount": 10000 }');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ service: 'order-service', amount: 10_000 });
  });

  it('signs the body exactly as sent, whitespace included', async () => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const response = await t.app.inject({
      method: 'POST',
      url: '/internal/test-notify',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': randomUUID(),
        'x-internal-service': 'order-service',
        'x-internal-timestamp': timestamp,
        'x-internal-signature': internalSignature(TEST_INTERNAL_SECRET, timestamp, 'order-service', '{"amount":10000}'),
      },
      payload: '{ "amount": 10000 }',
    });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'INVALID_SIGNATURE' });
  });

  it('refuses a call without the signature headers', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/internal/test-notify', payload: { amount: 1 } });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'AUTH_REQUIRED' });
  });

  it('refuses a call signed with another secret', async () => {
    const response = await call('{"amount":1}', { secret: 'not-the-secret-but-long-enough-anyway!' });
    expect(response.json()).toMatchObject({ code: 'INVALID_SIGNATURE' });
  });

  it('refuses a call signed six minutes ago', async () => {
    const response = await call('{"amount":1}', { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'SIGNATURE_EXPIRED' });
  });

  it('refuses a service that is not in INTERNAL_SERVICES', async () => {
    const response = await call('{"amount":1}', { service: 'stranger-service' });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('scopes idempotency keys by service and replays a retried call', async () => {
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
