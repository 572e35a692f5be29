import { randomUUID } from 'node:crypto';
import { Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RouteModule } from '../../src/api/route.js';
import { bearer, testApp, type TestApp } from '../support/app.js';

interface Operation {
  security?: unknown[];
  parameters?: { in: string; name: string; required?: boolean }[];
  requestBody: { content: Record<string, { schema: { type: string; required: string[] } }> };
  responses: Record<string, { content: Record<string, { schema: { required: string[] } }> }>;
}
interface OpenApiDocument {
  openapi: string;
  components: { securitySchemes: Record<string, unknown> };
  paths: Record<string, Record<string, Operation>>;
}

/** A module the way a later issue would add one: a command route, a feature and a metric. */
const paymentsLike: RouteModule = {
  name: 'test-payments',
  features: { webhooks: true },
  register(api) {
    const transactions = new Counter({
      name: 'test_payments_total',
      help: 'Test payments by status and method',
      labelNames: ['status', 'method'],
      registers: [api.metrics],
    });
    api.route({
      method: 'POST',
      url: '/test/pay',
      summary: 'pay',
      auth: { roles: ['user', 'admin'] },
      idempotent: true,
      body: z.object({ amount: z.number().int() }),
      response: z.object({ ok: z.boolean() }),
      handler: () => {
        transactions.inc({ status: 'completed', method: 'card' });
        return { ok: true };
      },
    });
  },
};

describe('health, info, metrics and docs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ extraRoutes: [paymentsLike] });
  });
  afterAll(() => t.close());

  it('answers liveness like the seed (#17)', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'healthy', service: 'tessera', version: expect.any(String) as string });
  });

  it('answers readiness after checking the event store and the database', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'healthy', components: { eventStore: 'healthy', database: 'healthy' } });
    expect(response.json<{ components: object }>().components).not.toHaveProperty('redis');
  });

  it('describes the instance like the seed (#18), claiming only features that exist', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/info' });
    expect(response.json()).toMatchObject({
      service: 'tessera',
      port: 3005,
      status: 'running',
      storage: { eventStore: 'pglite', readModels: 'pglite', idempotency: 'sql', rateLimits: 'memory' },
      features: { stripe: false, fraudDetection: false, webhooks: true },
    });
  });

  it('exposes the latency histogram per route and status, and the metrics modules register', async () => {
    await t.app.inject({ method: 'POST', url: '/test/pay', headers: { ...(await bearer()), 'idempotency-key': randomUUID() }, payload: { amount: 1 } });
    await t.app.inject({ method: 'GET', url: '/nowhere/at/all' });
    const response = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    expect(response.body).toContain('http_request_duration_seconds_count{method="POST",route="/test/pay",status_code="200"} 1');
    expect(response.body).toContain('route="unmatched",status_code="404"');
    expect(response.body).not.toContain('/nowhere/at/all');
    expect(response.body).toContain('test_payments_total{status="completed",method="card"} 1');
    expect(response.body).toContain('http_idempotency_outcomes_total{outcome="executed"} 1');
    expect(response.body).toContain('process_cpu_seconds_total');
  });

  it('publishes OpenAPI 3 from the zod schemas, with security and the Idempotency-Key header', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    const document = response.json<OpenApiDocument>();
    expect(document.openapi).toMatch(/^3\./);
    expect(Object.keys(document.components.securitySchemes)).toEqual(
      expect.arrayContaining(['bearerAuth', 'internalSignature']) as string[],
    );
    const pay = document.paths['/test/pay']!.post!;
    expect(pay.security).toEqual([{ bearerAuth: [] }]);
    expect(pay.parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'idempotency-key', required: true }));
    expect(pay.requestBody.content['application/json']!.schema).toMatchObject({ type: 'object', required: ['amount'] });
    expect(Object.keys(pay.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '409', '422', '429', '500']) as string[]);
    expect(pay.responses['422']!.content['application/json']!.schema.required).toEqual(['error', 'code', 'timestamp', 'path']);
    expect(document.paths['/health']!.get!.parameters ?? []).not.toContainEqual(expect.objectContaining({ name: 'idempotency-key' }));
  });

  it('serves the Swagger UI at /docs', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/docs' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/html');
  });
});

describe('readiness when a component is down', () => {
  it('answers 503 naming the database when SQL is unreachable', async () => {
    const t = await testApp();
    try {
      await t.storage.sql.close();
      const response = await t.app.inject({ method: 'GET', url: '/health/ready' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ status: 'unhealthy', components: { database: 'unhealthy' } });
    } finally {
      await t.app.close();
    }
  });

  it.skipIf(!process.env.REDIS_URL)('answers 503 naming Redis when Redis is unreachable', async () => {
    const t = await testApp({ backend: 'redis', extraRoutes: [paymentsLike] });
    try {
      expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).json()).toMatchObject({ components: { redis: 'healthy' } });
      t.storage.redis!.disconnect();
      const response = await t.app.inject({ method: 'GET', url: '/health/ready' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ status: 'unhealthy', components: { redis: 'unhealthy', database: 'healthy' } });
    } finally {
      await t.app.close();
      await t.storage.close();
    }
  });

  it.skipIf(!process.env.REDIS_URL)('keeps answering queries without Redis but refuses commands it cannot make idempotent', async () => {
    const t = await testApp({ backend: 'redis', extraRoutes: [paymentsLike] });
    try {
      t.storage.redis!.disconnect();
      expect((await t.app.inject({ method: 'GET', url: '/info' })).statusCode).toBe(200);
      const command = await t.app.inject({
        method: 'POST',
        url: '/test/pay',
        headers: { ...(await bearer()), 'idempotency-key': randomUUID() },
        payload: { amount: 1 },
      });
      expect(command.statusCode).toBe(503);
      expect(command.json()).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    } finally {
      await t.app.close();
      await t.storage.close();
    }
  });
});
