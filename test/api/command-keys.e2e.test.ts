import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from '../support/app.js';
import { authAs, EVENT_ID, purchase, TICKET_TYPE_ID, venueAt, type ProcessAnswer } from '../support/payments-http.js';
import { sleep } from '../support/poll.js';

/**
 * An Idempotency-Key's stored answer expires (here after a second), as Stripe's keys do; the same
 * key sent later to another route, for another resource or with another body must be another
 * command, not a replay of the first.
 */
describe('an Idempotency-Key reused once its answer has expired', () => {
  let t: TestApp;
  let venueId: string;
  beforeAll(async () => {
    t = await testApp({ background: true, env: { IDEMPOTENCY_SUCCESS_TTL_SECONDS: '1', IDEMPOTENCY_CLIENT_ERROR_TTL_SECONDS: '1' } });
    venueId = await venueAt(t);
  });
  afterAll(() => t.close());

  const expire = () => sleep(1_100);
  const post = async (url: string, key: string, payload: Record<string, unknown>) =>
    t.app.inject({ method: 'POST', url, headers: { ...(await authAs()), 'idempotency-key': key }, payload });

  it('refunds the payment a purchase under the same key made', async () => {
    const key = randomUUID();
    const bought = await purchase(t, venueId, { key });
    const paymentId = bought.json<ProcessAnswer>().transaction.id;
    await expire();
    const refunded = await post(`/api/v1/payments/transaction/${paymentId}/refund`, key, { amount: 100 });
    expect(refunded.statusCode, refunded.body).toBe(200);
    expect(refunded.json()).toMatchObject({ refund: { amount: 100, status: 'pending' } });
  });

  it('refunds a second payment under the key that refunded the first', async () => {
    const [first, second] = [
      (await purchase(t, venueId)).json<ProcessAnswer>().transaction.id,
      (await purchase(t, venueId)).json<ProcessAnswer>().transaction.id,
    ];
    const key = randomUUID();
    expect((await post(`/api/v1/payments/transaction/${first}/refund`, key, { amount: 100 })).statusCode).toBe(200);
    await expire();
    const again = await post(`/api/v1/payments/transaction/${second}/refund`, key, { amount: 100 });
    expect(again.statusCode, again.body).toBe(200);
    const events = await t.storage.eventStore.readStream(`payment-${second}`);
    expect(events.map((e) => e.type)).toContain('RefundRequested');
  });

  it('opens a group under a purchase\'s key, and cancels it under the key that opened it', async () => {
    const key = randomUUID();
    await purchase(t, venueId, { key });
    await expire();
    const group = {
      venueId,
      eventId: EVENT_ID,
      ticketSelections: [{ ticketTypeId: TICKET_TYPE_ID, quantity: 1 }],
      members: [{ email: 'a@example.com', name: 'A', ticketCount: 1 }],
    };
    const created = await post('/api/v1/group-payments/create', key, group);
    expect(created.statusCode, created.body).toBe(201);
    const groupId = created.json<{ groupPayment: { id: string } }>().groupPayment.id;
    await expire();
    const cancelled = await post(`/api/v1/group-payments/${groupId}/cancel`, key, {});
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json()).toMatchObject({ group: { status: 'cancelled' } });
  });

  it('makes another purchase under the same key with another body, not the first one answered again', async () => {
    const key = randomUUID();
    const first = (await purchase(t, venueId, { key })).json<ProcessAnswer>().transaction;
    await expire();
    const second = await purchase(t, venueId, { key, quantity: 2 });
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json<ProcessAnswer>().transaction).toMatchObject({ status: 'completed' });
    expect(second.json<ProcessAnswer>().transaction.id).not.toBe(first.id);
    expect(second.json<ProcessAnswer>().fees.ticketPrice).toBe(20_000);
  });
});
