import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { internalHeaders, testApp, type TestApp } from '../../support/app.js';
import { authAs, completedPurchase, purchase, sqlBackends, venueAt } from '../../support/payments-http.js';

const URL = '/internal/payment-complete';

/**
 * Seed 003 #16: the order service confirms that an order's payment completed. A read-only
 * confirmation: it answers the payment's transaction once captured, refuses otherwise.
 */
describe.each(sqlBackends())('POST /internal/payment-complete (%s)', (backend) => {
  let t: TestApp;
  let paidId: string;
  let declinedId: string;

  beforeAll(async () => {
    t = await testApp({ backend, background: true });
    const venueId = await venueAt(t, { tierOverride: 'pro' });
    paidId = (await completedPurchase(t, venueId)).id;
    const declined = await purchase(t, venueId, { paymentMethodId: 'pm_card_chargeDeclined' });
    declinedId = declined.json<{ details: { transactionId: string } }>().details.transactionId;
  });
  afterAll(() => t.close());

  const confirm = (body: unknown, service = 'order-service') => {
    const raw = JSON.stringify(body);
    return t.app.inject({ method: 'POST', url: URL, headers: internalHeaders('POST', URL, raw, service), payload: raw });
  };

  it('answers the order service the completed payment, with its transaction as the transaction query answers it', async () => {
    const orderId = randomUUID();
    const response = await confirm({ orderId, paymentId: paidId });
    expect(response.statusCode).toBe(200);
    const query = await t.app.inject({ method: 'GET', url: `/api/v1/payments/transaction/${paidId}`, headers: await authAs() });
    const transaction = query.json<{ transaction: Record<string, unknown> }>().transaction;
    expect(transaction).toMatchObject({ id: paidId, status: 'completed', captured: 11_765 });
    expect(response.json()).toEqual({ success: true, orderId, paymentId: paidId, transaction });
  });

  it('answers the same when the order service asks again', async () => {
    const orderId = randomUUID();
    const first = await confirm({ orderId, paymentId: paidId });
    const again = await confirm({ orderId, paymentId: paidId });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
  });

  it('refuses a payment that did not complete, saying its status', async () => {
    const response = await confirm({ orderId: randomUUID(), paymentId: declinedId });
    expect(response.statusCode, response.body).toBe(409);
    expect(response.json()).toMatchObject({ code: 'PAYMENT_NOT_COMPLETED', path: URL, details: { paymentId: declinedId, status: 'failed' } });
  });

  it('answers 404 for a payment it does not know', async () => {
    const paymentId = randomUUID();
    const response = await confirm({ orderId: randomUUID(), paymentId });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'PAYMENT_NOT_FOUND' });
  });

  it('refuses every other service, even signed', async () => {
    for (const service of ['ticket-service', 'notification-service']) {
      const response = await confirm({ orderId: randomUUID(), paymentId: paidId }, service);
      expect(response.statusCode).toBe(403);
      expect(response.json()).toMatchObject({ code: 'FORBIDDEN' });
    }
  });

  it('refuses an unsigned call, a user token and a signature over another body', async () => {
    const raw = JSON.stringify({ orderId: randomUUID(), paymentId: paidId });
    const unsigned = await t.app.inject({ method: 'POST', url: URL, headers: { 'content-type': 'application/json' }, payload: raw });
    expect(unsigned.statusCode).toBe(401);
    const asAdmin = await t.app.inject({ method: 'POST', url: URL, headers: { ...(await authAs('admin')), 'content-type': 'application/json' }, payload: raw });
    expect(asAdmin.statusCode).toBe(401);
    const other = JSON.stringify({ orderId: randomUUID(), paymentId: paidId });
    const tampered = await t.app.inject({ method: 'POST', url: URL, headers: internalHeaders('POST', URL, other, 'order-service'), payload: raw });
    expect(tampered.statusCode).toBe(401);
  });

  it('refuses a body without uuids', async () => {
    const response = await confirm({ orderId: 'order-1', paymentId: paidId });
    expect(response.statusCode).toBe(422);
    expect((await confirm({ paymentId: paidId })).statusCode).toBe(422);
  });
});
