import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken, testApp, type TestApp } from '../../support/app.js';
import { authAs, EVENT_ID, sqlBackends, venueAt, type ProcessAnswer } from '../../support/payments-http.js';
import { eventually } from '../../support/payments.js';

/**
 * Capacity and seed 003's purchase limits (issue 21) through the API: every refused buyer is told
 * why, nothing is charged for them, and tickets come back when a purchase fails, a group is
 * cancelled or a payment is refunded in full. The default limits are on here (PURCHASE_LIMITS).
 */
describe.each(sqlBackends())('capacity and purchase limits (%s)', (backend) => {
  let t: TestApp;
  let venueId: string;

  beforeAll(async () => {
    t = await testApp({ backend, background: true, env: { PURCHASE_LIMITS: 'true', PAYMENT_WAIT_MS: '60000' } });
    venueId = await venueAt(t, { tierOverride: 'pro' });
  });
  afterAll(() => t.close());

  /** A ticket type of an event of its own (so every case has its own limits), with a capacity. */
  async function onSale(options: { capacity?: number; eventId?: string } = {}) {
    const eventId = options.eventId ?? randomUUID();
    const ticketTypeId = randomUUID();
    const response = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/venues/${venueId}/events/${eventId}/ticket-types/${ticketTypeId}`,
      headers: await authAs('admin'),
      payload: { name: 'Floor', price: 5_000, ...(options.capacity === undefined ? {} : { capacity: options.capacity }) },
    });
    expect(response.statusCode).toBe(201);
    return { eventId, ticketTypeId };
  }

  const as = async (sub: string) => ({ authorization: `Bearer ${await signToken({ role: 'user', sub })}` });

  async function buy(
    sale: { eventId: string; ticketTypeId: string },
    options: { user?: string; quantity?: number; card?: string; ip?: string; key?: string } = {},
  ): Promise<LightMyRequestResponse> {
    return t.app.inject({
      method: 'POST',
      url: '/api/v1/payments/process',
      headers: { ...(await as(options.user ?? `buyer-${randomUUID()}`)), 'idempotency-key': options.key ?? randomUUID() },
      remoteAddress: options.ip ?? `10.${rand()}.${rand()}.${rand()}`,
      payload: {
        venueId,
        eventId: sale.eventId,
        tickets: [{ ticketTypeId: sale.ticketTypeId, quantity: options.quantity ?? 1 }],
        paymentMethod: { type: 'card', paymentMethodId: options.card ?? `pm_card_visa--${randomUUID()}` },
      },
    });
  }

  async function ticketType(sale: { eventId: string; ticketTypeId: string }) {
    const response = await t.app.inject({ method: 'GET', url: `/api/v1/venues/${venueId}/events/${sale.eventId}/ticket-types`, headers: await authAs() });
    expect(response.statusCode).toBe(200);
    return response.json<{ ticketTypes: { ticketTypeId: string; capacity?: number; sold: number; held: number; remaining: number | null }[] }>().ticketTypes.find(
      (type) => type.ticketTypeId === sale.ticketTypeId,
    )!;
  }

  /** The ticket type once the inventory's process manager has marked `sold` tickets sold (it runs after the answer). */
  const soldOut = (sale: { eventId: string; ticketTypeId: string }, sold: number) =>
    eventually(async () => {
      const type = await ticketType(sale);
      return type.sold === sold ? type : undefined;
    });

  /** Gateway charges for the event, counted from the payments' own events. */
  async function capturesFor(eventId: string): Promise<number> {
    const { rows } = await t.storage.sql.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM tessera_events c
       JOIN tessera_events r ON r.stream_id = c.stream_id AND r.event_type = 'PaymentRequested'
       WHERE c.event_type = 'PaymentCaptured' AND r.data->>'eventId' = $1`,
      [eventId],
    );
    return Number(rows[0]!.n);
  }

  it('sells exactly 100 tickets to 200 buyers racing for a capacity of 100, charges each once, and tells every refused buyer it is sold out', async () => {
    const sale = await onSale({ capacity: 100 });
    const answers = await Promise.all(Array.from({ length: 200 }, () => buy(sale)));
    const sold = answers.filter((a) => a.statusCode === 200);
    const refused = answers.filter((a) => a.statusCode !== 200);
    expect(sold).toHaveLength(100);
    expect(sold.every((a) => a.json<ProcessAnswer>().transaction.status === 'completed')).toBe(true);
    expect(refused.map((a) => [a.statusCode, a.json<{ code: string }>().code])).toEqual(Array.from({ length: 100 }, () => [409, 'SOLD_OUT']));
    expect(refused[0]!.json()).toMatchObject({ code: 'SOLD_OUT', details: { ticketTypeId: sale.ticketTypeId, remaining: 0 }, path: '/api/v1/payments/process' });
    expect(await capturesFor(sale.eventId)).toBe(100);
    await eventually(async () => ((await ticketType(sale)).sold === 100 ? true : undefined));
    expect(await ticketType(sale)).toMatchObject({ capacity: 100, sold: 100, held: 0, remaining: 0 });
    // 200 purchases at once take the embedded database a while on a busy machine.
  }, 120_000);

  it('gives back the tickets of a declined card, so the next buyer gets them', async () => {
    const sale = await onSale({ capacity: 2 });
    const declined = await buy(sale, { quantity: 2, card: 'pm_card_chargeDeclined' });
    expect(declined.statusCode).toBe(402);
    await eventually(async () => ((await ticketType(sale)).remaining === 2 ? true : undefined));
    expect((await buy(sale, { quantity: 2 })).statusCode).toBe(200);
    expect(await soldOut(sale, 2)).toMatchObject({ sold: 2, held: 0, remaining: 0 });
    expect((await buy(sale)).json()).toMatchObject({ code: 'SOLD_OUT' });
  });

  it('answers a retried purchase as the first time, even once the last ticket is gone', async () => {
    const sale = await onSale({ capacity: 1 });
    const key = randomUUID();
    const user = `buyer-${randomUUID()}`;
    const first = await buy(sale, { key, user, card: 'pm_card_visa', ip: '10.9.9.9' });
    expect(first.statusCode).toBe(200);
    const again = await buy(sale, { key, user, card: 'pm_card_visa', ip: '10.9.9.9' });
    expect(again.statusCode).toBe(200);
    expect(again.json<ProcessAnswer>().transaction.id).toBe(first.json<ProcessAnswer>().transaction.id);
    expect(await soldOut(sale, 1)).toMatchObject({ sold: 1, remaining: 0 });
  });

  it('checks a purchase retried after its first attempt failed like a new one, so the retry cannot take a ticket already sold', async () => {
    const sale = await onSale({ capacity: 1 });
    // The next purchase's write fails once (the store went away between the reservation and the
    // append). A sequence counts the attempts: it is not rolled back with the failed write.
    for (const statement of [
      'DROP SEQUENCE IF EXISTS test_request_writes',
      'CREATE SEQUENCE test_request_writes',
      `CREATE OR REPLACE FUNCTION test_fail_first_request() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.event_type = 'PaymentRequested' AND nextval('test_request_writes') = 1 THEN
           RAISE EXCEPTION 'the store went away';
         END IF;
         RETURN NEW;
       END $$`,
      'DROP TRIGGER IF EXISTS test_fail_first_request ON tessera_events',
      'CREATE TRIGGER test_fail_first_request BEFORE INSERT ON tessera_events FOR EACH ROW EXECUTE FUNCTION test_fail_first_request()',
    ]) {
      await t.storage.sql.query(statement);
    }
    try {
      const key = randomUUID();
      const alice = `buyer-${randomUUID()}`;
      const failed = await buy(sale, { user: alice, key, card: 'pm_card_visa', ip: '10.1.1.1' });
      expect(failed.statusCode).toBe(500);
      expect(await ticketType(sale)).toMatchObject({ held: 0, remaining: 1 });
      expect((await buy(sale)).statusCode).toBe(200);
      const retried = await buy(sale, { user: alice, key, card: 'pm_card_visa', ip: '10.1.1.1' });
      expect(retried.statusCode).toBe(409);
      expect(retried.json()).toMatchObject({ code: 'SOLD_OUT' });
      expect(await capturesFor(sale.eventId)).toBe(1);
      expect(await soldOut(sale, 1)).toMatchObject({ sold: 1, held: 0, remaining: 0 });
    } finally {
      await t.storage.sql.query('DROP TRIGGER IF EXISTS test_fail_first_request ON tessera_events');
    }
  });

  it('holds a group\'s tickets from its creation and gives them back when it is cancelled', async () => {
    const sale = await onSale({ capacity: 3 });
    const organizer = await as(`organizer-${randomUUID()}`);
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/group-payments/create',
      headers: { ...organizer, 'idempotency-key': randomUUID() },
      payload: {
        venueId,
        eventId: sale.eventId,
        ticketSelections: [{ ticketTypeId: sale.ticketTypeId, quantity: 3 }],
        members: [
          { email: 'a@example.com', name: 'A', ticketCount: 2 },
          { email: 'b@example.com', name: 'B', ticketCount: 1 },
        ],
      },
    });
    expect(created.statusCode).toBe(201);
    expect(await ticketType(sale)).toMatchObject({ held: 3, remaining: 0 });
    expect((await buy(sale)).json()).toMatchObject({ code: 'SOLD_OUT' });
    const groupId = created.json<{ groupPayment: { id: string } }>().groupPayment.id;
    const cancelled = await t.app.inject({
      method: 'POST',
      url: `/api/v1/group-payments/${groupId}/cancel`,
      headers: { ...organizer, 'idempotency-key': randomUUID() },
      payload: { reason: 'plans changed' },
    });
    expect(cancelled.statusCode).toBe(200);
    await eventually(async () => ((await ticketType(sale)).remaining === 3 ? true : undefined));
  });

  it('refuses an order of 5 tickets by the default limit of 4 per order, naming the limit', async () => {
    const sale = await onSale();
    const response = await buy(sale, { quantity: 5 });
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ code: 'PURCHASE_LIMIT_EXCEEDED', details: { limit: 'per_order', max: 4 } });
    expect((await buy(sale, { quantity: 4 })).statusCode).toBe(200);
  });

  it('holds one user to 4 tickets across concurrent orders, and a full refund gives the allowance back', async () => {
    const sale = await onSale();
    const user = `buyer-${randomUUID()}`;
    const answers = await Promise.all(Array.from({ length: 6 }, () => buy(sale, { user })));
    expect(answers.filter((a) => a.statusCode === 200)).toHaveLength(4);
    const refused = answers.filter((a) => a.statusCode !== 200);
    expect(refused.map((a) => a.statusCode)).toEqual([403, 403]);
    for (const answer of refused) {
      expect(answer.json()).toMatchObject({ code: 'PURCHASE_LIMIT_EXCEEDED', details: { limit: 'per_user', max: 4, remaining: 0 } });
    }
    const paid = answers.find((a) => a.statusCode === 200)!.json<ProcessAnswer>().transaction.id;
    const refunded = await t.app.inject({
      method: 'POST',
      url: `/api/v1/payments/transaction/${paid}/refund`,
      headers: { ...(await as(user)), 'idempotency-key': randomUUID() },
      payload: { reason: 'cannot make it' },
    });
    expect(refunded.statusCode).toBe(200);
    await eventually(async () => ((await buy(sale, { user })).statusCode === 200 ? true : undefined));
    expect((await buy(sale, { user })).json()).toMatchObject({ details: { limit: 'per_user' } });
  });

  it('holds one payment method to 4 tickets whoever pays with it, when their orders race', async () => {
    const sale = await onSale();
    const card = `pm_card_visa--${randomUUID()}`;
    const answers = await Promise.all(Array.from({ length: 6 }, () => buy(sale, { card })));
    expect(answers.filter((a) => a.statusCode === 200)).toHaveLength(4);
    expect(answers.filter((a) => a.statusCode === 403).map((a) => a.json<{ details: { limit: string } }>().details.limit)).toEqual(['per_payment_method', 'per_payment_method']);
  });

  it('holds one address to 8 tickets across users and cards, counting an IPv6 /64 as one address, when their orders race', async () => {
    const sale = await onSale();
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => buy(sale, { ip: `2001:db8:1:2::${i + 1}` })));
    expect(answers.filter((a) => a.statusCode === 200)).toHaveLength(8);
    expect(answers.filter((a) => a.statusCode === 403).map((a) => a.json<{ details: { limit: string } }>().details.limit)).toEqual(['per_address', 'per_address']);
    expect((await buy(sale, { ip: '10.200.0.1' })).statusCode).toBe(200);
  });

  it("lets a venue raise an event's limits, and reads back which limits apply", async () => {
    const sale = await onSale();
    const url = `/api/v1/venues/${venueId}/events/${sale.eventId}/purchase-limits`;
    expect((await t.app.inject({ method: 'GET', url, headers: await authAs() })).json()).toMatchObject({ source: 'default', limits: { perUser: 4, perPaymentMethod: 4, perAddress: 8, perOrder: 4 } });
    const forbidden = await t.app.inject({ method: 'PUT', url, headers: await authAs(), payload: { perUser: 10, perPaymentMethod: 10, perAddress: 10, perOrder: 10 } });
    expect(forbidden.statusCode).toBe(403);
    const invalid = await t.app.inject({ method: 'PUT', url, headers: await authAs('admin'), payload: { perUser: 0, perPaymentMethod: 10, perAddress: 10, perOrder: 1.5 } });
    expect(invalid.statusCode).toBe(422);
    const set = await t.app.inject({ method: 'PUT', url, headers: await authAs('admin'), payload: { perUser: 10, perPaymentMethod: 10, perAddress: 10, perOrder: 6 } });
    expect(set.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url, headers: await authAs() })).json()).toMatchObject({ source: 'event', limits: { perOrder: 6 } });
    expect((await buy(sale, { quantity: 6 })).statusCode).toBe(200);
    expect((await buy(sale, { quantity: 7 })).json()).toMatchObject({ details: { limit: 'per_order', max: 6 } });
  });

  it('keeps a capacity when a ticket type is saved without one, and removes it only when told to', async () => {
    const sale = await onSale({ capacity: 3 });
    const url = `/api/v1/venues/${venueId}/events/${sale.eventId}/ticket-types/${sale.ticketTypeId}`;
    const repriced = await t.app.inject({ method: 'PUT', url, headers: await authAs('admin'), payload: { name: 'Floor', price: 5_500 } });
    expect(repriced.json()).toMatchObject({ ticketType: { price: 5_500, capacity: 3 }, changed: true });
    expect(await ticketType(sale)).toMatchObject({ capacity: 3, remaining: 3 });
    const lifted = await t.app.inject({ method: 'PUT', url, headers: await authAs('admin'), payload: { name: 'Floor', price: 5_500, capacity: null } });
    expect(lifted.statusCode).toBe(200);
    expect((await ticketType(sale)).remaining).toBeNull();
  });

  it('refuses a capacity that is not a whole number of tickets, and a purchase over what is left, with nothing written', async () => {
    const bad = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/venues/${venueId}/events/${EVENT_ID}/ticket-types/${randomUUID()}`,
      headers: await authAs('admin'),
      payload: { name: 'Floor', price: 5_000, capacity: -1 },
    });
    expect(bad.statusCode).toBe(422);
    const sale = await onSale({ capacity: 3 });
    expect((await buy(sale, { quantity: 2 })).statusCode).toBe(200);
    const over = await buy(sale, { quantity: 2 });
    expect(over.statusCode).toBe(409);
    expect(over.json()).toMatchObject({ code: 'SOLD_OUT', details: { remaining: 1 } });
    expect(await capturesFor(sale.eventId)).toBe(1);
  });
});

const rand = () => Math.floor(Math.random() * 250) + 1;

describe('purchase limits with fraud screening on', () => {
  let t: TestApp;
  let venueId: string;
  beforeAll(async () => {
    t = await testApp({ background: true, env: { PURCHASE_LIMITS: 'true', FRAUD_CHECKS: 'true' } });
    venueId = await venueAt(t, { tierOverride: 'pro' });
  });
  afterAll(() => t.close());

  it("holds a buyer to the event's own per-user limit, not to the screening's default cap of 4", async () => {
    const eventId = randomUUID();
    const ticketTypeId = randomUUID();
    const admin = await authAs('admin');
    await t.app.inject({ method: 'PUT', url: `/api/v1/venues/${venueId}/events/${eventId}/ticket-types/${ticketTypeId}`, headers: admin, payload: { name: 'Floor', price: 5_000 } });
    const limits = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/venues/${venueId}/events/${eventId}/purchase-limits`,
      headers: admin,
      payload: { perUser: 8, perPaymentMethod: 8, perAddress: 8, perOrder: 6 },
    });
    expect(limits.statusCode).toBe(200);
    const buy = async (quantity: number) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/payments/process',
        headers: { ...(await authAs()), 'idempotency-key': randomUUID() },
        payload: { venueId, eventId, tickets: [{ ticketTypeId, quantity }], paymentMethod: { type: 'card', paymentMethodId: 'pm_card_visa' } },
      });
    expect((await buy(6)).statusCode).toBe(200);
    const over = await buy(3);
    expect(over.statusCode).toBe(403);
    expect(over.json()).toMatchObject({ code: 'PURCHASE_LIMIT_EXCEEDED', details: { limit: 'per_user', max: 8, remaining: 2 } });

    // A cap the tenant's fraud team sets itself still holds where it is lower than the event's limit.
    const strict = await t.app.inject({ method: 'PUT', url: `/admin/risk/thresholds/event:${eventId}`, headers: admin, payload: { ticketsPerEventPerUser: 2 } });
    expect(strict.statusCode, strict.body).toBe(200);
    const capped = await t.app.inject({
      method: 'POST',
      url: '/api/v1/payments/process',
      headers: { ...(await authAs('user', `buyer-${randomUUID()}`)), 'idempotency-key': randomUUID() },
      remoteAddress: '10.77.0.1',
      payload: { venueId, eventId, tickets: [{ ticketTypeId, quantity: 3 }], paymentMethod: { type: 'card', paymentMethodId: 'pm_card_mastercard' } },
    });
    expect(capped.statusCode).toBe(403);
    expect(capped.json()).toMatchObject({ code: 'PURCHASE_LIMIT_EXCEEDED' });
    expect(capped.json<{ details: { limit?: string } }>().details.limit).toBeUndefined();
  });
});
