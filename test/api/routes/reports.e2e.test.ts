import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ticketIdFor } from '../../../src/domain/ids.js';
import { parsePosition, positionToString } from '../../../src/eventstore/event-store.js';
import { projections } from '../../../src/projections/all.js';
import { mintStatusOf } from '../../../src/projections/mint-status.js';
import { findTicket } from '../../../src/projections/tickets.js';
import { testApp, type TestApp } from '../../support/app.js';
import { lastPositionOf } from '../../support/payment-records.js';
import { authAs, completedPurchase, EVENT_ID, purchase, refund, sqlBackends, ticketTypeAt, ticketTypeFor, venueAt, type ProcessAnswer } from '../../support/payments-http.js';
import { eventually } from '../../support/poll.js';

interface TaxLine {
  jurisdiction: string;
  kind: string;
  taxable: number;
  collected: number;
  refunded: number;
  net: number;
  transactions: number;
}

describe.each(sqlBackends())('reports over HTTP (%s)', (backend) => {
  let t: TestApp;
  let paymentsPosition: string;
  const today = new Date().toISOString().slice(0, 10);

  beforeAll(async () => {
    t = await testApp({ backend, background: true });
    const venueId = await venueAt(t, { tierOverride: 'pro' });
    const paid = (await purchase(t, venueId)).json<ProcessAnswer>();
    const declined = await Promise.all(
      ['pm_card_chargeDeclined', 'pm_card_chargeDeclinedInsufficientFunds'].map(async (paymentMethodId) =>
        (await purchase(t, venueId, { paymentMethodId })).json<{ details: { transactionId: string } }>().details.transactionId,
      ),
    );
    await refund(t, paid.transaction.id, { amount: 5_000 });
    // Everything above (the refund's gateway call included) has happened once the status says so.
    await eventually(async () => {
      const status = (await t.tessera.services.payments.getPayment(paid.transaction.id)).status;
      return status === 'partially_refunded' ? true : undefined;
    });
    paymentsPosition = positionToString(await lastPositionOf(t.storage.eventStore, [paid.transaction.id, ...declined]));
  });
  afterAll(() => t.close());

  const get = async (url: string, headers?: Record<string, string>) => t.app.inject({ method: 'GET', url, headers: headers ?? (await authAs('admin')) });

  it("reports each tax collected today by jurisdiction and kind, net of the refund's share, as the ledger owes it", async () => {
    const response = await get(`/api/v1/tax/collections?startDate=${today}&endDate=${today}&position=${paymentsPosition}`);
    expect(response.statusCode).toBe(200);
    const body = response.json<{ totals: TaxLine[]; days: (TaxLine & { date: string })[] }>();
    expect(body.totals.map((l) => [l.jurisdiction, l.kind, l.collected, l.transactions])).toEqual([
      ['tn', 'state', 700, 1],
      ['tn-nashville', 'entertainment', 100, 1],
      ['tn-nashville', 'local', 225, 1],
    ]);
    expect(body.days.every((d) => d.date === today)).toBe(true);
    for (const line of body.totals) {
      expect(line.refunded).toBeGreaterThan(0);
      const account = (
        await get(`/api/v1/ledger/accounts/tax:${line.jurisdiction}.${line.kind}:payable?position=${paymentsPosition}`)
      ).json<{ balances: { balance: number }[] }>();
      expect(line.net).toBe(-account.balances[0]!.balance);
    }
  });

  it('filters the tax report by jurisdiction and refuses a period that ends before it starts', async () => {
    const state = (await get(`/api/v1/tax/collections?jurisdiction=tn&startDate=${today}&endDate=${today}`)).json<{ totals: TaxLine[] }>();
    expect(state.totals.map((l) => l.jurisdiction)).toEqual(['tn']);
    const backwards = await get(`/api/v1/tax/collections?startDate=${today}&endDate=2000-01-01`);
    expect(backwards.statusCode).toBe(422);
    expect(backwards.json()).toMatchObject({ code: 'VALIDATION_ERROR', errors: [{ field: 'query.endDate' }] });
  });

  it('answers a tax period of 366 days counting both ends, and refuses 367 days with 422', async () => {
    expect((await get('/api/v1/tax/collections?startDate=2028-01-01&endDate=2028-12-31')).statusCode).toBe(200);
    expect((await get('/api/v1/tax/collections?startDate=2026-01-01&endDate=2027-01-01')).statusCode).toBe(200);
    const tooLong = await get('/api/v1/tax/collections?startDate=2026-01-01&endDate=2027-01-02');
    expect(tooLong.statusCode).toBe(422);
    expect(tooLong.json()).toMatchObject({ code: 'VALIDATION_ERROR', errors: [{ field: 'query.endDate' }] });
  });

  it('answers dates in a year PostgreSQL cannot read (0000) with 422 VALIDATION_ERROR, not 500', async () => {
    const tax = await get('/api/v1/tax/collections?startDate=0000-01-01&endDate=0000-01-31');
    expect(tax.statusCode).toBe(422);
    expect(tax.json()).toMatchObject({ code: 'VALIDATION_ERROR', errors: expect.arrayContaining([expect.objectContaining({ field: 'query.startDate' })]) as unknown });
    const metrics = await get('/api/v1/payments/metrics?from=0000-01-01T00:00:00Z&to=0000-01-02T00:00:00Z');
    expect(metrics.statusCode).toBe(422);
    expect(metrics.json()).toMatchObject({ code: 'VALIDATION_ERROR', errors: expect.arrayContaining([expect.objectContaining({ field: 'query.from' })]) as unknown });
  });

  it("answers /admin/stats with the last 24 hours' payments by outcome and their revenue", async () => {
    const response = await get(`/admin/stats?position=${paymentsPosition}`);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      last24Hours: { total_payments: 3, successful: 1, failed: 2, pending: 0, total_revenue: 11_765, refunded: 5_000 },
      timestamp: expect.any(String) as string,
    });
  });

  it('answers the payment metrics: success rate, failures by reason, processing time and revenue', async () => {
    const response = await get(`/api/v1/payments/metrics?position=${paymentsPosition}`);
    expect(response.statusCode).toBe(200);
    const body = response.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      requested: 3,
      outcomes: { completed: 1, failed: 2, expired: 0, cancelled: 0 },
      successRate: 0.3333,
      failureRate: 0.6667,
      revenue: [{ currency: 'USD', captured: 11_765, refunded: 5_000, chargedBack: 0, net: 6_765 }],
    });
    expect(body.failuresByReason).toEqual([
      { reason: 'generic_decline', count: 1, rate: 0.3333 },
      { reason: 'insufficient_funds', count: 1, rate: 0.3333 },
    ]);
    expect(body.averageProcessingMs).toEqual(expect.any(Number));
  });

  it('answers metrics of a period with no payments with null rates', async () => {
    const body = (await get('/api/v1/payments/metrics?from=2001-01-01T00:00:00Z&to=2001-01-02T00:00:00Z')).json<Record<string, unknown>>();
    expect(body).toMatchObject({ requested: 0, successRate: null, averageProcessingMs: null, failuresByReason: [], revenue: [] });
  });

  it('lists every projection with its state, checkpoint and lag at /admin/projections', async () => {
    const response = await get('/admin/projections');
    expect(response.statusCode).toBe(200);
    const body = response.json<{ projections: { name: string; state: string; checkpoint: string | null; lagEvents: number }[] }>();
    expect(body.projections.map((p) => p.name)).toEqual(projections.map(({ name }) => name));
    for (const projection of body.projections) {
      expect(projection.state).toBe('active');
      expect(projection.checkpoint).toMatch(/^\d+\/\d+$/);
    }
  });

  it("exposes every projection's lag, state and projected events on /metrics", async () => {
    await t.tessera.readSide.waitFor('payments', parsePosition(paymentsPosition), 15_000);
    const body = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    for (const { name } of projections) {
      expect(body).toMatch(new RegExp(`^tessera_projection_lag_events\\{projection="${name}"\\} \\d+$`, 'm'));
      expect(body).toMatch(new RegExp(`^tessera_projection_lag_seconds\\{projection="${name}"\\} [\\d.]+$`, 'm'));
      expect(body).toContain(`tessera_projection_active{projection="${name}"} 1`);
    }
    expect(body).toMatch(/^tessera_projection_events_total\{projection="payments"\} [1-9]\d*$/m);
  });

  it('refuses every report to users who are not admins', async () => {
    for (const url of ['/admin/stats', '/api/v1/payments/metrics', '/admin/projections', `/api/v1/tax/collections?startDate=${today}&endDate=${today}`]) {
      const response = await get(url, await authAs('user'));
      expect(response.statusCode, url).toBe(403);
      expect(response.json()).toMatchObject({ code: 'FORBIDDEN', path: url.split('?')[0] });
    }
  });
});

/** A group purchase every member pays by card, over HTTP; answers the group's id and total once it is completed. */
async function paidGroup(t: TestApp, venueId: string): Promise<{ groupId: string; total: number }> {
  const created = await t.app.inject({
    method: 'POST',
    url: '/api/v1/group-payments/create',
    headers: { ...(await authAs('user', 'organizer-1')), 'idempotency-key': randomUUID() },
    payload: {
      venueId,
      eventId: EVENT_ID,
      ticketSelections: [{ ticketTypeId: ticketTypeFor(5_000), quantity: 3, price: 5_000 }],
      members: [2, 1].map((ticketCount, i) => ({ email: `friend${i}@example.com`, name: `Friend ${i}`, ticketCount })),
    },
  });
  expect(created.statusCode, created.body).toBe(201);
  const { groupPayment, paymentLinks } = created.json<{ groupPayment: { id: string; totalAmount: number }; paymentLinks: { memberId: string; link: string }[] }>();
  for (const link of paymentLinks) {
    const token = new URL(link.link).searchParams.get('token');
    const paid = await t.app.inject({
      method: 'POST',
      url: `/api/v1/group-payments/${groupPayment.id}/contribute/${link.memberId}`,
      headers: { ...(await authAs('user', `payer-${link.memberId}`)), 'idempotency-key': randomUUID() },
      payload: { paymentMethodId: 'pm_card_visa', ...(token ? { token } : {}) },
    });
    expect(paid.statusCode, paid.body).toBe(200);
  }
  await eventually(async () => {
    const status = await t.app.inject({ method: 'GET', url: `/api/v1/group-payments/${groupPayment.id}/status`, headers: await authAs('user', 'organizer-1') });
    return status.json<{ group: { status: string } }>().group.status === 'completed' ? true : undefined;
  });
  return { groupId: groupPayment.id, total: groupPayment.totalAmount };
}

/** A resale over HTTP: a seller's minted ticket listed at 15,000 and bought; answers the escrow's id once it is funded. */
async function fundedResale(t: TestApp, venueId: string): Promise<string> {
  const seller = await authAs('user', 'seller-1');
  const bought = await completedPurchase(t, venueId, { headers: seller });
  const ticketId = ticketIdFor(bought.id, 0);
  await eventually(async () => ((await findTicket(t.tessera.readSide.db, ticketId))?.status === 'active' ? true : undefined));
  await eventually(async () => ((await mintStatusOf(t.tessera.readSide.db, ticketId)) === 'minted' ? true : undefined), { timeoutMs: 10_000 });
  const listed = await t.app.inject({
    method: 'POST',
    url: '/api/v1/marketplace/listings',
    headers: { ...seller, 'idempotency-key': randomUUID() },
    payload: { ticketId, price: 15_000, venueId },
  });
  expect(listed.statusCode, listed.body).toBe(201);
  const resold = await t.app.inject({
    method: 'POST',
    url: '/api/v1/marketplace/purchase',
    headers: { ...(await authAs('user', 'buyer-2')), 'idempotency-key': randomUUID() },
    payload: { listingId: listed.json<{ listing: { id: string } }>().listing.id, paymentMethodId: 'pm_card_visa' },
  });
  expect(resold.statusCode, resold.body).toBe(200);
  const { escrow } = resold.json<{ escrow: { id: string; status: string } }>();
  expect(escrow.status).toBe('funded');
  return escrow.id;
}

describe.each(sqlBackends())('revenue in the reports agrees with the ledger (%s)', (backend) => {
  let t: TestApp;
  let position: string;
  let card: number;
  let group: { groupId: string; total: number };
  let escrowId: string;

  beforeAll(async () => {
    t = await testApp({
      backend,
      background: true,
      env: { MINT_POLL_MS: '20', DEADLINE_POLL_MS: '20', ESCROW_TRANSFER_CHECK_MS: '20', CHAIN_CONFIRM_DELAY_MS: '50', PM_RETRY_INITIAL_MS: '10', GROUP_PAYMENT_TTL_MS: '60000' },
    });
    const venueId = await venueAt(t, { tierOverride: 'pro' });
    await ticketTypeAt(t, venueId, 5_000);
    card = (await completedPurchase(t, venueId)).amount;
    group = await paidGroup(t, venueId);
    escrowId = await fundedResale(t, venueId);
    const head = (await t.storage.eventStore.headPosition())!;
    position = positionToString(head);
  }, 60_000);
  afterAll(() => t.close());

  const get = async (url: string) => t.app.inject({ method: 'GET', url, headers: await authAs('admin') });

  it("answers /admin/stats revenue equal to the ledger's gateway:clearing debits after a card purchase, a group purchase and a resale", async () => {
    const stats = await get(`/admin/stats?position=${position}`);
    expect(stats.statusCode, stats.body).toBe(200);
    const { last24Hours } = stats.json<{ last24Hours: { total_revenue: number; revenue_by_currency: Record<string, number>; revenue_by_kind: Record<string, Record<string, number>> } }>();
    const clearing = await get(`/api/v1/ledger/accounts/gateway:clearing?position=${position}&limit=1`);
    expect(clearing.statusCode, clearing.body).toBe(200);
    const debits = clearing.json<{ balances: { currency: string; debits: number }[] }>().balances.find((b) => b.currency === 'USD')!.debits;
    expect(last24Hours.revenue_by_currency).toEqual({ USD: debits });
    expect(last24Hours.total_revenue).toBe(debits);
    // Two card purchases (the buyer's and the resold ticket's seller's), the group's total and the resale's price.
    expect(last24Hours.revenue_by_kind).toEqual({ purchase: { USD: 2 * card }, group: { USD: group.total }, resale: { USD: 15_000 } });
    expect(debits).toBe(2 * card + group.total + 15_000);
  });

  it('counts the group and the resale in the payment metrics, each by its kind', async () => {
    const all = (await get(`/api/v1/payments/metrics?position=${position}`)).json<{ revenue: { currency: string; captured: number }[]; outcomes: { completed: number } }>();
    expect(all.outcomes.completed).toBe(4);
    expect(all.revenue).toEqual([expect.objectContaining({ currency: 'USD', captured: 2 * card + group.total + 15_000 })]);
    const groups = (await get(`/api/v1/payments/metrics?kind=group&position=${position}`)).json<{ revenue: { captured: number }[] }>();
    expect(groups.revenue).toEqual([expect.objectContaining({ captured: group.total })]);
    const body = await eventually(async () => {
      const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
      return text.includes('payment_transactions_total{status="completed",method="card",kind="resale"} 1') ? text : undefined;
    });
    expect(body).toContain('payment_transactions_total{status="completed",method="card",kind="group"} 1');
    expect(body).toContain('payment_transactions_total{status="completed",method="card",kind="purchase"} 2');
  });

  it('keeps the transaction route to card purchases: a group or an escrow id is 404 there', async () => {
    for (const id of [group.groupId, escrowId]) {
      const response = await get(`/api/v1/payments/transaction/${id}`);
      expect(response.statusCode, id).toBe(404);
      expect(response.json()).toMatchObject({ code: 'PAYMENT_NOT_FOUND' });
    }
  });

  it('rebuilds to the same rows, and verify finds revenue and ledger in agreement', async () => {
    const report = await t.tessera.readSide.verify();
    expect(report.ok, JSON.stringify(report.projections.filter((p) => !p.ok))).toBe(true);
  });
});
