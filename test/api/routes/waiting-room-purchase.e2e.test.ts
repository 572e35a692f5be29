import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, testApp, type TestApp } from '../../support/app.js';
import { authAs, sqlBackends, venueAt, type ProcessAnswer } from '../../support/payments-http.js';
import { eventually } from '../../support/payments.js';

/**
 * A protected event's purchases through the API (issue 21): the venue switches the room on, a
 * buyer joins, is admitted, and buys with the token once; without it, with another's, or a second
 * time, the purchase is refused with nothing written; a retried request is answered as before.
 */
describe.each(sqlBackends())('buying for an event behind a waiting room (%s)', (backend) => {
  let t: TestApp;
  let venueId: string;

  beforeAll(async () => {
    t = await testApp({ backend, background: true, env: { WAITING_ROOM_TICK_MS: '50' } });
    venueId = await venueAt(t, { tierOverride: 'pro' });
  });
  afterAll(() => t.close());

  /** Purchases written for the event: the earlier cases' process managers may still be writing their own. */
  const eventCount = async (eventId: string) =>
    Number(
      (
        await t.storage.sql.query<{ n: string }>(
          "SELECT count(*)::text AS n FROM tessera_events WHERE event_type IN ('PaymentRequested', 'GroupPaymentCreated') AND data->>'eventId' = $1",
          [eventId],
        )
      ).rows[0]!.n,
    );

  async function protectedSale(room: Record<string, unknown> = {}) {
    const eventId = randomUUID();
    const ticketTypeId = randomUUID();
    const admin = await authAs('admin');
    const base = `/api/v1/venues/${venueId}/events/${eventId}`;
    expect((await t.app.inject({ method: 'PUT', url: `${base}/ticket-types/${ticketTypeId}`, headers: admin, payload: { name: 'Floor', price: 5_000, capacity: 10 } })).statusCode).toBe(201);
    const configured = await t.app.inject({ method: 'PUT', url: `${base}/waiting-room`, headers: admin, payload: { enabled: true, capacity: 5, releaseRate: 600, ...room } });
    expect(configured.statusCode, configured.body).toBe(200);
    return { eventId, ticketTypeId, base };
  }

  async function admitted(sale: { base: string }, user = `fan-${randomUUID()}`) {
    const joined = await t.app.inject({ method: 'POST', url: `${sale.base}/waiting-room/join`, headers: await bearer({ sub: user }) });
    expect(joined.statusCode, joined.body).toBe(200);
    const place = joined.json<{ status: string; token?: string }>();
    expect(place.status).toBe('admitted');
    return { user, token: place.token! };
  }

  async function buy(sale: { eventId: string; ticketTypeId: string }, user: string, options: { token?: string; key?: string; path?: string } = {}) {
    const path = options.path ?? '/api/v1/payments/process';
    const headers = { ...(await bearer({ sub: user })), 'idempotency-key': options.key ?? randomUUID(), ...(options.token ? { 'x-access-token': options.token } : {}) };
    const payload =
      path === '/api/v1/payments/process'
        ? { venueId, eventId: sale.eventId, tickets: [{ ticketTypeId: sale.ticketTypeId, quantity: 1 }], paymentMethod: { type: 'card', paymentMethodId: 'pm_card_visa' } }
        : {
            venueId,
            eventId: sale.eventId,
            ticketSelections: [{ ticketTypeId: sale.ticketTypeId, quantity: 2 }],
            members: [{ email: 'a@example.com', name: 'A', ticketCount: 2 }],
          };
    return t.app.inject({ method: 'POST', url: path, headers, payload });
  }

  it('refuses a purchase without a token with QUEUE_TOKEN_REQUIRED and writes nothing, and sells to an admitted buyer with theirs', async () => {
    const sale = await protectedSale();
    const before = await eventCount(sale.eventId);
    const bare = await buy(sale, 'fan-without-token');
    expect(bare.statusCode).toBe(403);
    expect(bare.json()).toMatchObject({ code: 'QUEUE_TOKEN_REQUIRED', path: '/api/v1/payments/process' });
    expect(await eventCount(sale.eventId)).toBe(before);

    const { user, token } = await admitted(sale);
    const bought = await buy(sale, user, { token });
    expect(bought.statusCode, bought.body).toBe(200);
    expect(bought.json<ProcessAnswer>().transaction.status).toBe('completed');
  });

  it('uses a token once: a second purchase with it is refused, a retry of the first is answered as before', async () => {
    const sale = await protectedSale();
    const { user, token } = await admitted(sale);
    const key = randomUUID();
    const first = await buy(sale, user, { token, key });
    expect(first.statusCode).toBe(200);
    const again = await buy(sale, user, { token });
    expect(again.statusCode).toBe(403);
    expect(again.json()).toMatchObject({ code: 'INVALID_ACCESS_TOKEN', details: { reason: 'used' } });
    const retried = await buy(sale, user, { token, key });
    expect(retried.statusCode).toBe(200);
    expect(retried.json<ProcessAnswer>().transaction.id).toBe(first.json<ProcessAnswer>().transaction.id);
    // Marked sold by the inventory's process manager, after the answer; a retry never counts again.
    const sold = async () =>
      (await t.app.inject({ method: 'GET', url: `${sale.base}/ticket-types`, headers: await authAs() })).json<{ ticketTypes: { sold: number; held: number }[] }>().ticketTypes[0]!;
    expect(await eventually(async () => ((await sold()).sold === 1 ? sold() : undefined))).toMatchObject({ sold: 1, held: 0 });
  });

  it("refuses another buyer's token, a token of another event, and a tampered one, charging nothing", async () => {
    const sale = await protectedSale();
    const other = await protectedSale();
    const owner = await admitted(sale);
    const elsewhere = await admitted(other);
    const before = await eventCount(sale.eventId);
    expect((await buy(sale, `thief-${randomUUID()}`, { token: owner.token })).json()).toMatchObject({ code: 'INVALID_ACCESS_TOKEN' });
    expect((await buy(sale, elsewhere.user, { token: elsewhere.token })).json()).toMatchObject({ code: 'INVALID_ACCESS_TOKEN' });
    const [head, body, signature] = owner.token.split('.') as [string, string, string];
    const tampered = `${head}.${body}.${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await buy(sale, owner.user, { token: tampered })).json()).toMatchObject({ code: 'INVALID_ACCESS_TOKEN' });
    expect((await buy(sale, owner.user, { token: `access_${sale.eventId}_1` })).json()).toMatchObject({ code: 'INVALID_ACCESS_TOKEN' });
    expect(await eventCount(sale.eventId)).toBe(before);
    expect((await buy(sale, owner.user, { token: owner.token })).statusCode).toBe(200);
  });

  it('keeps the token of a purchase refused for its limits, so the buyer can buy within them', async () => {
    const sale = await protectedSale();
    const { user, token } = await admitted(sale);
    const limits = await t.app.inject({
      method: 'PUT',
      url: `${sale.base}/purchase-limits`,
      headers: await authAs('admin'),
      payload: { perUser: 1, perPaymentMethod: 10, perAddress: 10, perOrder: 1 },
    });
    expect(limits.statusCode).toBe(200);
    const tooMany = await t.app.inject({
      method: 'POST',
      url: '/api/v1/payments/process',
      headers: { ...(await bearer({ sub: user })), 'idempotency-key': randomUUID(), 'x-access-token': token },
      payload: { venueId, eventId: sale.eventId, tickets: [{ ticketTypeId: sale.ticketTypeId, quantity: 2 }], paymentMethod: { type: 'card', paymentMethodId: 'pm_card_visa' } },
    });
    expect(tooMany.json()).toMatchObject({ code: 'PURCHASE_LIMIT_EXCEEDED', details: { limit: 'per_order' } });
    expect((await buy(sale, user, { token })).statusCode).toBe(200);
  });

  it('asks a group of a protected event for a token too, and lets purchases through again once the room is off', async () => {
    const sale = await protectedSale();
    expect((await buy(sale, 'organizer-1', { path: '/api/v1/group-payments/create' })).json()).toMatchObject({ code: 'QUEUE_TOKEN_REQUIRED' });
    const { user, token } = await admitted(sale);
    expect((await buy(sale, user, { token, path: '/api/v1/group-payments/create' })).statusCode).toBe(201);
    const off = await t.app.inject({ method: 'PUT', url: `${sale.base}/waiting-room`, headers: await authAs('admin'), payload: { enabled: false, capacity: 5, releaseRate: 600 } });
    expect(off.statusCode).toBe(200);
    expect((await buy(sale, `fan-${randomUUID()}`)).statusCode).toBe(200);
  });

  it("lets only the venue's managers and admins switch a room on, and refuses a draw without an opening time", async () => {
    const url = `/api/v1/venues/${venueId}/events/${randomUUID()}/waiting-room`;
    const payload = { enabled: true, capacity: 5, releaseRate: 60 };
    expect((await t.app.inject({ method: 'PUT', url, headers: await authAs(), payload })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'PUT', url, headers: await bearer({ sub: 'm-2', role: 'venue_manager', venues: [randomUUID()] }), payload })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'PUT', url, headers: await bearer({ sub: 'm-1', role: 'venue_manager', venues: [venueId] }), payload })).statusCode).toBe(200);
    const draw = await t.app.inject({ method: 'PUT', url, headers: await authAs('admin'), payload: { ...payload, order: 'draw' } });
    expect(draw.statusCode).toBe(422);
    expect(draw.json()).toMatchObject({ code: 'VALIDATION_ERROR', errors: [{ field: 'opensAt' }] });
  });
});
