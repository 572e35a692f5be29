import { randomUUID } from 'node:crypto';
import { customerRefundsAccount, sellerPayableAccount } from '../../../src/projections/ledger/accounts.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listingIdFor, listingHandler } from '../../../src/commands/escrow.js';
import { comparePositions, parsePosition, positionToString } from '../../../src/eventstore/event-store.js';
import { escrowStreamId } from '../../../src/events/escrow.js';
import { accountBalance } from '../../../src/projections/ledger/queries.js';
import { findTicket } from '../../../src/projections/tickets.js';
import { signToken, testApp, TEST_TENANT, type TestApp } from '../../support/app.js';
import { authAs, completedPurchase, paymentState, refund, venueAt } from '../../support/payments-http.js';
import { eventually } from '../../support/poll.js';
import { ticketIdFor } from '../../../src/domain/ids.js';
import { mintStatusOf } from '../../../src/projections/mint-status.js';

const SELLER = 'seller-1';
const BUYER = 'buyer-2';

const as = async (sub: string) => ({ authorization: `Bearer ${await signToken({ role: 'user', sub })}` });
/** The same user id in another tenant: a different person, who must see nothing of tenant-1's resales. */
const OTHER_TENANT = 'tenant-2';
const inOtherTenant = async (sub: string) => ({ authorization: `Bearer ${await signToken({ role: 'user', sub, tenantId: OTHER_TENANT })}` });

/** A ticket bought at face value `price` by SELLER, once the tickets read model shows it paid. */
async function ownedTicket(t: TestApp, venueId: string, price = 10_000): Promise<string> {
  return (await mintedTicket(t, venueId, price)).ticketId;
}

async function paidTicket(t: TestApp, venueId: string, price = 10_000): Promise<{ ticketId: string; paymentId: string }> {
  const payment = await completedPurchase(t, venueId, { price, headers: await as(SELLER) });
  const ticketId = ticketIdFor(payment.id, 0);
  await eventually(async () => ((await findTicket(t.tessera.readSide.db, ticketId))?.status === 'active' ? true : undefined));
  return { ticketId, paymentId: payment.id };
}

/** A paid ticket whose NFT is minted: only such a ticket may be listed. */
async function mintedTicket(t: TestApp, venueId: string, price = 10_000): Promise<{ ticketId: string; paymentId: string }> {
  const ticket = await paidTicket(t, venueId, price);
  await eventually(async () => ((await mintStatusOf(t.tessera.readSide.db, ticket.ticketId)) === 'minted' ? true : undefined), { timeoutMs: 10_000 });
  return ticket;
}

async function list(t: TestApp, body: Record<string, unknown>, sub = SELLER) {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/marketplace/listings',
    headers: { ...(await as(sub)), 'idempotency-key': randomUUID() },
    payload: body,
  });
}

async function buy(t: TestApp, listingId: string, sub = BUYER) {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/marketplace/purchase',
    headers: { ...(await as(sub)), 'idempotency-key': randomUUID() },
    payload: { listingId, paymentMethodId: 'pm_card_visa' },
  });
}

async function escrowStatus(t: TestApp, escrowId: string): Promise<string> {
  const response = await t.app.inject({ method: 'GET', url: `/api/v1/marketplace/escrows/${escrowId}`, headers: await as(BUYER) });
  return response.json<{ escrow: { status: string } }>().escrow.status;
}

/** An account's balance in USD as the ledger has it (credit negative), 0 when it has none. */
async function balance(t: TestApp, account: string): Promise<bigint> {
  const found = await accountBalance(t.tessera.readSide.db, account).catch(() => null);
  return found?.balances.find((b) => b.currency === 'USD')?.balance ?? 0n;
}

const fast = {
  DEADLINE_POLL_MS: '10',
  ESCROW_TRANSFER_CHECK_MS: '20',
  MINT_POLL_MS: '20',
  PM_RETRY_INITIAL_MS: '10',
};

describe('Resale through escrow: list, buy, transfer confirmed, released', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ background: true, env: { ...fast, CHAIN_CONFIRM_DELAY_MS: '50' } });
  });
  afterAll(() => t.close());

  it('releases the escrow to seller, venue and platform once the transfer is confirmed, and the escrow account ends at zero', async () => {
    const venueId = await venueAt(t);
    const ticketId = await ownedTicket(t, venueId);

    const listed = await list(t, { ticketId, price: 15_000, venueId });
    expect(listed.statusCode, listed.body).toBe(201);
    const listing = listed.json<{ listing: { id: string; status: string }; priceInfo: unknown }>();
    expect(listing.listing).toMatchObject({ ticketId, sellerId: SELLER, price: 15_000, originalPrice: 10_000, status: 'active' });
    expect(listing.priceInfo).toEqual({ valid: true, originalPrice: 10_000, maxAllowedPrice: 25_000, minAllowedPrice: 5_000 });

    const bought = await buy(t, listing.listing.id);
    expect(bought.statusCode, bought.body).toBe(200);
    const { escrow } = bought.json<{ escrow: { id: string; status: string } }>();
    expect(escrow).toMatchObject({ amount: 15_000, sellerPayout: 12_750, venueRoyalty: 1_500, artistRoyalty: 0, platformFee: 750, status: 'funded' });

    await eventually(async () => ((await escrowStatus(t, escrow.id)) === 'released' ? true : undefined), { timeoutMs: 10_000 });
    await eventually(async () => ((await balance(t, sellerPayableAccount(TEST_TENANT, SELLER))) === -12_750n ? true : undefined), { timeoutMs: 10_000 });
    expect(await balance(t, `escrow:${escrow.id}`)).toBe(0n);
    expect(await balance(t, `royalty:venue:${venueId}`)).toBe(-1_500n);
    const escrowAccount = await accountBalance(t.tessera.readSide.db, `escrow:${escrow.id}`);
    expect(escrowAccount.balances[0]).toMatchObject({ debits: 15_000n, credits: 15_000n });

    await eventually(async () => ((await findTicket(t.tessera.readSide.db, ticketId))?.ownerId === BUYER ? true : undefined));
    expect((await listingHandler.load(t.storage.eventStore, listing.listing.id)).state.status).toBe('sold');

    const manager = { authorization: `Bearer ${await signToken({ role: 'venue_manager', sub: 'manager-1', venues: [venueId] })}` };
    const report = await t.app.inject({ method: 'GET', url: `/api/v1/marketplace/venues/${venueId}/royalties?startDate=2000-01-01`, headers: manager });
    expect(report.statusCode, report.body).toBe(200);
    expect(report.json()).toEqual({
      totalRoyalties: 1_500,
      transactionCount: 1,
      averageRoyalty: 1_500,
      byEvent: [{ eventId: '6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b', eventName: null, royalties: 1_500, transactions: 1 }],
    });
    const outsider = await t.app.inject({ method: 'GET', url: `/api/v1/marketplace/venues/${venueId}/royalties`, headers: { authorization: `Bearer ${await signToken({ role: 'venue_manager', sub: 'm2', venues: [] })}` } });
    expect(outsider.statusCode).toBe(403);

    // The tickets read model and the ledger rebuild from the events to the same rows.
    expect((await t.tessera.readSide.verify()).ok).toBe(true);
  });

  it('refuses a royalty report whose period ends before it starts with 422 VALIDATION_ERROR, as the other reports do', async () => {
    const venueId = await venueAt(t);
    const manager = { authorization: `Bearer ${await signToken({ role: 'venue_manager', sub: 'manager-1', venues: [venueId] })}` };
    const url = `/api/v1/marketplace/venues/${venueId}/royalties`;
    for (const query of ['startDate=2026-03-01&endDate=2026-02-01', 'startDate=2026-03-01T12:00:00Z&endDate=2026-03-01T11:59:59Z']) {
      const inverted = await t.app.inject({ method: 'GET', url: `${url}?${query}`, headers: manager });
      expect(inverted.statusCode, query).toBe(422);
      expect(inverted.json()).toEqual({
        error: 'Validation failed',
        code: 'VALIDATION_ERROR',
        timestamp: expect.any(String) as string,
        path: url,
        errors: [{ field: 'query.endDate', message: 'must not be before startDate' }],
      });
    }
    // One day's report, and a period open at either end, are answered.
    for (const query of ['startDate=2026-03-01&endDate=2026-03-01', 'startDate=2026-03-01', 'endDate=2026-03-01']) {
      expect((await t.app.inject({ method: 'GET', url: `${url}?${query}`, headers: manager })).statusCode, query).toBe(200);
    }
  });

  it('refuses a price above or below the caps with the allowed range, and writes nothing', async () => {
    const venueId = await venueAt(t);
    const ticketId = await ownedTicket(t, venueId);
    for (const price of [25_001, 4_999]) {
      const refused = await list(t, { ticketId, price, venueId });
      expect(refused.statusCode, refused.body).toBe(422);
      expect(refused.json()).toMatchObject({
        code: 'PRICE_OUTSIDE_LIMITS',
        path: '/api/v1/marketplace/listings',
        details: { price, originalPrice: 10_000, minAllowedPrice: 5_000, maxAllowedPrice: 25_000 },
      });
    }
    expect((await listingHandler.load(t.storage.eventStore, listingIdFor(ticketId, 0))).state.status).toBe('none');
  });

  it("refuses to list someone else's ticket, a ticket twice, and a seller buying their own listing", async () => {
    const venueId = await venueAt(t);
    const ticketId = await ownedTicket(t, venueId);
    expect((await list(t, { ticketId, price: 12_000, venueId }, BUYER)).statusCode).toBe(403);
    const first = await list(t, { ticketId, price: 12_000, venueId });
    expect(first.statusCode).toBe(201);
    expect((await list(t, { ticketId, price: 13_000, venueId })).json()).toMatchObject({ code: 'LISTING_ALREADY_EXISTS' });
    const own = await buy(t, first.json<{ listing: { id: string } }>().listing.id, SELLER);
    expect(own.json()).toMatchObject({ code: 'CANNOT_BUY_OWN_LISTING' });
    expect(own.statusCode).toBe(422);
  });

  it("refuses a same-id user of another tenant: listing the seller's ticket, buying its listing, reading and disputing its escrow", async () => {
    const venueId = await venueAt(t);
    const ticketId = await ownedTicket(t, venueId);
    const listAs = async (headers: Record<string, string>) =>
      t.app.inject({ method: 'POST', url: '/api/v1/marketplace/listings', headers: { ...headers, 'idempotency-key': randomUUID() }, payload: { ticketId, price: 12_000, venueId } });
    const foreignList = await listAs(await inOtherTenant(SELLER));
    expect(foreignList.statusCode, foreignList.body).toBe(403);
    expect(foreignList.json()).toMatchObject({ code: 'FORBIDDEN' });
    expect((await listingHandler.load(t.storage.eventStore, listingIdFor(ticketId, 0))).state.status).toBe('none');

    const listingId = (await listAs(await as(SELLER))).json<{ listing: { id: string } }>().listing.id;
    const foreignBuy = await t.app.inject({
      method: 'POST',
      url: '/api/v1/marketplace/purchase',
      headers: { ...(await inOtherTenant(BUYER)), 'idempotency-key': randomUUID() },
      payload: { listingId, paymentMethodId: 'pm_card_visa' },
    });
    expect(foreignBuy.statusCode, foreignBuy.body).toBe(403);
    expect((await listingHandler.load(t.storage.eventStore, listingId)).state.status).toBe('active');

    const escrowId = (await buy(t, listingId)).json<{ escrow: { id: string } }>().escrow.id;
    for (const sub of [BUYER, SELLER]) {
      const read = await t.app.inject({ method: 'GET', url: `/api/v1/marketplace/escrows/${escrowId}`, headers: await inOtherTenant(sub) });
      expect(read.statusCode, read.body).toBe(403);
      const disputed = await t.app.inject({
        method: 'POST',
        url: `/api/v1/marketplace/escrows/${escrowId}/dispute`,
        headers: { ...(await inOtherTenant(sub)), 'idempotency-key': randomUUID() },
        payload: { reason: 'not mine' },
      });
      expect(disputed.statusCode, disputed.body).toBe(403);
    }
    expect((await t.tessera.services.resale.getEscrow(escrowId)).status).not.toBe('disputed');
    // The buyer and an admin of any tenant still read it.
    const own = await t.app.inject({ method: 'GET', url: `/api/v1/marketplace/escrows/${escrowId}`, headers: await as(BUYER) });
    expect(own.statusCode, own.body).toBe(200);
    const admin = { authorization: `Bearer ${await signToken({ role: 'admin', sub: 'admin-9', tenantId: OTHER_TENANT })}` };
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/marketplace/escrows/${escrowId}`, headers: admin })).statusCode).toBe(200);
  });

  it('refuses royalty report dates that are not ISO-8601 dates in the years 1970 to 9999', async () => {
    const venueId = await venueAt(t);
    const manager = { authorization: `Bearer ${await signToken({ role: 'venue_manager', sub: 'manager-1', venues: [venueId] })}` };
    const report = (query: string) => t.app.inject({ method: 'GET', url: `/api/v1/marketplace/venues/${venueId}/royalties?${query}`, headers: manager });
    for (const query of ['startDate=1', 'startDate=0000-01-01', 'endDate=1969-12-31', 'endDate=2020-01-01T00:00:00']) {
      const refused = await report(query);
      expect(refused.statusCode, `${query}: ${refused.body}`).toBe(422);
      expect(refused.json()).toMatchObject({ code: 'VALIDATION_ERROR' });
    }
    expect((await report('startDate=1970-01-01&endDate=2020-01-01T00:00:00%2B02:00')).statusCode).toBe(200);
  });

  it('reads royalties once the ledger has reached a given position, and answers 409 READ_MODEL_BEHIND when it does not in time', async () => {
    const venueId = await venueAt(t);
    const manager = { authorization: `Bearer ${await signToken({ role: 'venue_manager', sub: 'manager-1', venues: [venueId] })}` };
    const report = (query: string) => t.app.inject({ method: 'GET', url: `/api/v1/marketplace/venues/${venueId}/royalties?${query}`, headers: manager });
    const [last] = await t.storage.eventStore.readAll({ after: 'start', maxCount: 1 });
    expect((await report(`position=${positionToString(last!.position)}`)).statusCode).toBe(200);
    const behind = await report('position=999999999/999999999');
    expect(behind.statusCode).toBe(409);
    expect(behind.json()).toMatchObject({ code: 'READ_MODEL_BEHIND', details: { projection: 'ledger' } });
    expect((await report('position=soon')).json()).toMatchObject({ code: 'VALIDATION_ERROR', errors: [{ field: 'query.position' }] });
  });

  it('refuses to sell a listed ticket whose purchase was refunded since', async () => {
    const venueId = await venueAt(t);
    const { ticketId, paymentId } = await mintedTicket(t, venueId);
    const listingId = (await list(t, { ticketId, price: 10_000, venueId })).json<{ listing: { id: string } }>().listing.id;
    // The seller may not refund a listed ticket (below); an admin may, and the listing cannot then sell.
    expect((await refund(t, paymentId, { headers: await authAs('admin') })).statusCode).toBe(200);
    await eventually(async () => (((await findTicket(t.tessera.readSide.db, ticketId))?.refunded ?? 0) > 0 ? true : undefined));
    const refused = await buy(t, listingId);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: 'TICKET_NOT_RESELLABLE', details: { listingId } });
    expect((await listingHandler.load(t.storage.eventStore, listingId)).state.status).toBe('active');
  });
});

describe('Resale: the seller cannot take back the purchase of a ticket they resell', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ background: true, env: { ...fast, CHAIN_CONFIRM_DELAY_MS: '1500', ESCROW_RELEASE_TIMEOUT_MS: '60000' } });
  });
  afterAll(() => t.close());

  it('refuses to list a ticket whose NFT is not minted yet, and lists it once minted', async () => {
    const venueId = await venueAt(t);
    const { ticketId } = await paidTicket(t, venueId);
    const early = await list(t, { ticketId, price: 10_000, venueId });
    expect(early.statusCode, early.body).toBe(409);
    expect(early.json()).toMatchObject({ code: 'TICKET_NOT_MINTED', details: { ticketId } });
    expect((await listingHandler.load(t.storage.eventStore, listingIdFor(ticketId, 0))).state.status).toBe('none');
    await eventually(async () => ((await mintStatusOf(t.tessera.readSide.db, ticketId)) === 'minted' ? true : undefined), { timeoutMs: 10_000 });
    expect((await list(t, { ticketId, price: 10_000, venueId })).statusCode).toBe(201);
  });

  it("refuses the seller's refund while the ticket is listed, held in escrow, and after it was resold, and writes nothing", async () => {
    const venueId = await venueAt(t);
    const { ticketId, paymentId } = await mintedTicket(t, venueId);
    const listingId = (await list(t, { ticketId, price: 10_000, venueId })).json<{ listing: { id: string } }>().listing.id;
    const listed = await refund(t, paymentId, { headers: await as(SELLER) });
    expect(listed.statusCode, listed.body).toBe(409);
    expect(listed.json()).toMatchObject({ code: 'TICKET_IN_RESALE', details: { ticketId, listingId, status: 'active' } });
    // Someone else is refused as before, and told nothing of the listing.
    expect((await refund(t, paymentId, { headers: await as(BUYER) })).json()).toMatchObject({ code: 'FORBIDDEN' });

    const escrowId = (await buy(t, listingId)).json<{ escrow: { id: string } }>().escrow.id;
    const held = await refund(t, paymentId, { headers: await as(SELLER) });
    expect(held.json()).toMatchObject({ code: 'TICKET_IN_RESALE', details: { status: 'reserved' } });

    await eventually(async () => ((await escrowStatus(t, escrowId)) === 'released' ? true : undefined), { timeoutMs: 10_000 });
    await eventually(async () => ((await listingHandler.load(t.storage.eventStore, listingId)).state.status === 'sold' ? true : undefined));
    const resold = await refund(t, paymentId, { headers: await as(SELLER) });
    expect(resold.statusCode).toBe(409);
    expect(resold.json()).toMatchObject({ code: 'TICKET_RESOLD', details: { ticketId, listingId } });
    const payment = await paymentState(t, paymentId);
    expect(Object.keys(payment.refunds)).toHaveLength(0);
    expect(payment.status).toBe('completed');
  });

  it('refunds the resale buyer instead of releasing when the source payment was refunded while the ticket sat in escrow', async () => {
    const venueId = await venueAt(t);
    const { ticketId, paymentId } = await mintedTicket(t, venueId);
    const listingId = (await list(t, { ticketId, price: 12_000, venueId })).json<{ listing: { id: string } }>().listing.id;
    const bought = await buy(t, listingId);
    expect(bought.statusCode, bought.body).toBe(200);
    const escrowId = bought.json<{ escrow: { id: string } }>().escrow.id;
    // An admin's refund is not refused: the transfer's confirmation then finds the payment refunded.
    expect((await refund(t, paymentId, { headers: await authAs('admin') })).statusCode).toBe(200);

    await eventually(async () => ((await t.tessera.services.resale.getEscrow(escrowId)).refundPaid ? true : undefined), { timeoutMs: 10_000 });
    const events = await t.storage.eventStore.readStream(`escrow-${escrowId}`);
    expect(events.map((e) => e.type)).not.toContain('EscrowReleased');
    expect(events.find((e) => e.type === 'EscrowRefunded')?.data).toMatchObject({ reason: 'source_payment_refunded' });
    await eventually(async () => ((await balance(t, `escrow:${escrowId}`)) === 0n && (await balance(t, customerRefundsAccount(TEST_TENANT, BUYER))) === 0n ? true : undefined));
    // Emptied once, by the refund: nothing was paid out to the seller, venue or platform.
    expect((await accountBalance(t.tessera.readSide.db, `escrow:${escrowId}`)).balances[0]).toMatchObject({ debits: 12_000n, credits: 12_000n });
    expect((await findTicket(t.tessera.readSide.db, ticketId))?.ownerId).toBe(SELLER);
  });
});

async function dispute(t: TestApp, escrowId: string, sub: string) {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/marketplace/escrows/${escrowId}/dispute`,
    headers: { ...(await as(sub)), 'idempotency-key': randomUUID() },
    payload: { reason: 'ticket never arrived' },
  });
}

describe('Resale through escrow: the transfer is never confirmed', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Mints confirm (a ticket must be minted to be listed); the transfer check never comes before the release deadline, which asks the chain itself.
    t = await testApp({ background: true, env: { ...fast, CHAIN_CONFIRM_DELAY_MS: '50', ESCROW_TRANSFER_CHECK_MS: '600000', ESCROW_RELEASE_TIMEOUT_MS: '1000' } });
  });
  afterAll(() => t.close());

  it('refunds the buyer when the release deadline passes, empties the escrow account and reopens the listing', async () => {
    const venueId = await venueAt(t);
    const ticketId = await ownedTicket(t, venueId);
    const listingId = (await list(t, { ticketId, price: 9_000, venueId })).json<{ listing: { id: string } }>().listing.id;
    const bought = await buy(t, listingId);
    expect(bought.statusCode, bought.body).toBe(200);
    const escrowId = bought.json<{ escrow: { id: string } }>().escrow.id;
    // The chain reverts the transfer: the release deadline finds it failed and refunds.
    const transfer = await eventually(async () => (await t.tessera.services.resale.getEscrow(escrowId)).transfer, { timeoutMs: 10_000 });
    await t.storage.sql.query('UPDATE sandbox_chain_transactions SET reverted = true WHERE tx_hash = $1', [transfer.txHash]);

    await eventually(async () => ((await t.tessera.services.resale.getEscrow(escrowId)).refundPaid ? true : undefined), { timeoutMs: 10_000 });
    expect(await escrowStatus(t, escrowId)).toBe('refunded');
    await eventually(async () => {
      const escrowAccount = await accountBalance(t.tessera.readSide.db, `escrow:${escrowId}`).catch(() => null);
      return escrowAccount?.balances[0]?.debits === 9_000n ? escrowAccount : undefined;
    });
    await eventually(async () => ((await balance(t, customerRefundsAccount(TEST_TENANT, BUYER))) === 0n && (await balance(t, `escrow:${escrowId}`)) === 0n ? true : undefined));
    expect(await balance(t, sellerPayableAccount(TEST_TENANT, SELLER))).toBe(0n);
    expect(await balance(t, `royalty:venue:${venueId}`)).toBe(0n);
    expect((await findTicket(t.tessera.readSide.db, ticketId))?.ownerId).toBe(SELLER);
    await eventually(async () => ((await listingHandler.load(t.storage.eventStore, listingId)).state.status === 'active' ? true : undefined));
    expect((await dispute(t, escrowId, BUYER)).json()).toMatchObject({ code: 'INVALID_STATE_TRANSITION' });
  });

  it('holds a disputed escrow past its deadline: neither released nor refunded, the money still in escrow', async () => {
    const venueId = await venueAt(t);
    const ticketId = await ownedTicket(t, venueId);
    const listingId = (await list(t, { ticketId, price: 11_000, venueId })).json<{ listing: { id: string } }>().listing.id;
    const escrowId = (await buy(t, listingId)).json<{ escrow: { id: string } }>().escrow.id;
    expect((await dispute(t, escrowId, 'stranger')).statusCode).toBe(403);
    const disputed = await dispute(t, escrowId, BUYER);
    expect(disputed.statusCode, disputed.body).toBe(200);
    expect(disputed.json()).toMatchObject({ escrow: { status: 'disputed' } });

    const deadline = await t.tessera.runtime.deadlines.find(`escrow-release:${escrowId}`);
    await eventually(async () => ((await t.tessera.runtime.deadlines.find(`escrow-release:${escrowId}`))?.firedAt ? true : undefined), { timeoutMs: 10_000 });
    expect(deadline).toBeDefined();
    expect(await escrowStatus(t, escrowId)).toBe('disputed');
    await eventually(async () => ((await balance(t, `escrow:${escrowId}`)) === -11_000n ? true : undefined));
  });
  it("answers the position of each resale write, and the escrow's ledger account read at the purchase's position shows it funded", async () => {
    const venueId = await venueAt(t);
    const ticketId = await ownedTicket(t, venueId);
    const listed = await list(t, { ticketId, price: 12_000, venueId });
    expect(listed.statusCode, listed.body).toBe(201);
    const listing = listed.json<{ listing: { id: string }; position: string }>();
    expect(listing.position).toMatch(/^\d+\/\d+$/);

    const bought = await buy(t, listing.listing.id);
    expect(bought.statusCode, bought.body).toBe(200);
    const purchase = bought.json<{ escrow: { id: string; status: string }; position: string }>();
    expect(purchase.escrow.status).toBe('funded');
    expect(purchase.position).toMatch(/^\d+\/\d+$/);
    // The answer's position covers the funding the answer shows, which comes after the listing.
    const funded = (await t.storage.eventStore.readStream(escrowStreamId(purchase.escrow.id))).find((e) => e.type === 'EscrowFunded')!;
    expect(comparePositions(parsePosition(purchase.position), funded.position)).toBeGreaterThanOrEqual(0);
    expect(comparePositions(parsePosition(purchase.position), parsePosition(listing.position))).toBeGreaterThan(0);

    const disputed = await dispute(t, purchase.escrow.id, BUYER);
    expect(disputed.statusCode, disputed.body).toBe(200);
    const dispute1 = disputed.json<{ escrow: { status: string }; position: string }>();
    expect(dispute1).toMatchObject({ escrow: { status: 'disputed' } });
    expect(dispute1.position).toMatch(/^\d+\/\d+$/);
    expect(comparePositions(parsePosition(dispute1.position), parsePosition(purchase.position))).toBeGreaterThan(0);

    // Read your writes: the ledger waits for the purchase's position, so the funding is booked (the dispute keeps it in escrow).
    const account = await t.app.inject({
      method: 'GET',
      url: `/api/v1/ledger/accounts/escrow:${purchase.escrow.id}?position=${purchase.position}`,
      headers: await authAs('admin'),
    });
    expect(account.statusCode, account.body).toBe(200);
    const read = account.json<{ balances: { currency: string; balance: number }[]; entries: { entryType: string }[] }>();
    expect(read.entries.map((e) => e.entryType)).toContain('escrow_funded');
    expect(read.balances).toMatchObject([{ currency: 'USD', balance: -12_000 }]);
  });
});
