import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePosition, positionToString } from '../../../src/eventstore/event-store.js';
import { projections } from '../../../src/projections/all.js';
import { testApp, type TestApp } from '../../support/app.js';
import { lastPositionOf } from '../../support/payment-records.js';
import { authAs, purchase, refund, sqlBackends, venueAt, type ProcessAnswer } from '../../support/payments-http.js';
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
