import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { venueAccountStreamId } from '../../../src/events/venue-account.js';
import { venueStreamId } from '../../../src/events/venue.js';
import { signToken, testApp, type TestApp } from '../../support/app.js';
import { completedPurchase, sqlBackends, ticketTypeAt, venueAt } from '../../support/payments-http.js';
import { NASHVILLE } from '../../support/payments.js';
import { eventually } from '../../support/poll.js';

const DAY_MS = 86_400_000;
const ENV = {
  DEADLINE_POLL_MS: '20',
  PM_RETRY_INITIAL_MS: '5',
  PM_RETRY_MAX_MS: '20',
  SETTLEMENT_DELAY_MS: '0',
  VENUE_RESERVE_BPS: '1000',
  PAYOUT_ACCOUNT_CHANGE_HOLD_MS: String(DAY_MS),
};

// Tokens outlive the day the test clock jumps over.
const asAdmin = async () => ({ authorization: `Bearer ${await signToken({ role: 'admin', sub: 'admin-1', expiresIn: 3 * 86_400 })}` });
const asManagerOf = async (venueId: string) => ({
  authorization: `Bearer ${await signToken({ role: 'venue_manager', sub: 'manager-1', venues: [venueId], expiresIn: 3 * 86_400 })}`,
});

describe.each(sqlBackends())('a change of payout account holds payouts (%s)', (backend) => {
  let t: TestApp;
  // The clock routes give commands (AppServices.clock); the modules' background work keeps real time.
  let offsetMs = 0;
  const clock = () => new Date(Date.now() + offsetMs);

  beforeAll(async () => {
    t = await testApp({ backend, background: true, env: ENV, services: { clock } });
  });
  afterAll(() => t.close());

  const setPayoutAccount = async (venueId: string, payoutAccount: string) =>
    t.app.inject({ method: 'PUT', url: `/api/v1/venues/${venueId}`, headers: await asAdmin(), payload: { name: 'Ryman Auditorium', address: NASHVILLE, payoutAccount } });
  const payout = async (venueId: string, amount = 10_000) =>
    t.app.inject({
      method: 'POST',
      url: `/api/v1/venues/${venueId}/payout`,
      headers: { ...(await asManagerOf(venueId)), 'idempotency-key': randomUUID() },
      payload: { amount },
    });

  /** A venue with $300 of sales settled into available. */
  async function venueWithSales(): Promise<string> {
    const venueId = await venueAt(t);
    await completedPurchase(t, venueId, { quantity: 3 });
    await eventually(async () => (((await t.tessera.services.venues.account(venueId)).balances.USD?.available ?? 0) >= 20_000 ? true : undefined));
    return venueId;
  }

  it('pays a venue registered with its payout account at once', async () => {
    offsetMs = 0;
    const venueId = randomUUID();
    const registered = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/venues/${venueId}`,
      headers: await asAdmin(),
      payload: { name: 'Ryman Auditorium', address: NASHVILLE, payoutAccount: 'acct_first' },
    });
    expect(registered.statusCode).toBe(201);
    await ticketTypeAt(t, venueId, 10_000);
    await completedPurchase(t, venueId, { quantity: 3 });
    await eventually(async () => (((await t.tessera.services.venues.account(venueId)).balances.USD?.available ?? 0) >= 20_000 ? true : undefined));
    const paid = await payout(venueId);
    expect(paid.statusCode, paid.body).toBe(200);
    const requested = (await t.storage.eventStore.readStream(venueAccountStreamId(venueId))).filter((e) => e.type === 'VenuePayoutRequested');
    expect(requested).toMatchObject([{ data: { destination: 'acct_first' } }]);
  });

  it('holds the sales a venue made without a payout account when one is first named', async () => {
    offsetMs = 0;
    const venueId = await venueWithSales();
    expect((await setPayoutAccount(venueId, 'acct_attacker')).statusCode).toBe(200);
    expect((await t.storage.eventStore.readStream(venueStreamId(venueId))).map((e) => e.type)).toEqual([
      'VenueRegistered',
      'VenueProfileUpdated',
      'VenuePayoutAccountChanged',
    ]);
    expect((await payout(venueId)).json()).toMatchObject({ code: 'PAYOUT_ON_HOLD' });
  });

  it('records the admin who replaced the payout account, holds payouts for a day, then pays the new account', async () => {
    offsetMs = 0;
    const venueId = await venueWithSales();
    expect((await setPayoutAccount(venueId, 'acct_first')).statusCode).toBe(200);
    const changedAt = clock();
    expect((await setPayoutAccount(venueId, 'acct_second')).statusCode).toBe(200);
    const [change] = await t.storage.eventStore.readStream(venueStreamId(venueId), { direction: 'backwards', maxCount: 1 });
    expect(change).toMatchObject({
      type: 'VenuePayoutAccountChanged',
      data: { venueId, payoutAccount: 'acct_second', previousPayoutAccount: 'acct_first', changedBy: 'admin:admin-1' },
      metadata: { actor: 'admin:admin-1' },
    });
    const holdUntil = (change!.data as { holdUntil: string }).holdUntil;
    expect(Date.parse(holdUntil) - changedAt.getTime()).toBeGreaterThanOrEqual(DAY_MS);
    expect(Date.parse(holdUntil) - changedAt.getTime()).toBeLessThan(DAY_MS + 5_000);

    const accountEvents = (await t.storage.eventStore.readStream(venueAccountStreamId(venueId))).length;
    offsetMs = DAY_MS - 60_000;
    const held = await payout(venueId);
    expect(held.statusCode).toBe(409);
    expect(held.json()).toMatchObject({ code: 'PAYOUT_ON_HOLD', details: { holdUntil } });
    expect(await t.storage.eventStore.readStream(venueAccountStreamId(venueId))).toHaveLength(accountEvents);

    offsetMs = DAY_MS + 5_000;
    const paid = await payout(venueId);
    expect(paid.statusCode, paid.body).toBe(200);
    const { payoutId } = paid.json<{ payoutId: string }>();
    const sent = await eventually(async () => {
      const account = await t.tessera.services.venues.account(venueId);
      return account.payouts[payoutId]?.status === 'sent' ? account.payouts[payoutId] : undefined;
    });
    expect(sent).toMatchObject({ amount: 10_000 });
    const requested = (await t.storage.eventStore.readStream(venueAccountStreamId(venueId))).filter((e) => e.type === 'VenuePayoutRequested');
    expect(requested).toMatchObject([{ data: { payoutId, destination: 'acct_second' } }]);
  });
});
