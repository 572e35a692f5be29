import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentStreamId } from '../../../src/events/payment.js';
import { createSandboxGateway } from '../../../src/gateways/sandbox.js';
import { signToken, testApp, TEST_TENANT, type TestApp } from '../../support/app.js';
import { customerRefundsAccount } from '../../../src/projections/ledger/accounts.js';
import { accountEntries } from '../../../src/projections/ledger/queries.js';
import {
  authAs,
  BUYER,
  completedPurchase,
  paymentState,
  purchase,
  purchaseBody,
  refund,
  sqlBackends,
  venueAt,
  type ProcessAnswer,
} from '../../support/payments-http.js';
import { eventually } from '../../support/poll.js';

const SEED_FEES = { ticketPrice: 10_000, platformFee: 790, gasEstimate: 50, stateTax: 700, localTax: 225, total: 11_765 };

describe.each(sqlBackends())('payment commands over HTTP (%s)', (backend) => {
  let t: TestApp;
  let proVenue: string;

  beforeAll(async () => {
    t = await testApp({ backend, background: true });
    proVenue = await venueAt(t, { tierOverride: 'pro' });
  });
  afterAll(() => t.close());

  const sandbox = () => createSandboxGateway(t.storage.sql);

  it('charges the seed example: one $100 ticket at a Pro venue in Nashville is 11765', async () => {
    const response = await purchase(t, proVenue);
    expect(response.statusCode).toBe(200);
    const body = response.json<ProcessAnswer & { success: boolean; position: string }>();
    expect(body).toMatchObject({
      success: true,
      transaction: { amount: 11_765, currency: 'USD', status: 'completed', stripePaymentIntentId: expect.stringMatching(/^pi_sandbox_/) as string },
      fees: SEED_FEES,
    });
    expect(body.position).toMatch(/^\d+\/\d+$/);
    expect(body.transaction.pollPath).toBe(`/api/v1/payments/transaction/${body.transaction.id}`);
    const [intent] = await sandbox().intentsFor(body.transaction.id);
    expect(intent).toMatchObject({ captured: 11_765, status: 'succeeded' });
  });

  it('answers a declined card with 402 PAYMENT_FAILED, the reason and the transaction', async () => {
    const response = await purchase(t, proVenue, { paymentMethodId: 'pm_card_chargeDeclined' });
    expect(response.statusCode).toBe(402);
    const body = response.json<{ code: string; error: string; details: { transactionId: string } }>();
    expect(body).toMatchObject({
      code: 'PAYMENT_FAILED',
      error: 'Your card was declined.',
      path: '/api/v1/payments/process',
      details: { status: 'failed', gatewayCode: 'card_declined', declineCode: 'generic_decline' },
    });
    expect((await paymentState(t, body.details.transactionId)).status).toBe('failed');
  });

  it('refuses a purchase at an unknown venue with VENUE_NOT_FOUND and writes nothing', async () => {
    const key = randomUUID();
    const response = await purchase(t, randomUUID(), { key });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'VENUE_NOT_FOUND' });
  });

  it('replays the same answer to the same Idempotency-Key and charges once', async () => {
    const key = randomUUID();
    const first = await purchase(t, proVenue, { key });
    const retry = await purchase(t, proVenue, { key });
    expect(first.statusCode).toBe(200);
    expect(retry.statusCode).toBe(200);
    expect(retry.body).toBe(first.body);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    const { id } = first.json<ProcessAnswer>().transaction;
    expect(await sandbox().intentsFor(id)).toHaveLength(1);
    const types = (await t.storage.eventStore.readStream(paymentStreamId(id))).map((e) => e.type);
    expect(types.filter((type) => type === 'PaymentRequested')).toHaveLength(1);
  });

  it('gives two users who pick the same key two payments', async () => {
    const key = randomUUID();
    const mine = await completedPurchase(t, proVenue, { key });
    const theirs = await completedPurchase(t, proVenue, { key, headers: await authAs('user', 'buyer-2') });
    expect(theirs.id).not.toBe(mine.id);
  });

  it.each([
    ['a fraction of a cent', { price: 100.5 }, 'tickets.0.price'],
    ['a negative price', { price: -1 }, 'tickets.0.price'],
    ['a price as a string', { price: '100' }, 'tickets.0.price'],
    ['eleven tickets on a line', { quantity: 11 }, 'tickets.0.quantity'],
  ])('refuses %s with 422 naming the field', async (_case, change, field) => {
    const body = purchaseBody(proVenue);
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/payments/process',
      headers: { ...(await authAs()), 'idempotency-key': randomUUID() },
      payload: { ...body, tickets: [{ ...body.tickets[0], ...change }] },
    });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ code: 'VALIDATION_ERROR', errors: [expect.objectContaining({ field }) as object] });
  });

  it('answers 202 pending with the 3-D Secure action when the card needs the customer', async () => {
    const response = await purchase(t, proVenue, { paymentMethodId: 'pm_card_authenticationRequired' });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({
      transaction: { status: 'pending', nextAction: { type: 'authenticate', clientSecret: expect.any(String) as string } },
    });
  });

  it('refunds in part twice, then refuses a third refund that would exceed with REFUND_EXCEEDS_ORIGINAL', async () => {
    const { id } = await completedPurchase(t, proVenue);
    const first = await refund(t, id, { amount: 5_000 });
    const second = await refund(t, id, { amount: 5_000 });
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    expect(first.json()).toMatchObject({ success: true, refund: { amount: 5_000, status: 'pending' }, transaction: { id } });
    const third = await refund(t, id, { amount: 2_000 });
    expect(third.statusCode).toBe(400);
    expect(third.json()).toMatchObject({ code: 'REFUND_EXCEEDS_ORIGINAL', details: { refundable: 1_765 } });
    const state = await eventually(async () => {
      const s = await paymentState(t, id);
      return s.refunded === 10_000 ? s : undefined;
    });
    expect(state.status).toBe('partially_refunded');
    expect((await sandbox().intentsFor(id))[0]).toMatchObject({ refunded: 10_000 });
  });

  it('refunds everything that remains when no amount is given', async () => {
    const { id } = await completedPurchase(t, proVenue);
    await refund(t, id, { amount: 1_000 });
    const full = await refund(t, id);
    expect(full.json()).toMatchObject({ refund: { amount: 10_765 } });
    await eventually(async () => ((await paymentState(t, id)).status === 'refunded' ? true : undefined));
  });

  it("forbids a user to refund someone else's payment, and lets an admin", async () => {
    const { id } = await completedPurchase(t, proVenue);
    const stranger = await refund(t, id, { amount: 100, headers: await authAs('user', 'someone-else') });
    expect(stranger.statusCode).toBe(403);
    expect(stranger.json()).toMatchObject({ code: 'FORBIDDEN' });
    const admin = await refund(t, id, { amount: 100, headers: await authAs('admin') });
    expect(admin.statusCode).toBe(200);
  });

  it("books an admin's refund in the payment's tenant, to the buyer's own account", async () => {
    const { id } = await completedPurchase(t, proVenue);
    const platformAdmin = { authorization: `Bearer ${await signToken({ role: 'admin', sub: 'admin-9', tenantId: 'platform' })}` };
    expect((await refund(t, id, { amount: 1_000, headers: platformAdmin })).statusCode).toBe(200);
    const events = await eventually(async () => {
      const stored = await t.storage.eventStore.readStream(paymentStreamId(id));
      return stored.some((e) => e.type === 'RefundSucceeded') ? stored : undefined;
    });
    const refundEvents = events.filter((e) => e.type === 'RefundRequested' || e.type === 'RefundSucceeded');
    expect(refundEvents.map((e) => [e.metadata.tenantId, e.metadata.actor])).toEqual([
      [TEST_TENANT, 'admin:admin-9'],
      [TEST_TENANT, 'system:refund'],
    ]);
    // The ledger owes (and then paid) it to the buyer of the payment's tenant; nothing books under the admin's tenant.
    const ledger = await eventually(async () => {
      const entries = await accountEntries(t.tessera.readSide.db, customerRefundsAccount(TEST_TENANT, BUYER), { limit: 500, order: 'desc' });
      return entries.entries.filter((e) => e.streamId === paymentStreamId(id)).length === 2 ? entries : undefined;
    });
    expect(ledger).toBeDefined();
    const stray = await accountEntries(t.tessera.readSide.db, customerRefundsAccount('platform', BUYER), { limit: 10, order: 'desc' });
    expect(stray.entries).toEqual([]);
  });

  it('refuses a refund of an unknown transaction with 404 and of a float amount with 422', async () => {
    expect((await refund(t, randomUUID(), { amount: 100 })).json()).toMatchObject({ code: 'PAYMENT_NOT_FOUND' });
    const { id } = await completedPurchase(t, proVenue);
    const float = await refund(t, id, { amount: 10.5 });
    expect(float.statusCode).toBe(422);
    expect(float.json()).toMatchObject({ errors: [{ field: 'amount' }] });
  });

  it('never refunds more than was captured when 50 partial refunds race, refusing the rest with 4xx', async () => {
    const { id } = await completedPurchase(t, proVenue);
    const headers = await authAs();
    const answers = await Promise.all(Array.from({ length: 50 }, () => refund(t, id, { amount: 1_000, headers })));
    const statuses = answers.map((a) => a.statusCode);
    expect(statuses.every((s) => s < 500)).toBe(true);
    const accepted = answers.filter((a) => a.statusCode === 200);
    expect(accepted.length).toBeGreaterThan(0);
    expect(accepted.length * 1_000).toBeLessThanOrEqual(11_765);
    for (const refused of answers.filter((a) => a.statusCode !== 200)) {
      expect(['REFUND_EXCEEDS_ORIGINAL', 'CONCURRENCY_CONFLICT']).toContain(refused.json<{ code: string }>().code);
    }
    const state = await eventually(async () => {
      const s = await paymentState(t, id);
      return s.refundPending === 0 ? s : undefined;
    });
    expect(state.refunded).toBe(accepted.length * 1_000);
    expect((await sandbox().intentsFor(id))[0]!.refunded).toBe(state.refunded);
  });
});

describe('payment answers that wait for the gateway', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ background: true, env: { SANDBOX_LATENCY_MS: '400', PAYMENT_WAIT_MS: '50' } });
  });
  afterAll(() => t.close());

  it('answers 202 processing with where to poll when the gateway is slower than PAYMENT_WAIT_MS', async () => {
    const venueId = await venueAt(t, { tierOverride: 'pro' });
    const response = await purchase(t, venueId);
    expect(response.statusCode).toBe(202);
    const { transaction } = response.json<ProcessAnswer>();
    expect(transaction).toMatchObject({ status: expect.stringMatching(/^(pending|processing)$/) as string, amount: 11_765 });
    expect(transaction.pollPath).toBe(`/api/v1/payments/transaction/${transaction.id}`);
    await eventually(async () => ((await paymentState(t, transaction.id)).status === 'completed' ? true : undefined));
  });
});
