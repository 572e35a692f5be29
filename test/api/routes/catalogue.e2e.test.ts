import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { internalHeaders, signToken, testApp, type TestApp } from '../../support/app.js';
import { authAs, BUYER, EVENT_ID, purchase, purchaseBody, sqlBackends, TICKET_TYPE_ID, ticketTypeAt, venueAt, type ProcessAnswer } from '../../support/payments-http.js';
import { context } from '../../support/payments.js';

const eventCount = async (t: TestApp) => Number((await t.storage.sql.query<{ n: string }>('SELECT count(*)::text AS n FROM tessera_events')).rows[0]!.n);

describe.each(sqlBackends())('the ticket catalogue (%s)', (backend) => {
  let t: TestApp;
  let venueId: string;

  beforeAll(async () => {
    t = await testApp({ backend, background: true });
    venueId = await venueAt(t, { tierOverride: 'pro' });
  });
  afterAll(() => t.close());

  const put = async (headers: Record<string, string>, options: { venue?: string; ticketTypeId?: string; body?: Record<string, unknown> } = {}) =>
    t.app.inject({
      method: 'PUT',
      url: `/api/v1/venues/${options.venue ?? venueId}/events/${EVENT_ID}/ticket-types/${options.ticketTypeId ?? randomUUID()}`,
      headers,
      payload: options.body ?? { name: 'Balcony', price: 7_500 },
    });

  it('charges the registered price, not the price a buyer sends, and writes nothing for a forged one', async () => {
    const key = randomUUID();
    const before = await eventCount(t);
    const forged = await t.app.inject({
      method: 'POST',
      url: '/api/v1/payments/process',
      headers: { ...(await authAs()), 'idempotency-key': key },
      payload: { ...purchaseBody(venueId), tickets: [{ ticketTypeId: TICKET_TYPE_ID, quantity: 1, price: 1 }] },
    });
    expect(forged.statusCode).toBe(409);
    expect(forged.json()).toMatchObject({ code: 'PRICE_MISMATCH', details: { ticketTypeId: TICKET_TYPE_ID, price: 10_000, expectedPrice: 1 } });
    expect(await eventCount(t)).toBe(before);

    const unpriced = await t.app.inject({
      method: 'POST',
      url: '/api/v1/payments/process',
      headers: { ...(await authAs()), 'idempotency-key': randomUUID() },
      payload: { ...purchaseBody(venueId), tickets: [{ ticketTypeId: TICKET_TYPE_ID, quantity: 1 }] },
    });
    expect(unpriced.statusCode).toBe(200);
    expect(unpriced.json<ProcessAnswer>().transaction.amount).toBe(11_765);
  });

  it('refuses a ticket type the event does not sell at this venue, even one another venue sells', async () => {
    const otherVenue = await venueAt(t);
    const elsewhere = await ticketTypeAt(t, otherVenue, 1_000, { ticketTypeId: randomUUID() });
    const before = await eventCount(t);
    for (const ticketTypeId of [randomUUID(), elsewhere]) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/payments/process',
        headers: { ...(await authAs()), 'idempotency-key': randomUUID() },
        payload: { ...purchaseBody(venueId), tickets: [{ ticketTypeId, quantity: 1 }] },
      });
      expect(response.statusCode).toBe(404);
      expect(response.json()).toMatchObject({ code: 'TICKET_TYPE_NOT_FOUND', details: { ticketTypeId } });
    }
    expect(await eventCount(t)).toBe(before);
  });

  it('refuses a purchase outside the sale window with TICKET_SALE_CLOSED', async () => {
    const later = await ticketTypeAt(t, venueId, 4_200, { ticketTypeId: randomUUID(), saleStartsAt: new Date(Date.now() + 3_600_000).toISOString() });
    const ended = await ticketTypeAt(t, venueId, 4_300, { ticketTypeId: randomUUID(), saleEndsAt: new Date(Date.now() - 1_000).toISOString() });
    for (const ticketTypeId of [later, ended]) {
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/payments/process',
        headers: { ...(await authAs()), 'idempotency-key': randomUUID() },
        payload: { ...purchaseBody(venueId), tickets: [{ ticketTypeId, quantity: 1 }] },
      });
      expect(response.statusCode).toBe(409);
      expect(response.json()).toMatchObject({ code: 'TICKET_SALE_CLOSED', details: { ticketTypeId } });
    }
  });

  it('prices purchases at a revised price from the revision on', async () => {
    const ticketTypeId = await ticketTypeAt(t, venueId, 2_000, { ticketTypeId: randomUUID() });
    await ticketTypeAt(t, venueId, 3_000, { ticketTypeId });
    const body = { ...purchaseBody(venueId), tickets: [{ ticketTypeId, quantity: 1, price: 2_000 }] };
    const stale = await t.app.inject({ method: 'POST', url: '/api/v1/payments/process', headers: { ...(await authAs()), 'idempotency-key': randomUUID() }, payload: body });
    expect(stale.json()).toMatchObject({ code: 'PRICE_MISMATCH', details: { price: 3_000 } });
    const current = await t.app.inject({
      method: 'POST',
      url: '/api/v1/payments/process',
      headers: { ...(await authAs()), 'idempotency-key': randomUUID() },
      payload: { ...body, tickets: [{ ticketTypeId, quantity: 1, price: 3_000 }] },
    });
    expect(current.json<ProcessAnswer>().fees.ticketPrice).toBe(3_000);
  });

  it('answers a retried purchase as it was recorded, though the price changed since', async () => {
    const ticketTypeId = await ticketTypeAt(t, venueId, 2_500, { ticketTypeId: randomUUID() });
    const input = { userId: BUYER, venueId, eventId: EVENT_ID, tickets: [{ ticketTypeId, quantity: 1, expectedPrice: 2_500 }], paymentMethod: { type: 'card' as const, paymentMethodId: 'pm_card_visa' } };
    const ctx = context();
    const first = await t.tessera.services.payments.processPayment(input, ctx);
    await ticketTypeAt(t, venueId, 2_600, { ticketTypeId });
    const again = await t.tessera.services.payments.processPayment(input, ctx);
    expect(again).toMatchObject({ paymentId: first.paymentId, replayed: true, fees: { ticketPrice: 2_500 } });
  });

  it('prices a group payment from the catalogue and refuses a forged price', async () => {
    const create = async (price?: number) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/group-payments/create',
        headers: { ...(await authAs()), 'idempotency-key': randomUUID() },
        payload: {
          venueId,
          eventId: EVENT_ID,
          ticketSelections: [{ ticketTypeId: TICKET_TYPE_ID, quantity: 2, ...(price === undefined ? {} : { price }) }],
          members: [{ email: 'a@example.com', name: 'A', ticketCount: 2 }],
        },
      });
    expect((await create(1)).json()).toMatchObject({ code: 'PRICE_MISMATCH' });
    const created = await create();
    expect(created.statusCode).toBe(201);
    // Two tickets at 10,000 at a Pro venue: 20,000 + 7.9% fee + gas + Nashville taxes.
    expect(created.json<{ groupPayment: { totalAmount: number } }>().groupPayment.totalAmount).toBe(23_530);
  });

  it("lets the venue's managers, admins and the ticket service register ticket types, and nobody else", async () => {
    const manager = { authorization: `Bearer ${await signToken({ role: 'venue_manager', sub: 'm-1', venues: [venueId] })}` };
    const otherManager = { authorization: `Bearer ${await signToken({ role: 'venue_manager', sub: 'm-2', venues: [randomUUID()] })}` };
    expect((await put(manager)).statusCode).toBe(201);
    expect((await put(await authAs('admin'))).statusCode).toBe(201);
    expect((await put(otherManager)).statusCode).toBe(403);
    expect((await put(await authAs('user'))).statusCode).toBe(403);

    const internal = async (service: string) => {
      const raw = JSON.stringify({ name: 'Floor', price: 9_000 });
      const url = `/internal/venues/${venueId}/events/${EVENT_ID}/ticket-types/${randomUUID()}`;
      return t.app.inject({ method: 'PUT', url, headers: internalHeaders('PUT', url, raw, service), payload: raw });
    };
    expect((await internal('ticket-service')).statusCode).toBe(201);
    expect((await internal('order-service')).statusCode).toBe(403);
  });

  it('refuses a ticket type for an unregistered venue, and repeats of the same terms write nothing', async () => {
    const unknown = await put(await authAs('admin'), { venue: randomUUID() });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'VENUE_NOT_FOUND' });
    const ticketTypeId = randomUUID();
    expect((await put(await authAs('admin'), { ticketTypeId })).json()).toMatchObject({ created: true, changed: true });
    const again = await put(await authAs('admin'), { ticketTypeId });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ created: false, changed: false, position: null });
  });

  it('lists the ticket types of an event at a venue to any signed-in user', async () => {
    const listed = await t.app.inject({ method: 'GET', url: `/api/v1/venues/${venueId}/events/${EVENT_ID}/ticket-types`, headers: await authAs() });
    expect(listed.statusCode).toBe(200);
    const { ticketTypes } = listed.json<{ ticketTypes: { ticketTypeId: string; price: number; currency: string }[] }>();
    expect(ticketTypes).toContainEqual(expect.objectContaining({ ticketTypeId: TICKET_TYPE_ID, price: 10_000, currency: 'USD' }));
    const empty = await t.app.inject({ method: 'GET', url: `/api/v1/venues/${venueId}/events/${randomUUID()}/ticket-types`, headers: await authAs() });
    expect(empty.json()).toMatchObject({ ticketTypes: [] });
  });
});

describe('a purchase through the test helpers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ background: true });
  });
  afterAll(() => t.close());

  it('buys at a registered price other than the default', async () => {
    const venueId = await venueAt(t);
    const response = await purchase(t, venueId, { price: 4_000 });
    expect(response.json<ProcessAnswer>().fees.ticketPrice).toBe(4_000);
  });
});
