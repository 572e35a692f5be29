import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ticketIdFor } from '../../../src/domain/ids.js';
import { payeeAccountStreamId, type Payee } from '../../../src/events/payee-account.js';
import { userAccountId } from '../../../src/projections/ledger/accounts.js';
import { accountBalance, trialBalance } from '../../../src/projections/ledger/queries.js';
import { mintStatusOf } from '../../../src/projections/mint-status.js';
import { findTicket } from '../../../src/projections/tickets.js';
import { signToken, testApp, TEST_TENANT, type TestApp } from '../../support/app.js';
import { authAs, completedPurchase, sqlBackends, ticketTypeAt, venueAt } from '../../support/payments-http.js';
import { NASHVILLE } from '../../support/payments.js';
import { eventually } from '../../support/poll.js';

const SELLER = 'seller-1';
const BUYER = 'buyer-2';
const ARTIST = 'artist-7';
/** A venue whose resale rules name an artist taking 10%. */
const ARTIST_VENUE = '5d1e7a52-3c44-4f0e-9d7b-2a6f0c9e8b11';

const as = async (sub: string, tenantId = TEST_TENANT) => ({ authorization: `Bearer ${await signToken({ role: 'user', sub, tenantId })}` });
const managerOf = async (venueId: string) => ({ authorization: `Bearer ${await signToken({ role: 'venue_manager', sub: 'manager-1', venues: [venueId] })}` });

const ENV = {
  DEADLINE_POLL_MS: '10',
  ESCROW_TRANSFER_CHECK_MS: '20',
  MINT_POLL_MS: '20',
  PM_RETRY_INITIAL_MS: '10',
  CHAIN_CONFIRM_DELAY_MS: '50',
  // The hold after a change of payout account is the decider's (test/aggregates/payee-account.unit.test.ts).
  PAYOUT_ACCOUNT_CHANGE_HOLD_MS: '0',
  RESALE_VENUE_RULES: JSON.stringify({ [ARTIST_VENUE]: { artistId: ARTIST, artistRoyaltyBps: 1_000 } }),
};

const sellerPayee: Payee = { kind: 'seller', id: userAccountId(TEST_TENANT, SELLER) };

describe.each(sqlBackends())('Seller and royalty payouts: a resale pays out and its payable accounts return to zero (%s)', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ backend, background: true, env: ENV });
  });
  afterAll(() => t.close());

  /** An account's USD balance in the ledger (credit negative), 0 when it has none. */
  const balance = async (account: string): Promise<bigint> => {
    const found = await accountBalance(t.tessera.readSide.db, account).catch(() => null);
    return found?.balances.find((b) => b.currency === 'USD')?.balance ?? 0n;
  };
  const payableOf = async (payee: Payee) => (await t.tessera.services.payees.account(payee)).balances.USD?.payable ?? 0;
  const eventsOf = async (payee: Payee) => (await t.storage.eventStore.readStream(payeeAccountStreamId(payee))).map((e) => e.type);

  /** SELLER buys a ticket at face value `face`, lists it at `price`, BUYER buys it, and the escrow is released. */
  async function resale(venueId: string, face: number, price: number): Promise<string> {
    const payment = await completedPurchase(t, venueId, { price: face, headers: await as(SELLER) });
    const ticketId = ticketIdFor(payment.id, 0);
    await eventually(async () => ((await mintStatusOf(t.tessera.readSide.db, ticketId)) === 'minted' ? true : undefined), { timeoutMs: 10_000 });
    const listed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/marketplace/listings',
      headers: { ...(await as(SELLER)), 'idempotency-key': randomUUID() },
      payload: { ticketId, price, venueId },
    });
    expect(listed.statusCode, listed.body).toBe(201);
    const bought = await t.app.inject({
      method: 'POST',
      url: '/api/v1/marketplace/purchase',
      headers: { ...(await as(BUYER)), 'idempotency-key': randomUUID() },
      payload: { listingId: listed.json<{ listing: { id: string } }>().listing.id, paymentMethodId: 'pm_card_visa' },
    });
    expect(bought.statusCode, bought.body).toBe(200);
    await eventually(async () => ((await findTicket(t.tessera.readSide.db, ticketId))?.ownerId === BUYER ? true : undefined), { timeoutMs: 10_000 });
    return bought.json<{ escrow: { id: string } }>().escrow.id;
  }

  const payout = async (url: string, body: Record<string, unknown>, headers: Record<string, string>, key = randomUUID()) =>
    t.app.inject({ method: 'POST', url, headers: { ...headers, 'idempotency-key': key }, payload: body });
  const setAccount = async (url: string, payoutAccount: string | null, headers: Record<string, string>) =>
    t.app.inject({ method: 'PUT', url, headers, payload: { payoutAccount } });
  const sent = async (payee: Payee) =>
    eventually(async () => {
      const { payouts } = await t.tessera.services.payees.account(payee);
      const all = Object.values(payouts);
      return all.length > 0 && all.every((p) => p.status !== 'requested') ? all : undefined;
    });

  it('pays a reseller their proceeds through the sandbox transfer, and seller:<id>:payable returns to zero', async () => {
    const venueId = await venueAt(t);
    const escrowId = await resale(venueId, 10_000, 15_000);
    const payable = `seller:${sellerPayee.id}:payable`;
    await eventually(async () => ((await balance(payable)) === -12_750n ? true : undefined), { timeoutMs: 10_000 });
    await eventually(async () => ((await payableOf(sellerPayee)) === 12_750 ? true : undefined));
    const url = `/api/v1/sellers/${SELLER}/payout`;

    // Refusals write nothing.
    const before = await eventsOf(sellerPayee);
    const noAccount = await payout(url, { amount: 12_750 }, await as(SELLER));
    expect(noAccount.statusCode, noAccount.body).toBe(409);
    expect(noAccount.json()).toMatchObject({ code: 'PAYOUT_ACCOUNT_REQUIRED', path: url });
    const registered = await setAccount(`/api/v1/sellers/${SELLER}/payout-account`, 'acct_seller_1', await as(SELLER));
    expect(registered.statusCode, registered.body).toBe(200);
    expect(registered.json()).toMatchObject({ payoutAccount: 'acct_seller_1' });
    const small = await payout(url, { amount: 9_999 }, await as(SELLER));
    expect(small.statusCode).toBe(422);
    expect(small.json()).toMatchObject({ code: 'PAYOUT_BELOW_MINIMUM', details: { minimum: 10_000 } });
    const tooMuch = await payout(url, { amount: 12_751 }, await as(SELLER));
    expect(tooMuch.statusCode).toBe(400);
    expect(tooMuch.json()).toMatchObject({ code: 'INSUFFICIENT_FUNDS', details: { payable: 12_750 }, path: url });
    expect((await payout(url, { amount: 12_750 }, await as('someone-else'))).statusCode).toBe(403);
    expect((await payout(url, { amount: 12_750 }, await as(SELLER, 'tenant-2'))).statusCode).toBe(409);
    expect((await payout(url, { amount: 12_750.5 }, await as(SELLER))).statusCode).toBe(422);
    expect(await eventsOf(sellerPayee)).toEqual([...before, 'PayeePayoutAccountChanged']);

    const key = randomUUID();
    const paid = await payout(url, { amount: 12_750 }, await as(SELLER), key);
    expect(paid.statusCode, paid.body).toBe(200);
    expect(paid.json()).toMatchObject({ success: true, amount: 12_750, fee: 0, netAmount: 12_750, type: 'standard', destination: 'acct_seller_1' });
    const again = await payout(url, { amount: 12_750 }, await as(SELLER), key);
    expect(again.json<{ payoutId: string }>().payoutId).toBe(paid.json<{ payoutId: string }>().payoutId);

    const [done] = await sent(sellerPayee);
    expect(done).toMatchObject({ status: 'sent', destination: 'acct_seller_1', net: 12_750 });
    expect(done!.gatewayReference).toMatch(/^tr_/);
    await eventually(async () => ((await balance(payable)) === 0n && (await balance(`seller:${sellerPayee.id}:paid_out`)) === 0n ? true : undefined));
    expect((await eventsOf(sellerPayee)).filter((type) => type === 'PayeePayoutRequested')).toHaveLength(1);

    const statement = await t.app.inject({ method: 'GET', url: `/api/v1/sellers/${SELLER}/statement?startDate=2000-01-01`, headers: await as(SELLER) });
    expect(statement.statusCode, statement.body).toBe(200);
    expect(statement.json()).toMatchObject({
      account: payable,
      openingBalance: 0,
      closingBalance: 0,
      inTransit: 0,
      entries: [
        { entryType: 'escrow_released', amount: 12_750, fee: 750, escrowId, payoutId: null },
        { entryType: 'payout_requested', amount: -12_750, fee: 0, payoutId: paid.json<{ payoutId: string }>().payoutId },
      ],
    });
    const inverted = await t.app.inject({ method: 'GET', url: `/api/v1/sellers/${SELLER}/statement?startDate=2026-02-01&endDate=2026-01-01`, headers: await as(SELLER) });
    expect(inverted.statusCode).toBe(422);
    expect(inverted.json()).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/sellers/${SELLER}/statement`, headers: await as('someone-else') })).statusCode).toBe(403);

    expect((await trialBalance(t.tessera.readSide.db)).balanced).toBe(true);
    expect((await t.tessera.readSide.verify()).ok).toBe(true);
  });

  it('serialises racing payouts of one seller: never more than is payable', async () => {
    const venueId = await venueAt(t);
    const owedBefore = await payableOf(sellerPayee);
    await resale(venueId, 10_000, 15_000);
    await eventually(async () => ((await payableOf(sellerPayee)) === owedBefore + 12_750 ? true : undefined));
    const answers = await Promise.all(Array.from({ length: 6 }, async () => payout(`/api/v1/sellers/${SELLER}/payout`, { amount: 10_000 }, await as(SELLER))));
    const codes = answers.map((a) => a.statusCode).toSorted();
    expect(codes).toEqual([200, 400, 400, 400, 400, 400]);
    expect(await payableOf(sellerPayee)).toBe(owedBefore + 2_750);
  });

  it("pays an artist's and a venue's royalties, and their royalty accounts return to zero", async () => {
    const registered = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/venues/${ARTIST_VENUE}`,
      headers: await authAs('admin'),
      payload: { name: 'Ryman Auditorium', address: NASHVILLE, payoutAccount: 'acct_venue_1' },
    });
    expect(registered.statusCode, registered.body).toBe(201);
    await ticketTypeAt(t, ARTIST_VENUE, 100_000);
    await resale(ARTIST_VENUE, 100_000, 150_000);
    const artist: Payee = { kind: 'artist', id: ARTIST };
    const venue: Payee = { kind: 'venue', id: ARTIST_VENUE };
    await eventually(async () => ((await payableOf(artist)) === 15_000 && (await payableOf(venue)) === 15_000 ? true : undefined), { timeoutMs: 10_000 });

    const artistUrl = `/api/v1/royalties/artist/${ARTIST}/payout`;
    expect((await setAccount(`/api/v1/royalties/artist/${ARTIST}/payout-account`, 'acct_artist', await managerOf(ARTIST_VENUE))).statusCode).toBe(403);
    // A transfer the gateway refuses returns the amount, fee included, to what is owed.
    expect((await setAccount(`/api/v1/royalties/artist/${ARTIST}/payout-account`, 'acct_sandbox_fails', await authAs('admin'))).statusCode).toBe(200);
    expect((await payout(artistUrl, { amount: 15_000, instant: true }, await authAs('admin'))).statusCode).toBe(200);
    const [refused] = await sent(artist);
    expect(refused).toMatchObject({ status: 'failed', destination: 'acct_sandbox_fails' });
    expect(await payableOf(artist)).toBe(15_000);
    await eventually(async () => ((await balance(`royalty:artist:${ARTIST}`)) === -15_000n && (await balance(`royalty:artist:${ARTIST}:paid_out`)) === 0n ? true : undefined));
    expect((await setAccount(`/api/v1/royalties/artist/${ARTIST}/payout-account`, 'acct_artist', await authAs('admin'))).statusCode).toBe(200);
    expect((await payout(artistUrl, { amount: 15_000 }, await managerOf(ARTIST_VENUE))).statusCode).toBe(403);
    expect((await payout(artistUrl, { amount: 15_001 }, await authAs('admin'))).json()).toMatchObject({ code: 'INSUFFICIENT_FUNDS', details: { payable: 15_000 } });
    const artistPaid = await payout(artistUrl, { amount: 15_000, instant: true }, await authAs('admin'));
    expect(artistPaid.statusCode, artistPaid.body).toBe(200);
    expect(artistPaid.json()).toMatchObject({ amount: 15_000, fee: 150, netAmount: 14_850, type: 'instant', destination: 'acct_artist' });

    const venueUrl = `/api/v1/royalties/venue/${ARTIST_VENUE}/payout`;
    expect((await payout(venueUrl, { amount: 15_000 }, await managerOf(randomUUID()))).statusCode).toBe(403);
    // A venue royalty payout the gateway refuses returns the money; the royalty report counts
    // only what releases earned, not what came back.
    const payTo = async (payoutAccount: string) =>
      t.app.inject({ method: 'PUT', url: `/api/v1/venues/${ARTIST_VENUE}`, headers: await authAs('admin'), payload: { name: 'Ryman Auditorium', address: NASHVILLE, payoutAccount } });
    expect((await payTo('acct_sandbox_fails')).statusCode).toBeLessThan(300);
    expect((await payout(venueUrl, { amount: 15_000 }, await managerOf(ARTIST_VENUE))).statusCode).toBe(200);
    expect((await sent(venue))[0]).toMatchObject({ status: 'failed' });
    await eventually(async () => ((await balance(`royalty:venue:${ARTIST_VENUE}`)) === -15_000n && (await balance(`royalty:venue:${ARTIST_VENUE}:paid_out`)) === 0n ? true : undefined));
    const report = await t.app.inject({ method: 'GET', url: `/api/v1/marketplace/venues/${ARTIST_VENUE}/royalties`, headers: await managerOf(ARTIST_VENUE) });
    expect(report.statusCode, report.body).toBe(200);
    expect(report.json()).toMatchObject({ totalRoyalties: 15_000, transactionCount: 1 });
    expect((await payTo('acct_venue_1')).statusCode).toBeLessThan(300);
    const venuePaid = await payout(venueUrl, { amount: 15_000 }, await managerOf(ARTIST_VENUE));
    expect(venuePaid.statusCode, venuePaid.body).toBe(200);
    expect(venuePaid.json()).toMatchObject({ destination: 'acct_venue_1' });

    await eventually(async () => (Object.values((await t.tessera.services.payees.account(artist)).payouts).some((p) => p.status === 'sent') ? true : undefined));
    await sent(venue);
    await eventually(async () =>
      (await balance(`royalty:artist:${ARTIST}`)) === 0n &&
      (await balance(`royalty:artist:${ARTIST}:paid_out`)) === 0n &&
      (await balance(`royalty:venue:${ARTIST_VENUE}`)) === 0n
        ? true
        : undefined,
    );
    const statement = await t.app.inject({ method: 'GET', url: `/api/v1/royalties/artist/${ARTIST}/statement`, headers: await authAs('admin') });
    expect(statement.statusCode, statement.body).toBe(200);
    expect(statement.json()).toMatchObject({
      closingBalance: 0,
      entries: [
        { entryType: 'escrow_released', amount: 15_000 },
        { entryType: 'payout_requested', amount: -15_000, fee: 150 },
        { entryType: 'payout_reversed', amount: 15_000, fee: -150 },
        { entryType: 'payout_requested', amount: -15_000, fee: 150 },
      ],
    });
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/royalties/venue/${ARTIST_VENUE}/statement`, headers: await managerOf(ARTIST_VENUE) })).statusCode).toBe(200);
    expect((await trialBalance(t.tessera.readSide.db)).balanced).toBe(true);
  });
});
