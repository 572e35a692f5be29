import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balancesUnder } from '../../../src/projections/ledger/queries.js';
import { testApp, signToken, type TestApp } from '../../support/app.js';
import { authAs, completedPurchase, refund, sqlBackends, venueAt } from '../../support/payments-http.js';
import { eventually } from '../../support/poll.js';
import { NASHVILLE } from '../../support/payments.js';

const ENV = {
  DEADLINE_POLL_MS: '20',
  PM_RETRY_INITIAL_MS: '5',
  PM_RETRY_MAX_MS: '20',
  PM_MAX_ATTEMPTS: '3',
  SETTLEMENT_DELAY_MS: '0',
  VENUE_RESERVE_BPS: '1000',
  VENUE_RESERVE_PERIOD_MS: '86400000',
  // These tests name payout accounts after the sales; the hold a change starts is tested in payout-account-hold.e2e.
  PAYOUT_ACCOUNT_CHANGE_HOLD_MS: '0',
};

async function managerOf(venueId: string) {
  return { authorization: `Bearer ${await signToken({ role: 'venue_manager', sub: 'manager-1', venues: [venueId] })}` };
}

async function payout(t: TestApp, venueId: string, body: Record<string, unknown>, headers?: Record<string, string>) {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/venues/${venueId}/payout`,
    headers: { ...(headers ?? (await managerOf(venueId))), 'idempotency-key': randomUUID() },
    payload: body,
  });
}

/** The venue's ledger accounts, once the ledger has caught up with every event. */
async function ledgerOf(t: TestApp, venueId: string): Promise<Record<string, number>> {
  // Wait for the account's last event: on PostgreSQL the store's visible head may lag behind it.
  const [last] = await t.storage.eventStore.readStream(`venue-account-${venueId}`, { direction: 'backwards', maxCount: 1 });
  expect(await t.tessera.readSide.waitFor('ledger', last!.position, 15_000)).toBe(true);
  const under = await balancesUnder(t.tessera.readSide.db, `venue:${venueId}:`);
  // Liabilities carry credit (negative) balances: report what is owed as a positive number.
  return Object.fromEntries(under.accounts.map((a) => [a.account.split(':')[2]!, 0 - Number(a.balance) || 0]));
}

/** A venue with settled sales: `tickets` $100 tickets, settled at once with a 10% reserve. */
async function venueWithSales(t: TestApp, tickets: number): Promise<{ venueId: string; available: number }> {
  const venueId = await venueAt(t);
  await completedPurchase(t, venueId, { quantity: tickets });
  const account = await eventually(async () => {
    const state = await t.tessera.services.venues.account(venueId);
    return (state.balances.USD?.available ?? 0) > 0 ? state : undefined;
  });
  return { venueId, available: account.balances.USD!.available };
}

describe.each(sqlBackends())('venue settlement and payouts on %s', (backend) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await testApp({ backend, background: true, env: ENV });
  });
  afterAll(() => t.close());

  it('settles a sale from pending to available, holding the reserve back', async () => {
    const { venueId, available } = await venueWithSales(t, 2);
    const ledger = await ledgerOf(t, venueId);
    expect(ledger.pending ?? 0).toBe(0);
    expect(ledger.available).toBe(available);
    expect(ledger.reserved).toBe(Math.round((available + (ledger.reserved ?? 0)) * 0.1));
  });

  it('draws a refund made after settlement from the sale reserve, leaving pending at zero', async () => {
    const venueId = await venueAt(t);
    const paid = await completedPurchase(t, venueId, { quantity: 2 });
    await eventually(async () => ((await t.tessera.services.venues.account(venueId)).sales[paid.id]?.settled ? true : undefined));
    const before = await ledgerOf(t, venueId);
    const refunded = await refund(t, paid.id, { amount: 5_000, headers: await authAs('admin') });
    expect(refunded.statusCode).toBe(200);
    await eventually(async () => (Object.keys((await t.tessera.services.venues.account(venueId)).sales[paid.id]?.takebacks ?? {}).length ? true : undefined));
    const after = await ledgerOf(t, venueId);
    expect(after.pending ?? 0).toBe(0);
    const venuePart = before.reserved! - after.reserved! + (before.available! - after.available!);
    expect(after.reserved).toBeLessThan(before.reserved!);
    expect(venuePart).toBeGreaterThan(0);
    expect(venuePart).toBeLessThanOrEqual(5_000);
  });

  it('never pays out more than was payable when 20 payouts race', async () => {
    const { venueId, available } = await venueWithSales(t, 10);
    const answers = await Promise.all(Array.from({ length: 20 }, async () => payout(t, venueId, { amount: 10_000 })));
    const accepted = answers.filter((a) => a.statusCode === 200);
    const refused = answers.filter((a) => a.statusCode !== 200);
    expect(accepted.length).toBe(Math.floor(available / 10_000));
    expect(refused.every((a) => a.statusCode === 400 && a.json<{ code: string }>().code === 'INSUFFICIENT_FUNDS')).toBe(true);
    await eventually(async () => {
      const state = await t.tessera.services.venues.account(venueId);
      return Object.values(state.payouts).every((p) => p.status === 'sent') ? true : undefined;
    });
    const ledger = await ledgerOf(t, venueId);
    expect(ledger.available).toBe(available - accepted.length * 10_000);
    expect(ledger.available).toBeGreaterThanOrEqual(0);
    expect(ledger.paid_out ?? 0).toBe(0);
    const balance = await t.app.inject({ method: 'GET', url: `/api/v1/venues/${venueId}/balance`, headers: await managerOf(venueId) });
    expect(balance.json()).toMatchObject({ balance: { available: ledger.available, pending: 0, reserved: ledger.reserved }, payoutInfo: { payable: ledger.available } });
  });

  it('answers a payout with its position, and the balance read with that position has the amount gone from available', async () => {
    const { venueId, available } = await venueWithSales(t, 2);
    const answer = await payout(t, venueId, { amount: 10_000 });
    expect(answer.statusCode, answer.body).toBe(200);
    const { position } = answer.json<{ position: string }>();
    expect(position).toMatch(/^\d+\/\d+$/);
    const balance = await t.app.inject({ method: 'GET', url: `/api/v1/venues/${venueId}/balance?position=${position}`, headers: await managerOf(venueId) });
    expect(balance.statusCode).toBe(200);
    expect(balance.json()).toMatchObject({ balance: { available: available - 10_000 }, payoutInfo: { payable: available - 10_000 } });
  });

  it('returns a payout the gateway refuses to available, fee included', async () => {
    const { venueId, available } = await venueWithSales(t, 2);
    const profile = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/venues/${venueId}`,
      headers: await authAs('admin'),
      payload: { name: 'Ryman Auditorium', address: NASHVILLE, payoutAccount: 'acct_sandbox_fails' },
    });
    expect(profile.statusCode).toBe(200);
    expect((await payout(t, venueId, { amount: 10_000, instant: true })).statusCode).toBe(200);
    await eventually(async () => {
      const state = await t.tessera.services.venues.account(venueId);
      return Object.values(state.payouts).every((p) => p.status === 'failed') ? true : undefined;
    });
    const ledger = await ledgerOf(t, venueId);
    expect(ledger.available).toBe(available);
    expect(ledger.paid_out ?? 0).toBe(0);
  });

  it('charges 1% for an instant payout and refuses one below $100 or for another venue', async () => {
    const { venueId } = await venueWithSales(t, 3);
    const instant = await payout(t, venueId, { amount: 20_000, instant: true });
    expect(instant.statusCode).toBe(200);
    expect(instant.json()).toMatchObject({ success: true, message: 'Payout initiated', amount: 20_000, fee: 200, netAmount: 19_800, type: 'instant', estimatedArrival: '30 minutes' });
    const small = await payout(t, venueId, { amount: 9_999 });
    expect(small.statusCode).toBe(422);
    expect(small.json<{ code: string }>().code).toBe('PAYOUT_BELOW_MINIMUM');
    const otherVenue = await payout(t, venueId, { amount: 10_000 }, await managerOf(randomUUID()));
    expect(otherVenue.statusCode).toBe(403);
    const float = await payout(t, venueId, { amount: 10_000.5 });
    expect(float.statusCode).toBe(422);
  });
});
