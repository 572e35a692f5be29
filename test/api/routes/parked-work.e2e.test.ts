import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxGateway } from '../../../src/gateways/sandbox.js';
import { openTestStorage, testApp, type TestApp, type TestStorage } from '../../support/app.js';
import { flaky, type FlakyGateway } from '../../support/gateways.js';
import { authAs, paymentState, purchase, venueAt, type ProcessAnswer } from '../../support/payments-http.js';
import { eventually } from '../../support/poll.js';

interface Parked {
  id: string;
  source: string;
  item: Record<string, unknown>;
  error: string;
  attempts: number;
  resolvedAt: string | null;
}

describe('parked work over HTTP', () => {
  let shared: TestStorage;
  let gateway: FlakyGateway;
  let t: TestApp;
  let venueId: string;

  beforeAll(async () => {
    shared = await openTestStorage('pglite');
    gateway = flaky(createSandboxGateway(shared.storage.sql));
    // One attempt, then parked: a gateway outage parks the purchase at once.
    t = await testApp({ shared, gateway, background: true, env: { PM_MAX_ATTEMPTS: '1', PAYMENT_WAIT_MS: '200' } });
    venueId = await venueAt(t, { tierOverride: 'pro' });
  });
  afterAll(async () => {
    await t.close();
    await shared.cleanup();
  });

  const list = async (query = '') =>
    (await t.app.inject({ method: 'GET', url: `/admin/parked${query}`, headers: await authAs('admin') })).json<{ items: Parked[]; count: number }>();

  const retry = async (id: string, headers?: Record<string, string>) =>
    t.app.inject({
      method: 'POST',
      url: `/admin/parked/${encodeURIComponent(id)}/retry`,
      headers: { ...(headers ?? (await authAs('admin'))), 'idempotency-key': randomUUID() },
    });

  /** A purchase whose gateway call failed and was parked; answers the payment and its parked item. */
  async function parkedPurchase(failures: number): Promise<{ paymentId: string; parked: Parked }> {
    gateway.failNext(failures);
    const response = await purchase(t, venueId);
    expect(response.statusCode).toBe(202);
    const paymentId = response.json<ProcessAnswer>().transaction.id;
    const parked = await eventually(async () =>
      (await list()).items.find((item) => item.source === 'pm:purchase' && (item.item.streamId as string).endsWith(paymentId)),
    );
    return { paymentId, parked };
  }

  it('lists a purchase the gateway failed, and completes it when an admin retries it', async () => {
    const { paymentId, parked } = await parkedPurchase(1);
    expect(parked).toMatchObject({ item: { type: 'PaymentSubmitted' }, attempts: 1, resolvedAt: null });
    expect(parked.error).toContain('simulated gateway outage');

    const retried = await retry(parked.id);
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toMatchObject({ id: parked.id, resolvedAt: expect.any(String) as string });
    expect((await paymentState(t, paymentId)).status).toBe('completed');
    expect((await list()).items.map((item) => item.id)).not.toContain(parked.id);
    expect((await list('?includeResolved=true')).items.map((item) => item.id)).toContain(parked.id);
  });

  it('keeps an item parked with its new error when the retry fails too', async () => {
    const { paymentId, parked } = await parkedPurchase(2);
    const failed = await retry(parked.id);
    expect(failed.statusCode).toBe(200);
    expect(failed.json()).toMatchObject({ resolvedAt: null, attempts: 2, error: expect.stringContaining('simulated gateway outage') as string });
    expect((await retry(parked.id)).json()).toMatchObject({ resolvedAt: expect.any(String) as string });
    expect((await paymentState(t, paymentId)).status).toBe('completed');
  });

  it('is for admins only, and answers 404 for an id it does not hold', async () => {
    const user = await authAs('user');
    expect((await t.app.inject({ method: 'GET', url: '/admin/parked', headers: user })).statusCode).toBe(403);
    expect((await retry('pm:purchase:nothing', user)).statusCode).toBe(403);
    const unknown = await retry('pm:purchase:nothing');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'PARKED_WORK_NOT_FOUND' });
  });
});
