import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTicket } from '../../src/projections/tickets.js';
import { signToken, testApp, type TestApp, type TokenOptions } from '../support/app.js';
import { completedPurchase, EVENT_ID, purchaseBody, TICKET_TYPE_ID, venueAt } from '../support/payments-http.js';
import { eventually } from '../support/poll.js';
import { ticketIdFor } from '../../src/domain/ids.js';
import { mintStatusOf } from '../../src/projections/mint-status.js';

/**
 * Who gets through which route: every route of the OpenAPI document, called with the token of
 * the resource's rightful non-admin caller ("owner": the buyer, seller or organizer, or for a
 * venue's routes a manager of that venue), of another user of the same tenant, of the owner's
 * same `sub` in another tenant, of a manager of another venue, and of an admin. "Through" means
 * neither 401 nor 403: a refusal for business reasons (a 409, a 422) is past authorization.
 * A route added without a row here fails the first test.
 */
type Who = 'owner' | 'otherUser' | 'otherTenant' | 'otherManager' | 'admin';
const EVERYONE: readonly Who[] = ['owner', 'otherUser', 'otherTenant', 'otherManager', 'admin'];
const OTHER_TENANT = 'tenant-2';

interface Fixtures {
  readonly venueId: string;
  readonly paymentId: string;
  readonly group: { readonly id: string; readonly memberId: string };
  readonly cancellableGroupId: string;
  readonly unlistedTicketId: string;
  readonly activeListingId: string;
  readonly escrowId: string;
}

interface Row {
  /** Whose resource it is: a buyer's (user) or a venue's (its manager). */
  readonly owner: 'user' | 'venue';
  readonly url: (f: Fixtures) => string;
  readonly body?: (f: Fixtures) => unknown;
  readonly through: readonly Who[];
}

const user = (url: Row['url'], through: readonly Who[], body?: Row['body']): Row => ({ owner: 'user', url, through, ...(body ? { body } : {}) });
const venue = (url: Row['url'], through: readonly Who[], body?: Row['body']): Row => ({ owner: 'venue', url, through, ...(body ? { body } : {}) });
const ADMIN_ONLY: readonly Who[] = ['admin'];
/** A venue's managers and admins; a token's `venues` claim names the venues, whatever its tenant (venues are the platform's). */
const VENUE_STAFF: readonly Who[] = ['owner', 'otherTenant', 'admin'];
const OWNER_OR_ADMIN: readonly Who[] = ['owner', 'admin'];
const NOBODY: readonly Who[] = [];

/** An event of its own for the waiting room's routes: a room on EVENT_ID would ask the purchase rows for a token. */
const ROOM_EVENT_ID = '3f6b7c1e-5d2a-4e8f-9a0b-1c2d3e4f5a6b';
const room = (f: Fixtures, path = '') => `/api/v1/venues/${f.venueId}/events/${ROOM_EVENT_ID}/waiting-room${path}`;

const TABLE: Readonly<Record<string, Row>> = {
  'GET /health': user(() => '/health', EVERYONE),
  'GET /health/ready': user(() => '/health/ready', EVERYONE),
  'GET /info': user(() => '/info', EVERYONE),
  'GET /metrics': user(() => '/metrics', EVERYONE),
  'GET /api/v1/integration-events': user(() => '/api/v1/integration-events', EVERYONE),
  'GET /api/v1/integration-events/{type}/{version}/schema': user(() => '/api/v1/integration-events/com.tessera.payment.completed/1/schema', EVERYONE),
  'GET /api/v1/me': user(() => '/api/v1/me', EVERYONE),
  'POST /api/v1/payments/process': user(() => '/api/v1/payments/process', EVERYONE, (f) => purchaseBody(f.venueId)),
  'POST /api/v1/payments/transaction/{transactionId}/refund': user((f) => `/api/v1/payments/transaction/${f.paymentId}/refund`, OWNER_OR_ADMIN, () => ({ amount: 1 })),
  'POST /api/v1/payments/calculate-fees': user(() => '/api/v1/payments/calculate-fees', EVERYONE, (f) => ({ venueId: f.venueId, amount: 10_000, ticketCount: 1 })),
  'POST /internal/payment-complete': user(() => '/internal/payment-complete', NOBODY, (f) => ({ orderId: randomUUID(), paymentId: f.paymentId })),
  'POST /internal/calculate-tax': user(() => '/internal/calculate-tax', NOBODY, () => ({ amount: 100, venueAddress: { street: 'x', city: 'Nashville', state: 'TN', zip: '37203' } })),
  'PUT /api/v1/venues/{venueId}': venue((f) => `/api/v1/venues/${f.venueId}`, ADMIN_ONLY, () => ({
    name: 'Ryman Auditorium',
    address: { street: '1 Broadway', city: 'Nashville', state: 'TN', zip: '37203' },
  })),
  'PUT /api/v1/venues/{venueId}/events/{eventId}/ticket-types/{ticketTypeId}': venue(
    (f) => `/api/v1/venues/${f.venueId}/events/${EVENT_ID}/ticket-types/${TICKET_TYPE_ID}`,
    VENUE_STAFF,
    () => ({ name: 'General admission at 10000', price: 10_000 }),
  ),
  'PUT /internal/venues/{venueId}/events/{eventId}/ticket-types/{ticketTypeId}': venue(
    (f) => `/internal/venues/${f.venueId}/events/${EVENT_ID}/ticket-types/${TICKET_TYPE_ID}`,
    NOBODY,
    () => ({ name: 'General admission at 10000', price: 10_000 }),
  ),
  'GET /api/v1/venues/{venueId}/events/{eventId}/ticket-types': user((f) => `/api/v1/venues/${f.venueId}/events/${EVENT_ID}/ticket-types`, EVERYONE),
  'PUT /api/v1/venues/{venueId}/events/{eventId}/purchase-limits': venue(
    (f) => `/api/v1/venues/${f.venueId}/events/${EVENT_ID}/purchase-limits`,
    VENUE_STAFF,
    () => ({ perUser: 100, perPaymentMethod: 100, perAddress: 100, perOrder: 100 }),
  ),
  'GET /api/v1/venues/{venueId}/events/{eventId}/purchase-limits': user((f) => `/api/v1/venues/${f.venueId}/events/${EVENT_ID}/purchase-limits`, EVERYONE),
  'PUT /api/v1/venues/{venueId}/events/{eventId}/waiting-room': venue((f) => room(f), VENUE_STAFF, () => ({ enabled: true, capacity: 5, releaseRate: 60 })),
  'POST /api/v1/venues/{venueId}/events/{eventId}/waiting-room/join': user((f) => room(f, '/join'), EVERYONE),
  'GET /api/v1/venues/{venueId}/events/{eventId}/waiting-room/status': user((f) => room(f, '/status'), EVERYONE),
  'DELETE /api/v1/venues/{venueId}/events/{eventId}/waiting-room': user((f) => room(f), EVERYONE),
  'GET /api/v1/venues/{venueId}/events/{eventId}/waiting-room': venue((f) => room(f), VENUE_STAFF),
  'DELETE /api/v1/venues/{venueId}/events/{eventId}/waiting-room/tokens/{jti}': venue((f) => room(f, `/tokens/${'0'.repeat(32)}`), VENUE_STAFF),
  'GET /api/v1/venues/{venueId}/events/{eventId}/waiting-room/activity': venue((f) => room(f, '/activity'), VENUE_STAFF),
  'POST /api/v1/webhooks/stripe': user(() => '/api/v1/webhooks/stripe', NOBODY, () => ({ id: 'evt_1', type: 'charge.refunded', data: { object: {} } })),
  // Webhooks out: a tenant's admins only; another tenant's ids answer 404 (past authorization).
  'POST /api/v1/webhook-endpoints': user(() => '/api/v1/webhook-endpoints', ADMIN_ONLY, () => ({ url: 'https://hooks.example.com/tessera', eventTypes: ['*'] })),
  'GET /api/v1/webhook-endpoints': user(() => '/api/v1/webhook-endpoints', ADMIN_ONLY),
  'GET /api/v1/webhook-endpoints/{id}': user(() => `/api/v1/webhook-endpoints/${randomUUID()}`, ADMIN_ONLY),
  'PATCH /api/v1/webhook-endpoints/{id}': user(() => `/api/v1/webhook-endpoints/${randomUUID()}`, ADMIN_ONLY, () => ({ status: 'disabled' })),
  'DELETE /api/v1/webhook-endpoints/{id}': user(() => `/api/v1/webhook-endpoints/${randomUUID()}`, ADMIN_ONLY),
  'POST /api/v1/webhook-endpoints/{id}/rotate-secret': user(() => `/api/v1/webhook-endpoints/${randomUUID()}/rotate-secret`, ADMIN_ONLY, () => ({})),
  'GET /api/v1/webhook-deliveries': user(() => '/api/v1/webhook-deliveries', ADMIN_ONLY),
  'GET /api/v1/webhook-deliveries/{id}': user(() => `/api/v1/webhook-deliveries/${randomUUID()}`, ADMIN_ONLY),
  'POST /api/v1/webhook-deliveries/{id}/redeliver': user(() => `/api/v1/webhook-deliveries/${randomUUID()}/redeliver`, ADMIN_ONLY),
  'GET /admin/parked': user(() => '/admin/parked', ADMIN_ONLY),
  'POST /admin/parked/{id}/retry': user(() => `/admin/parked/${randomUUID()}/retry`, ADMIN_ONLY),
  'GET /admin/risk/assessments': user(() => '/admin/risk/assessments?review=pending', ADMIN_ONLY),
  'GET /admin/risk/assessments/{paymentId}': user((f) => `/admin/risk/assessments/${f.paymentId}`, ADMIN_ONLY),
  'POST /admin/risk/reviews/{paymentId}': user((f) => `/admin/risk/reviews/${f.paymentId}`, ADMIN_ONLY, () => ({ verdict: 'approve' })),
  'GET /admin/risk/lists': user(() => '/admin/risk/lists', ADMIN_ONLY),
  'PUT /admin/risk/lists': user(() => '/admin/risk/lists', ADMIN_ONLY, () => ({ list: 'block', kind: 'device', value: 'device-under-test', reason: 'authorization table' })),
  'DELETE /admin/risk/lists/{list}/{kind}/{value}': user(() => '/admin/risk/lists/block/device/device-under-test', ADMIN_ONLY),
  'PUT /admin/risk/thresholds/{scope}': user(() => '/admin/risk/thresholds/default', ADMIN_ONLY, () => ({ userPerHour: 5 })),
  'GET /api/v1/payments/transaction/{transactionId}': user((f) => `/api/v1/payments/transaction/${f.paymentId}`, OWNER_OR_ADMIN),
  'GET /api/v1/payments/transaction/{transactionId}/events': user((f) => `/api/v1/payments/transaction/${f.paymentId}/events`, OWNER_OR_ADMIN),
  'GET /api/v1/venues/{venueId}/balance': venue((f) => `/api/v1/venues/${f.venueId}/balance`, VENUE_STAFF),
  'GET /api/v1/ledger/accounts/{account}': venue((f) => `/api/v1/ledger/accounts/venue:${f.venueId}:pending`, VENUE_STAFF),
  'GET /api/v1/ledger/trial-balance': user(() => '/api/v1/ledger/trial-balance', ADMIN_ONLY),
  'GET /api/v1/tax/collections': user(() => '/api/v1/tax/collections?jurisdiction=tn&startDate=2026-01-01&endDate=2026-12-31', ADMIN_ONLY),
  'GET /admin/stats': user(() => '/admin/stats', ADMIN_ONLY),
  'GET /api/v1/payments/metrics': user(() => '/api/v1/payments/metrics', ADMIN_ONLY),
  'GET /admin/projections': user(() => '/admin/projections', ADMIN_ONLY),
  'POST /api/v1/marketplace/listings': user(() => '/api/v1/marketplace/listings', ['owner'], (f) => ({ ticketId: f.unlistedTicketId, price: 12_000, venueId: f.venueId })),
  // Any user of the listing's tenant may buy (the seller's own purchase is a 422, past authorization).
  'POST /api/v1/marketplace/purchase': user(() => '/api/v1/marketplace/purchase', ['owner', 'otherUser', 'otherManager', 'admin'], (f) => ({
    listingId: f.activeListingId,
    paymentMethodId: 'pm_card_visa',
  })),
  'GET /api/v1/marketplace/escrows/{escrowId}': user((f) => `/api/v1/marketplace/escrows/${f.escrowId}`, OWNER_OR_ADMIN),
  'POST /api/v1/marketplace/escrows/{escrowId}/dispute': user((f) => `/api/v1/marketplace/escrows/${f.escrowId}/dispute`, OWNER_OR_ADMIN, () => ({ reason: 'not received' })),
  'GET /api/v1/marketplace/venues/{venueId}/royalties': venue((f) => `/api/v1/marketplace/venues/${f.venueId}/royalties`, VENUE_STAFF),
  'POST /api/v1/group-payments/create': user(() => '/api/v1/group-payments/create', EVERYONE, (f) => ({
    venueId: f.venueId,
    eventId: EVENT_ID,
    ticketSelections: [{ ticketTypeId: TICKET_TYPE_ID, quantity: 1 }],
    members: [{ email: 'a@example.com', name: 'A', ticketCount: 1 }],
  })),
  // The organizer pays any share; others need the member's link (not given here); admins do not pay shares.
  'POST /api/v1/group-payments/{groupId}/contribute/{memberId}': user((f) => `/api/v1/group-payments/${f.group.id}/contribute/${f.group.memberId}`, ['owner'], () => ({
    paymentMethodId: 'pm_card_visa',
  })),
  'GET /api/v1/group-payments/{groupId}/status': user((f) => `/api/v1/group-payments/${f.group.id}/status`, OWNER_OR_ADMIN),
  'POST /api/v1/group-payments/{groupId}/cancel': user((f) => `/api/v1/group-payments/${f.cancellableGroupId}/cancel`, OWNER_OR_ADMIN, () => ({ reason: 'plans changed' })),
  'POST /api/v1/venues/{venueId}/payout': venue((f) => `/api/v1/venues/${f.venueId}/payout`, VENUE_STAFF, () => ({ amount: 10_000 })),
  // A seller acts on their own balance only: `sellerId` must be the token's `sub`. The same `sub` in another
  // tenant gets through to that tenant's seller, another person with a ledger account of their own.
  'PUT /api/v1/sellers/{sellerId}/payout-account': user(() => `/api/v1/sellers/${OWNER}/payout-account`, ['owner', 'otherTenant'], () => ({ payoutAccount: 'acct_table' })),
  'POST /api/v1/sellers/{sellerId}/payout': user(() => `/api/v1/sellers/${OWNER}/payout`, ['owner', 'otherTenant'], () => ({ amount: 10_000 })),
  'GET /api/v1/sellers/{sellerId}/statement': user(() => `/api/v1/sellers/${OWNER}/statement`, ['owner', 'otherTenant', 'admin']),
  // An artist's royalties are the platform's to pay (admins); a venue's, its managers' and admins'.
  'PUT /api/v1/royalties/artist/{holderId}/payout-account': user(() => '/api/v1/royalties/artist/artist-table/payout-account', ADMIN_ONLY, () => ({ payoutAccount: 'acct_table' })),
  'POST /api/v1/royalties/{party}/{holderId}/payout': venue((f) => `/api/v1/royalties/venue/${f.venueId}/payout`, VENUE_STAFF, () => ({ amount: 10_000 })),
  'GET /api/v1/royalties/{party}/{holderId}/statement': venue((f) => `/api/v1/royalties/venue/${f.venueId}/statement`, VENUE_STAFF),
  'PUT /api/v1/venues/{venueId}/refund-policy': venue((f) => `/api/v1/venues/${f.venueId}/refund-policy`, VENUE_STAFF, () => ({ tiers: [{ hoursBefore: 0, refundBps: 10_000 }] })),
  'PUT /api/v1/events/{eventId}/refund-policy': venue(() => `/api/v1/events/${EVENT_ID}/refund-policy`, VENUE_STAFF, (f) => ({
    venueId: f.venueId,
    startsAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
  })),
};

const OWNER = 'owner-1';

describe('who gets through each route of the OpenAPI document', () => {
  let t: TestApp;
  let fixtures: Fixtures;
  let operations: string[];

  const tokenOptions = (who: Who, row: Row, venueId: string): TokenOptions => {
    const owner: TokenOptions = row.owner === 'venue' ? { role: 'venue_manager', sub: OWNER, venues: [venueId] } : { role: 'user', sub: OWNER };
    switch (who) {
      case 'owner':
        return owner;
      case 'otherUser':
        return { role: 'user', sub: 'other-user' };
      case 'otherTenant':
        return { ...owner, tenantId: OTHER_TENANT };
      case 'otherManager':
        return { role: 'venue_manager', sub: 'other-manager', venues: [randomUUID()] };
      case 'admin':
        return { role: 'admin', sub: 'admin-1' };
    }
  };

  const as = async (options: TokenOptions) => ({ authorization: `Bearer ${await signToken(options)}` });
  const post = async (url: string, sub: string, payload: unknown) =>
    t.app.inject({ method: 'POST', url, headers: { ...(await as({ sub })), 'idempotency-key': randomUUID() }, payload: payload as Record<string, unknown> });

  async function mintedTicketOf(sub: string, venueId: string): Promise<string> {
    const payment = await completedPurchase(t, venueId, { headers: await as({ sub }) });
    const ticketId = ticketIdFor(payment.id, 0);
    await eventually(async () => ((await findTicket(t.tessera.readSide.db, ticketId))?.status === 'active' ? true : undefined), { timeoutMs: 10_000 });
    await eventually(async () => ((await mintStatusOf(t.tessera.readSide.db, ticketId)) === 'minted' ? true : undefined), { timeoutMs: 10_000 });
    return ticketId;
  }

  async function openGroup(venueId: string): Promise<{ id: string; memberId: string }> {
    const created = await post('/api/v1/group-payments/create', OWNER, TABLE['POST /api/v1/group-payments/create']!.body!({ venueId } as Fixtures));
    const body = created.json<{ groupPayment: { id: string; members: { memberId: string }[] } }>();
    return { id: body.groupPayment.id, memberId: body.groupPayment.members[0]!.memberId };
  }

  beforeAll(async () => {
    t = await testApp({
      background: true,
      env: {
        STRIPE_WEBHOOK_SECRET: 'whsec_test_secret_of_some_length',
        DEADLINE_POLL_MS: '10',
        ESCROW_TRANSFER_CHECK_MS: '20',
        MINT_POLL_MS: '20',
        CHAIN_CONFIRM_DELAY_MS: '50',
        PM_RETRY_INITIAL_MS: '10',
      },
    });
    const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<{ paths: Record<string, Record<string, unknown>> }>();
    operations = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`));

    const venueId = await venueAt(t);
    const paymentId = (await completedPurchase(t, venueId, { headers: await as({ sub: OWNER }) })).id;
    const [listedTicket, forSaleTicket, unlistedTicketId] = [
      await mintedTicketOf(OWNER, venueId),
      await mintedTicketOf(OWNER, venueId),
      await mintedTicketOf(OWNER, venueId),
    ];
    const listingOf = async (ticketId: string) =>
      (await post('/api/v1/marketplace/listings', OWNER, { ticketId, price: 11_000, venueId })).json<{ listing: { id: string } }>().listing.id;
    const soldListing = await listingOf(listedTicket);
    const activeListingId = await listingOf(forSaleTicket);
    const bought = await post('/api/v1/marketplace/purchase', 'escrow-buyer', { listingId: soldListing, paymentMethodId: 'pm_card_visa' });
    const escrowId = bought.json<{ escrow: { id: string } }>().escrow.id;
    fixtures = {
      venueId,
      paymentId,
      group: await openGroup(venueId),
      cancellableGroupId: (await openGroup(venueId)).id,
      unlistedTicketId,
      activeListingId,
      escrowId,
    };
  }, 120_000);
  afterAll(() => t.close());

  it('has a row for every route the API documents, and no row for a route it does not', () => {
    expect(operations.toSorted()).toEqual(Object.keys(TABLE).toSorted());
  });

  it.each(Object.keys(TABLE))('%s lets through exactly whom it should', async (operation) => {
    const row = TABLE[operation]!;
    const [method, template] = operation.split(' ') as ['GET' | 'POST' | 'PUT', string];
    const outcomes: Partial<Record<Who, number>> = {};
    // Refused callers first: an allowed one may change the resource (a cancel, a purchase).
    for (const who of [...EVERYONE].sort((a, b) => Number(row.through.includes(a)) - Number(row.through.includes(b)))) {
      const body = row.body?.(fixtures);
      const response = await t.app.inject({
        method,
        url: row.url(fixtures),
        headers: { ...(await as(tokenOptions(who, row, fixtures.venueId))), ...(method === 'GET' ? {} : { 'idempotency-key': randomUUID() }) },
        ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
      });
      expect(response.statusCode, `${operation} as ${who}: ${response.body}`).toBeLessThan(500);
      outcomes[who] = response.statusCode;
    }
    const through = EVERYONE.filter((who) => ![401, 403].includes(outcomes[who]!));
    // A signed route refuses a bearer token as a bad signature (400), not as 401/403.
    const signed = template === '/api/v1/webhooks/stripe';
    expect(signed ? EVERYONE.filter((who) => outcomes[who] !== 400) : through, JSON.stringify(outcomes)).toEqual([...row.through]);
  });

  it('refuses a same-sub user of another tenant the refund of a payment, and the gateway refunds nothing', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: `/api/v1/payments/transaction/${fixtures.paymentId}/refund`,
      headers: { ...(await as({ sub: OWNER, tenantId: OTHER_TENANT })), 'idempotency-key': randomUUID() },
      payload: {},
    });
    expect(response.statusCode).toBe(403);
    const { rows } = await t.storage.sql.query<{ refunded: string }>(
      `SELECT refunded::text AS refunded FROM sandbox_gateway_intents WHERE metadata->>'paymentId' = $1`,
      [fixtures.paymentId],
    );
    // Only the table's single-cent refunds by the owner and the admin, never the other tenant's full one.
    expect(rows.map((r) => Number(r.refunded))).toEqual([expect.any(Number) as number]);
    expect(Number(rows[0]!.refunded)).toBeLessThanOrEqual(2);
  });

  it("records an admin's cancellation of a group in the group's tenant, as a refund is recorded in its payment's", async () => {
    const group = await openGroup(fixtures.venueId);
    const platformAdmin = await as({ role: 'admin', sub: 'admin-9', tenantId: 'platform' });
    const cancelled = await t.app.inject({
      method: 'POST',
      url: `/api/v1/group-payments/${group.id}/cancel`,
      headers: { ...platformAdmin, 'idempotency-key': randomUUID() },
      payload: {},
    });
    expect(cancelled.statusCode).toBe(200);
    const events = await t.storage.eventStore.readStream(`group-payment-${group.id}`);
    const cancel = events.find((e) => e.type === 'GroupPaymentCancelled')!;
    expect(cancel.metadata).toMatchObject({ tenantId: events[0]!.metadata.tenantId, actor: 'admin:admin-9' });
  });

  it("keeps a group's members' e-mails, shares and cancellation from a same-sub user of another tenant", async () => {
    const group = await openGroup(fixtures.venueId);
    const stranger = await as({ sub: OWNER, tenantId: OTHER_TENANT });
    const status = await t.app.inject({ method: 'GET', url: `/api/v1/group-payments/${group.id}/status`, headers: stranger });
    expect(status.statusCode).toBe(403);
    expect(status.body).not.toContain('a@example.com');
    const paid = await t.app.inject({
      method: 'POST',
      url: `/api/v1/group-payments/${group.id}/contribute/${group.memberId}`,
      headers: { ...stranger, 'idempotency-key': randomUUID() },
      payload: { paymentMethodId: 'pm_card_visa' },
    });
    expect(paid.statusCode).toBe(403);
    const cancelled = await t.app.inject({
      method: 'POST',
      url: `/api/v1/group-payments/${group.id}/cancel`,
      headers: { ...stranger, 'idempotency-key': randomUUID() },
      payload: {},
    });
    expect(cancelled.statusCode).toBe(403);
    const { rows } = await t.storage.sql.query(`SELECT 1 FROM sandbox_gateway_intents WHERE metadata->>'groupId' = $1`, [group.id]);
    expect(rows).toHaveLength(0);
    const owner = await t.app.inject({ method: 'GET', url: `/api/v1/group-payments/${group.id}/status`, headers: await as({ sub: OWNER }) });
    expect(owner.json()).toMatchObject({ group: { status: 'collecting' } });
  });
});
