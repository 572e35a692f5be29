import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, testApp, type TestApp } from '../support/app.js';

describe('requests in flight over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.close());

  it('counts none once requests of every outcome have been answered', async () => {
    const auth = await bearer();
    const key = randomUUID();
    const url = `/api/v1/payments/transaction/${randomUUID()}/refund`;
    const refund = (headers: Record<string, string>, payload: object = {}) => t.app.inject({ method: 'POST', url, headers, payload });
    const statuses = [
      (await t.app.inject({ method: 'GET', url: '/api/v1/me', headers: auth })).statusCode,
      (await t.app.inject({ method: 'GET', url: '/api/v1/me' })).statusCode,
      (await refund(auth)).statusCode,
      (await refund({ ...auth, 'idempotency-key': key }, { amount: -1 })).statusCode,
      (await refund({ ...auth, 'idempotency-key': key }, { amount: 1 })).statusCode,
      (await refund({ ...auth, 'idempotency-key': key }, { amount: 1 })).statusCode,
    ];
    // ok, no token, no key, invalid body, unknown payment, and that answer replayed
    expect(statuses).toEqual([200, 401, 400, 422, 404, 404]);
    expect(t.app.inFlight.count).toBe(0);
  });
});
