import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { idempotencyRecordId, requestFingerprint } from '../../src/api/idempotency/idempotency-store.js';
import type { RouteModule } from '../../src/api/route.js';
import { cents } from '../../src/api/schemas.js';
import { TesseraError } from '../../src/errors.js';
import { bearer, reachableBackends, testApp, TEST_TENANT, type TestApp } from '../support/app.js';
import { eventually, gate, sleep } from '../support/poll.js';

const order = z.object({ amount: cents, note: z.string().optional() });
const placed = z.object({ orderId: z.string(), amount: cents, execution: z.number().int() });
type Behaviour = (execution: number) => Promise<void>;

/** A command route whose behaviour each test sets, counting how often it really runs. */
function orderRoutes(state: { executions: number; behaviour: Behaviour }): RouteModule {
  return {
    name: 'test-orders',
    register(api) {
      api.route({
        method: 'POST',
        url: '/test/orders/:orderId',
        summary: 'place a test order',
        auth: 'user',
        idempotent: true,
        params: z.object({ orderId: z.string() }),
        body: order,
        response: placed,
        status: 201,
        handler: async ({ params, body }) => {
          const execution = ++state.executions;
          await state.behaviour(execution);
          return { orderId: params.orderId, amount: body.amount, execution };
        },
      });
    },
  };
}

describe.each(reachableBackends())('idempotent command routes over HTTP (%s)', (backend) => {
  const state = { executions: 0, behaviour: (() => Promise.resolve()) as Behaviour };
  let t: TestApp;
  let auth: Record<string, string>;

  beforeAll(async () => {
    t = await testApp({ backend, extraRoutes: [orderRoutes(state)] });
    auth = await bearer({ sub: 'buyer-1' });
  });
  afterAll(() => t.close());
  beforeEach(() => {
    state.executions = 0;
    state.behaviour = () => Promise.resolve();
  });

  const post = (key: string | undefined, body: unknown, options: { orderId?: string; headers?: Record<string, string> } = {}) =>
    t.app.inject({
      method: 'POST',
      url: `/test/orders/${options.orderId ?? 'o-1'}`,
      headers: { ...auth, ...(key === undefined ? {} : { 'idempotency-key': key }), ...options.headers },
      payload: body as Record<string, unknown>,
    });

  it('requires an Idempotency-Key', async () => {
    const response = await post(undefined, { amount: 100 });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_MISSING' });
    expect(state.executions).toBe(0);
  });

  it.each(['not-a-uuid', '00000000-0000-0000-0000-000000000000', `${randomUUID()}x`])('refuses the key %s', async (key) => {
    const response = await post(key, { amount: 100 });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_INVALID' });
    expect(state.executions).toBe(0);
  });

  it('replays the stored response to a retry with the same key and body, running the command once', async () => {
    const key = randomUUID();
    const first = await post(key, { amount: 100, note: 'x' });
    const retry = await post(key, { note: 'x', amount: 100 });
    expect(first.statusCode).toBe(201);
    expect(retry.statusCode).toBe(201);
    expect(retry.body).toBe(first.body);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(state.executions).toBe(1);
  });

  it('accepts a key in upper case as the same key', async () => {
    const key = randomUUID();
    await post(key, { amount: 100 });
    const retry = await post(key.toUpperCase(), { amount: 100 });
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(state.executions).toBe(1);
  });

  it('refuses the same key with a different body, running nothing', async () => {
    const key = randomUUID();
    await post(key, { amount: 100 });
    const reused = await post(key, { amount: 101 });
    expect(reused.statusCode).toBe(422);
    expect(reused.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(state.executions).toBe(1);
  });

  it('refuses the same key and body sent to another resource', async () => {
    const key = randomUUID();
    await post(key, { amount: 100 }, { orderId: 'o-1' });
    const reused = await post(key, { amount: 100 }, { orderId: 'o-2' });
    expect(reused.json()).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(state.executions).toBe(1);
  });

  it('scopes keys by user and by tenant', async () => {
    const key = randomUUID();
    await post(key, { amount: 100 });
    const otherUser = await post(key, { amount: 100 }, { headers: await bearer({ sub: 'buyer-2' }) });
    const otherTenant = await post(key, { amount: 100 }, { headers: await bearer({ sub: 'buyer-1', tenantId: 'tenant-2' }) });
    expect([otherUser.statusCode, otherTenant.statusCode]).toEqual([201, 201]);
    expect(otherUser.headers['idempotent-replayed']).toBeUndefined();
    expect(state.executions).toBe(3);
  });

  it('stores a 4xx answer and replays it without running again', async () => {
    state.behaviour = () => Promise.reject(new TesseraError('FORBIDDEN', 'not your order'));
    const key = randomUUID();
    const first = await post(key, { amount: 100 });
    state.behaviour = () => Promise.resolve();
    const retry = await post(key, { amount: 100 });
    expect(first.statusCode).toBe(403);
    expect(retry.statusCode).toBe(403);
    expect(retry.body).toBe(first.body);
    expect(state.executions).toBe(1);
  });

  it('releases the key after a 5xx so a retry runs the command again', async () => {
    state.behaviour = (execution) => (execution === 1 ? Promise.reject(new Error('gateway timeout at 10.0.0.7')) : Promise.resolve());
    const key = randomUUID();
    const failed = await post(key, { amount: 100 });
    const retry = await post(key, { amount: 100 });
    expect(failed.statusCode).toBe(500);
    expect(failed.body).not.toContain('10.0.0.7');
    expect(retry.statusCode).toBe(201);
    expect(retry.json()).toMatchObject({ execution: 2 });
  });

  it('answers 409 to a duplicate that arrives while the first is still running', async () => {
    const hold = gate();
    state.behaviour = () => hold.promise;
    const key = randomUUID();
    const first = post(key, { amount: 100 });
    await eventually(() => (state.executions === 1 ? true : undefined));
    const duplicate = await post(key, { amount: 100 });
    hold.open();
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.json()).toMatchObject({ code: 'DUPLICATE_IN_PROGRESS' });
    expect(duplicate.headers['retry-after']).toBe('1');
    expect((await first).statusCode).toBe(201);
  });

  it('keeps the key while a request outlives its lease, by renewing it', async () => {
    // An app of its own with a short lease; the shared one keeps the default, so a loaded
    // machine cannot stretch a request past its lease in the other tests.
    const short = await testApp({ backend, extraRoutes: [orderRoutes(state)], env: { IDEMPOTENCY_LEASE_MS: '400' } });
    try {
      const hold = gate();
      state.behaviour = () => hold.promise;
      const key = randomUUID();
      const send = () => short.app.inject({ method: 'POST', url: '/test/orders/o-1', headers: { ...auth, 'idempotency-key': key }, payload: { amount: 100 } });
      const first = send();
      await eventually(() => (state.executions === 1 ? true : undefined));
      await sleep(1_000); // 2.5 leases of 400 ms
      const duplicate = await send();
      hold.open();
      expect(duplicate.json()).toMatchObject({ code: 'DUPLICATE_IN_PROGRESS' });
      expect((await first).statusCode).toBe(201);
      expect(state.executions).toBe(1);
    } finally {
      await short.close();
    }
  });

  it('lets a retry take over a key whose holder stopped renewing (a crash mid-request)', async () => {
    const key = randomUUID();
    const body = { amount: 100 };
    // A holder that claimed the key and died: nothing renews its lease.
    await t.edge.idempotency.claim({
      id: idempotencyRecordId(TEST_TENANT, 'user:buyer-1', key),
      fingerprint: requestFingerprint('POST', '/test/orders/:orderId', { params: { orderId: 'o-1' }, query: {}, body }),
      lease: randomUUID(),
      leaseMs: 100,
      ttlMs: 60_000,
    });
    const retry = await eventually(async () => {
      const response = await post(key, body);
      return response.statusCode === 409 ? undefined : response;
    });
    expect(retry.statusCode).toBe(201);
    expect(state.executions).toBe(1);
  });

  it('runs the command once for 100 parallel requests with one key', async () => {
    state.behaviour = () => sleep(20);
    const key = randomUUID();
    const responses = await Promise.all(Array.from({ length: 100 }, () => post(key, { amount: 5_000 })));
    expect(state.executions).toBe(1);
    const statuses = responses.map((response) => response.statusCode);
    expect(statuses.every((status) => status === 201 || status === 409)).toBe(true);
    const successes = responses.filter((response) => response.statusCode === 201);
    expect(new Set(successes.map((response) => response.body)).size).toBe(1);
    const replay = await post(key, { amount: 5_000 });
    expect(replay.body).toBe(successes[0]!.body);
    expect(state.executions).toBe(1);
  });
});
