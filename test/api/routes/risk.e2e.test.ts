import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken, testApp, TEST_TENANT, type TestApp } from '../../support/app.js';
import { authAs, EVENT_ID, paymentState, purchaseBody, ticketTypeAt, ticketTypeFor, venueAt } from '../../support/payments-http.js';
import { eventually } from '../../support/poll.js';
import { ticketIdFor } from '../../../src/domain/ids.js';
import { mintStatusOf } from '../../../src/projections/mint-status.js';
import { listingIdFor, listingHandler } from '../../../src/commands/escrow.js';

/** A session a person leaves: a wandering pointer, uneven pauses, a few seconds to check out. */
const humanSession = () => ({
  actions: Array.from({ length: 12 }, (_, i) => ({
    type: i % 4 === 3 ? 'click' : 'mousemove',
    t: 400 + i * 350 + ((i * 137) % 260),
    x: 100 + i * 23 + ((i * 53) % 40),
    y: 200 + ((i * 71) % 90),
  })),
  browserFeatures: { webdriver: false, userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', languages: 2, plugins: 3 },
});

interface Buyer {
  readonly sub: string;
  readonly ip: string;
  readonly card: string;
  readonly device: string;
}

const newBuyer = (overrides: Partial<Buyer> = {}): Buyer => ({
  sub: `fan-${randomUUID()}`,
  ip: `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`,
  card: `pm_card_visa--${randomUUID()}`,
  device: `device-${randomUUID()}`,
  ...overrides,
});

describe('fraud screening of purchases (issue 20), on PGlite with the SQL feature store', () => {
  let t: TestApp;
  let venueId: string;

  beforeAll(async () => {
    t = await testApp({
      background: true,
      env: { FRAUD_CHECKS: 'true', TRUST_PROXY: '1', FRAUD_REVIEW_TIMEOUT_MS: '4000', DEADLINE_POLL_MS: '50', MINT_POLL_MS: '20', ESCROW_TRANSFER_CHECK_MS: '20' },
    });
    venueId = await venueAt(t);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  const buy = async (buyer: Buyer, options: { quantity?: number; session?: Record<string, unknown>; card?: string } = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/api/v1/payments/process',
      headers: { ...(await authAs('user', buyer.sub)), 'idempotency-key': randomUUID(), 'x-forwarded-for': buyer.ip },
      payload: {
        ...purchaseBody(venueId, { quantity: options.quantity ?? 1, paymentMethodId: options.card ?? buyer.card }),
        deviceFingerprint: buyer.device,
        sessionData: options.session ?? humanSession(),
      },
    });

  const admin = async (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, payload?: Record<string, unknown>) =>
    t.app.inject({ method, url, headers: { ...(await authAs('admin')), 'idempotency-key': randomUUID() }, ...(payload === undefined ? {} : { payload }) });

  /** Lets a buyer buy more than the per-event cap, to reach the other limits. */
  const liftEventCap = async () => {
    const response = await admin('PUT', `/admin/risk/thresholds/event:${EVENT_ID}`, { ticketsPerEventPerUser: 1000 });
    expect(response.statusCode, response.body).toBe(200);
  };

  it('approves an ordinary purchase and records its assessment', async () => {
    const response = await buy(newBuyer());
    expect(response.statusCode, response.body).toBe(200);
    const paymentId = response.json<{ transaction: { id: string } }>().transaction.id;
    const assessment = await eventually(async () => {
      const found = await admin('GET', `/admin/risk/assessments/${paymentId}`);
      return found.statusCode === 200 ? found.json<{ decision: string; score: number; modelVersion: string }>() : undefined;
    });
    expect(assessment).toMatchObject({ decision: 'approve', modelVersion: 'fraud-v1' });
  });

  it('stops one user buying 120 tickets to one event in 6 orders: the first order over 4 tickets is refused', async () => {
    const buyer = newBuyer();
    const answers = [];
    for (let order = 0; order < 6; order++) answers.push((await buy(buyer, { quantity: 10 })).statusCode);
    expect(answers).toEqual([403, 403, 403, 403, 403, 403]);
    const refused = await buy(buyer, { quantity: 5 });
    expect(refused.json()).toMatchObject({ code: 'PURCHASE_LIMIT_EXCEEDED' });
    expect((await buy(buyer, { quantity: 4 })).statusCode).toBe(200);
    expect((await buy(buyer, { quantity: 1 })).statusCode).toBe(403);
  });

  it('refuses the 6th purchase by one user in an hour with 429 VELOCITY_LIMIT_EXCEEDED and charges nothing', async () => {
    await liftEventCap();
    const buyer = newBuyer();
    for (let i = 0; i < 5; i++) expect((await buy(buyer)).statusCode).toBe(200);
    const sixth = await buy(buyer);
    expect(sixth.statusCode, sixth.body).toBe(429);
    const body = sixth.json<{ code: string; details: { transactionId: string } }>();
    expect(body.code).toBe('VELOCITY_LIMIT_EXCEEDED');
    const state = await paymentState(t, body.details.transactionId);
    expect(state).toMatchObject({ status: 'failed', submitted: false, captured: 0, authorized: 0 });
  });

  it('lets 20 concurrent purchases by one user through only up to the hourly limit', async () => {
    await liftEventCap();
    const buyer = newBuyer();
    const answers = await Promise.all(Array.from({ length: 20 }, () => buy(buyer)));
    const statuses = answers.map((a) => a.statusCode).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
  });

  it('refuses the 4th user paying with one card', async () => {
    const card = `pm_card_visa--${randomUUID()}`;
    for (let i = 0; i < 3; i++) expect((await buy(newBuyer({ card }))).statusCode).toBe(200);
    const fourth = await buy(newBuyer({ card }));
    expect(fourth.statusCode, fourth.body).toBe(403);
    expect(fourth.json()).toMatchObject({ code: 'FRAUD_DETECTED' });
  });

  it('refuses the 11th purchase from one address in a minute', async () => {
    const ip = '192.0.2.77';
    for (let i = 0; i < 10; i++) expect((await buy(newBuyer({ ip }))).statusCode).toBe(200);
    expect((await buy(newBuyer({ ip }))).statusCode).toBe(429);
  });

  it('counts an address by the hop the proxy saw, not one the client wrote in front of it', async () => {
    const real = '198.51.100.9';
    for (let i = 0; i < 10; i++) expect((await buy(newBuyer({ ip: `203.0.113.${i + 1}, ${real}` }))).statusCode).toBe(200);
    expect((await buy(newBuyer({ ip: `203.0.113.99, ${real}` }))).statusCode).toBe(429);
  });

  it('does not let a retried purchase, refused now, take the first purchase out of the counts', async () => {
    expect((await admin('PUT', `/admin/risk/thresholds/event:${EVENT_ID}`, { ticketsPerEventPerUser: 4 })).statusCode).toBe(200);
    const buyer = newBuyer();
    // The same command twice, as a request whose stored answer expired is processed again.
    const context = { commandId: randomUUID(), now: new Date(), actor: `user:${buyer.sub}`, tenantId: TEST_TENANT, correlationId: randomUUID() };
    const input = {
      userId: buyer.sub,
      venueId,
      eventId: EVENT_ID,
      tickets: [{ ticketTypeId: purchaseBody(venueId).tickets[0]!.ticketTypeId, quantity: 4 }],
      paymentMethod: { type: 'card' as const, paymentMethodId: buyer.card },
      signals: { ip: buyer.ip, deviceFingerprint: buyer.device, sessionData: humanSession() },
    };
    const first = await t.tessera.services.payments.processPayment(input, context);
    expect(first.status).toBe('completed');
    // Screening now declines it (its device is blocked), but the purchase it retries stands and still counts.
    expect((await admin('PUT', '/admin/risk/lists', { list: 'block', kind: 'device', value: buyer.device, reason: 'test' })).statusCode).toBe(200);
    const retried = await t.tessera.services.payments.processPayment(input, { ...context, now: new Date() });
    expect(retried).toMatchObject({ paymentId: first.paymentId, status: 'completed', replayed: true });
    expect((await admin('DELETE', `/admin/risk/lists/block/device/${buyer.device}`)).statusCode).toBe(200);
    const more = await buy(buyer);
    expect(more.statusCode, 'the first 4 tickets still count').toBe(403);
    expect(more.json()).toMatchObject({ code: 'PURCHASE_LIMIT_EXCEEDED' });
  });

  it('counts the same user id in two tenants as two people', async () => {
    await liftEventCap();
    const buyer = newBuyer();
    for (let i = 0; i < 5; i++) expect((await buy(buyer)).statusCode).toBe(200);
    const elsewhere = await t.app.inject({
      method: 'POST',
      url: '/api/v1/payments/process',
      headers: { authorization: `Bearer ${await signToken({ role: 'user', sub: buyer.sub, tenantId: 'tenant-2' })}`, 'idempotency-key': randomUUID(), 'x-forwarded-for': '192.0.2.200' },
      payload: { ...purchaseBody(venueId, { paymentMethodId: `pm_card_visa--${randomUUID()}` }), deviceFingerprint: `device-${randomUUID()}`, sessionData: humanSession() },
    });
    expect(elsewhere.statusCode, elsewhere.body).not.toBe(429);
  });

  it('refuses a headless browser with 403 BOT_DETECTED', async () => {
    const response = await buy(newBuyer(), { session: { actions: [], browserFeatures: { webdriver: true, userAgent: 'HeadlessChrome/120' } } });
    expect(response.statusCode, response.body).toBe(403);
    expect(response.json()).toMatchObject({ code: 'BOT_DETECTED' });
  });

  it('refuses a blocked device, and lets it buy again once the entry is removed', async () => {
    const buyer = newBuyer();
    expect((await admin('PUT', '/admin/risk/lists', { list: 'block', kind: 'device', value: buyer.device, reason: 'chargebacks' })).statusCode).toBe(200);
    const blocked = await buy(buyer);
    expect(blocked.statusCode).toBe(403);
    expect(blocked.json()).toMatchObject({ code: 'FRAUD_DETECTED' });
    expect((await admin('DELETE', `/admin/risk/lists/block/device/${buyer.device}`)).statusCode).toBe(200);
    expect((await buy(buyer)).statusCode).toBe(200);
  });

  it('challenges a purchase scoring between the challenge and review thresholds with 3-D Secure', async () => {
    const venue = await venueAt(t);
    expect((await admin('PUT', `/admin/risk/thresholds/venue:${venue}`, { challengeAt: 0, reviewAt: 100, declineAt: 100 })).statusCode).toBe(200);
    const buyer = newBuyer();
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/payments/process',
      headers: { ...(await authAs('user', buyer.sub)), 'idempotency-key': randomUUID(), 'x-forwarded-for': buyer.ip },
      payload: { ...purchaseBody(venue, { paymentMethodId: buyer.card }), deviceFingerprint: buyer.device, sessionData: humanSession() },
    });
    expect(response.statusCode, response.body).toBe(202);
    expect(response.json()).toMatchObject({ transaction: { status: 'pending', nextAction: { type: 'authenticate' } } });
  });

  describe('a purchase held for review', () => {
    let venue: string;
    const heldPurchase = async () => {
      const buyer = newBuyer();
      const response = await t.app.inject({
        method: 'POST',
        url: '/api/v1/payments/process',
        headers: { ...(await authAs('user', buyer.sub)), 'idempotency-key': randomUUID(), 'x-forwarded-for': buyer.ip },
        payload: { ...purchaseBody(venue, { paymentMethodId: buyer.card }), deviceFingerprint: buyer.device, sessionData: humanSession() },
      });
      expect(response.statusCode, response.body).toBe(202);
      const answer = response.json<{ transaction: { id: string; status: string; review?: string } }>();
      expect(answer.transaction).toMatchObject({ status: 'processing', review: 'pending' });
      return answer.transaction.id;
    };

    beforeAll(async () => {
      venue = await venueAt(t);
      expect((await admin('PUT', `/admin/risk/thresholds/venue:${venue}`, { challengeAt: 0, reviewAt: 0, declineAt: 100 })).statusCode).toBe(200);
      // Long enough for an analyst in these tests; the deadline test sets its own.
    });

    it('is listed in the review queue, and approving it captures it once', async () => {
      const paymentId = await heldPurchase();
      const queue = await eventually(async () => {
        const listed = await admin('GET', '/admin/risk/assessments?review=pending');
        const items = listed.json<{ items: { paymentId: string; authorized: boolean }[] }>().items;
        return items.find((item) => item.paymentId === paymentId && item.authorized);
      });
      expect(queue).toBeDefined();
      const approved = await admin('POST', `/admin/risk/reviews/${paymentId}`, { verdict: 'approve' });
      expect(approved.statusCode, approved.body).toBe(200);
      const state = await eventually(async () => {
        const s = await paymentState(t, paymentId);
        return s.status === 'completed' ? s : undefined;
      });
      expect(state.captured).toBe(state.request!.quote.total);
      const again = await admin('POST', `/admin/risk/reviews/${paymentId}`, { verdict: 'decline' });
      expect(again.statusCode).toBe(409);
      expect(again.json()).toMatchObject({ code: 'PAYMENT_NOT_REVIEWABLE' });
    });

    it('declining it voids the hold and charges nothing', async () => {
      const paymentId = await heldPurchase();
      const declined = await admin('POST', `/admin/risk/reviews/${paymentId}`, { verdict: 'decline', note: 'stolen card' });
      expect(declined.statusCode, declined.body).toBe(200);
      const state = await eventually(async () => {
        const s = await paymentState(t, paymentId);
        return s.authorizationVoided ? s : undefined;
      });
      expect(state).toMatchObject({ status: 'cancelled', captured: 0, review: 'declined' });
    });

    it('is voided by its deadline when nobody decides it', async () => {
      const paymentId = await heldPurchase();
      const state = await eventually(
        async () => {
          const s = await paymentState(t, paymentId);
          return s.authorizationVoided ? s : undefined;
        },
        { timeoutMs: 10_000 },
      );
      expect(state).toMatchObject({ status: 'expired', captured: 0, review: 'declined' });
    });
  });

  describe('a resale purchase', () => {
    /** A minted ticket of a fresh seller, listed at `price`: the listing's id. */
    const listedTicket = async (price: number) => {
      const seller = newBuyer();
      const bought = await buy(seller);
      expect(bought.statusCode, bought.body).toBe(200);
      const ticketId = ticketIdFor(bought.json<{ transaction: { id: string } }>().transaction.id, 0);
      await eventually(async () => ((await mintStatusOf(t.tessera.readSide.db, ticketId)) === 'minted' ? true : undefined), { timeoutMs: 10_000 });
      const listed = await t.app.inject({
        method: 'POST',
        url: '/api/v1/marketplace/listings',
        headers: { ...(await authAs('user', seller.sub)), 'idempotency-key': randomUUID() },
        payload: { ticketId, price, venueId },
      });
      expect(listed.statusCode, listed.body).toBe(201);
      return listingIdFor(ticketId, 0);
    };
    const buyListing = async (buyer: Buyer, listingId: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/marketplace/purchase',
        headers: { ...(await authAs('user', buyer.sub)), 'idempotency-key': randomUUID(), 'x-forwarded-for': buyer.ip },
        payload: { listingId, paymentMethodId: buyer.card, deviceFingerprint: buyer.device, sessionData: humanSession() },
      });

    it('is assessed, and a blocked card is refused with nothing charged and the listing still on sale', async () => {
      const listingId = await listedTicket(11_000);
      const buyer = newBuyer();
      expect((await admin('PUT', '/admin/risk/lists', { list: 'block', kind: 'card', value: buyer.card, reason: 'stolen' })).statusCode).toBe(200);
      const refused = await buyListing(buyer, listingId);
      expect(refused.statusCode, refused.body).toBe(403);
      const body = refused.json<{ code: string; details: { escrowId: string } }>();
      expect(body.code).toBe('FRAUD_DETECTED');
      const assessment = await eventually(async () => {
        const found = await admin('GET', `/admin/risk/assessments/${body.details.escrowId}`);
        return found.statusCode === 200 ? found.json<{ subject: string; decision: string; paymentStatus: string }>() : undefined;
      });
      expect(assessment).toMatchObject({ subject: 'resale-purchase', decision: 'decline', paymentStatus: 'failed' });
      expect((await listingHandler.load(t.storage.eventStore, listingId)).state.status).toBe('active');
      expect((await buyListing(newBuyer(), listingId)).statusCode).toBe(200);
    });
  });

  describe('a group share', () => {
    it('is assessed: a bot paying a share is refused, and the member may pay it as a person', async () => {
      const groupVenue = await venueAt(t);
      await ticketTypeAt(t, groupVenue, 5_000);
      const created = await t.app.inject({
        method: 'POST',
        url: '/api/v1/group-payments/create',
        headers: { ...(await authAs('user', `organizer-${randomUUID()}`)), 'idempotency-key': randomUUID() },
        payload: {
          venueId: groupVenue,
          eventId: EVENT_ID,
          ticketSelections: [{ ticketTypeId: ticketTypeFor(5_000), quantity: 2, price: 5_000 }],
          members: [1, 1].map((ticketCount, i) => ({ email: `friend${i}@example.com`, name: `Friend ${i}`, ticketCount })),
        },
      });
      expect(created.statusCode, created.body).toBe(201);
      const { groupPayment, paymentLinks } = created.json<{ groupPayment: { id: string }; paymentLinks: { memberId: string; link: string }[] }>();
      const link = paymentLinks[0]!;
      const token = new URL(link.link).searchParams.get('token')!;
      const payer = newBuyer();
      const pay = async (session: Record<string, unknown>) =>
        t.app.inject({
          method: 'POST',
          url: `/api/v1/group-payments/${groupPayment.id}/contribute/${link.memberId}`,
          headers: { ...(await authAs('user', payer.sub)), 'idempotency-key': randomUUID(), 'x-forwarded-for': payer.ip },
          payload: { paymentMethodId: payer.card, token, deviceFingerprint: payer.device, sessionData: session },
        });
      const bot = await pay({ actions: [], browserFeatures: { webdriver: true } });
      expect(bot.statusCode, bot.body).toBe(403);
      expect(bot.json()).toMatchObject({ code: 'BOT_DETECTED' });
      const person = await pay(humanSession());
      expect(person.statusCode, person.body).toBe(200);
    });
  });

  it('rebuilds the assessments read model identically from the events', async () => {
    const report = await t.tessera.readSide.verify();
    const risk = report.projections.find((p) => p.name === 'risk-assessments');
    expect(risk, JSON.stringify(report)).toMatchObject({ ok: true });
  }, 60_000);
});
