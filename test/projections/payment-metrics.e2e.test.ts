import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFundedEscrow } from '../support/escrow-purchase.js';
import { appendCompletedGroup } from '../support/group-purchase.js';
import { openTestStorage, testApp, type TestApp, type TestStorage } from '../support/app.js';
import { completedPurchase, paymentState, purchase, refund, venueAt } from '../support/payments-http.js';
import { eventually } from '../support/poll.js';

/** One sample of the Prometheus text (0 when the series is absent). */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const scrape = async (t: TestApp) => (await t.app.inject({ method: 'GET', url: '/metrics' })).body;

const COMPLETED = 'payment_transactions_total{status="completed",method="card",kind="purchase"}';

describe('payment metrics on /metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ background: true });
  });
  afterAll(() => t.close());

  it('counts outcomes, amounts, refunds and processing time from what happened', async () => {
    const venueId = await venueAt(t, { tierOverride: 'pro' });
    await completedPurchase(t, venueId);
    const refundFails = await completedPurchase(t, venueId, { paymentMethodId: 'pm_card_refundFail' });
    expect((await purchase(t, venueId, { paymentMethodId: 'pm_card_chargeDeclined' })).statusCode).toBe(402);
    expect((await refund(t, refundFails.id, { amount: 1_000 })).statusCode).toBe(200);
    await eventually(async () => ((await paymentState(t, refundFails.id)).refundPending === 0 ? true : undefined));

    const text = await eventually(async () => {
      const body = await scrape(t);
      return sample(body, 'payment_refunds_total{status="failed",kind="purchase"}') === 1 ? body : undefined;
    });
    expect(sample(text, COMPLETED)).toBe(2);
    expect(sample(text, 'payment_transactions_total{status="failed",method="card",kind="purchase"}')).toBe(1);
    expect(sample(text, 'payment_refunds_total{status="requested",kind="purchase"}')).toBe(1);
    expect(sample(text, 'payment_amount_dollars_count{kind="purchase"}')).toBe(2);
    expect(sample(text, 'payment_amount_dollars_sum{kind="purchase"}')).toBeCloseTo(235.3, 6);
    expect(sample(text, 'payment_amount_dollars_bucket{le="250",kind="purchase"}')).toBe(2);
    expect(sample(text, 'payment_processing_duration_seconds_count{method="card"}')).toBe(3);
    expect(sample(text, 'payment_active_transactions')).toBe(0);
  });
});

describe('payment metrics of group purchases and resales', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ background: true });
  });
  afterAll(() => t.close());

  it('counts a completed group purchase and a funded resale by their kind, with their captured amounts', async () => {
    const venueId = await venueAt(t);
    const group = await appendCompletedGroup(t.storage.eventStore, { groupId: randomUUID(), venueId, unitPrice: 5_000, members: [{ ticketCount: 1, payerId: 'payer-a' }, { ticketCount: 1, payerId: 'payer-b' }] });
    await appendFundedEscrow(t.storage.eventStore, { escrowId: randomUUID(), venueId, price: 15_000, then: 'disputed' });
    const completed = group.events.find((e) => e.type === 'GroupPaymentCompleted');
    const groupDollars = completed?.type === 'GroupPaymentCompleted' ? completed.data.amount / 100 : 0;

    const text = await eventually(async () => {
      const body = await scrape(t);
      return sample(body, 'payment_transactions_total{status="completed",method="card",kind="resale"}') === 1 ? body : undefined;
    });
    expect(sample(text, 'payment_transactions_total{status="completed",method="card",kind="group"}')).toBe(1);
    expect(sample(text, 'payment_amount_dollars_sum{kind="group"}')).toBeCloseTo(groupDollars, 6);
    expect(sample(text, 'payment_amount_dollars_sum{kind="resale"}')).toBeCloseTo(150, 6);
    expect(sample(text, COMPLETED)).toBe(0);
  });
});

describe('payment metrics with two instances on one store', () => {
  let shared: TestStorage;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    shared = await openTestStorage('pglite');
    a = await testApp({ shared, background: true });
    b = await testApp({ shared, background: true });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await shared.cleanup();
  });

  it('counts each purchase once across the instances, whichever served it', async () => {
    const venueId = await venueAt(a, { tierOverride: 'pro' });
    await completedPurchase(a, venueId);
    await completedPurchase(b, venueId);
    await completedPurchase(b, venueId);
    const total = async () => sample(await scrape(a), COMPLETED) + sample(await scrape(b), COMPLETED);
    await eventually(async () => ((await total()) === 3 ? true : undefined));
    // One instance holds the counting subscription; the other counts nothing.
    const counts = [sample(await scrape(a), COMPLETED), sample(await scrape(b), COMPLETED)].sort();
    expect(counts).toEqual([0, 3]);
  });
});
