import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamEntries } from '../../../src/projections/ledger/queries.js';
import { groupPaymentStreamId } from '../../../src/events/group-payment.js';
import { comparePositions, parsePosition } from '../../../src/eventstore/event-store.js';
import { createSandboxChain } from '../../../src/gateways/sandbox-chain.js';
import { findTicket } from '../../../src/projections/tickets.js';
import { openTestStorage, testApp, type TestApp } from '../../support/app.js';
import { authAs, EVENT_ID, ticketTypeAt, ticketTypeFor, venueAt } from '../../support/payments-http.js';
import { eventually } from '../../support/poll.js';
import { ticketIdFor } from '../../../src/domain/ids.js';

const FAST = { MINT_POLL_MS: '20', DEADLINE_POLL_MS: '20', PM_RETRY_INITIAL_MS: '5', PM_RETRY_MAX_MS: '20', PM_MAX_ATTEMPTS: '3' };
/** Expiry soon after the shares it pays are held (two contributions take well under a second unloaded). */
const EXPIRING = { GROUP_PAYMENT_TTL_MS: '3000', GROUP_PAYMENT_REMINDER_MS: '0' };
const EVENT = EVENT_ID;
/** The groups buy tickets at 5,000 cents (groupVenueAt registers them). */
const TICKET_TYPE = ticketTypeFor(5_000);
const groupVenueAt = async (t: TestApp) => {
  const venueId = await venueAt(t);
  await ticketTypeAt(t, venueId, 5_000);
  return venueId;
};

interface Created {
  groupPayment: { id: string; totalAmount: number; status: string; members: { memberId: string; amountDue: number }[] };
  paymentLinks: { memberId: string; email: string; amount: number; link: string }[];
}

async function createGroup(t: TestApp, venueId: string, tickets: number[], organizer = 'organizer-1') {
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/group-payments/create',
    headers: { ...(await authAs('user', organizer)), 'idempotency-key': randomUUID() },
    payload: {
      venueId,
      eventId: EVENT,
      ticketSelections: [{ ticketTypeId: TICKET_TYPE, quantity: tickets.reduce((a, b) => a + b, 0), price: 5_000 }],
      members: tickets.map((ticketCount, i) => ({ email: `friend${i}@example.com`, name: `Friend ${i}`, ticketCount })),
    },
  });
}

type Link = Created['paymentLinks'][number];
const tokenOf = (link: Link) => new URL(link.link).searchParams.get('token') ?? undefined;

/** A member pays by their payment link: the link's token goes with the card. */
async function contribute(t: TestApp, groupId: string, link: Link, paymentMethodId = 'pm_card_visa', options: { token?: string | null; user?: string } = {}) {
  const token = options.token === undefined ? tokenOf(link) : (options.token ?? undefined);
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/group-payments/${groupId}/contribute/${link.memberId}`,
    headers: { ...(await authAs('user', options.user ?? `payer-${link.memberId}`)), 'idempotency-key': randomUUID() },
    payload: { paymentMethodId, ...(token ? { token } : {}) },
  });
}

async function status(t: TestApp, groupId: string) {
  const response = await t.app.inject({ method: 'GET', url: `/api/v1/group-payments/${groupId}/status`, headers: await authAs('user', 'organizer-1') });
  return response.json<{ group: { status: string; members: { status: string }[] }; summary: Record<string, number>; nftStatus?: { status: string } }>();
}

async function intentsOf(t: TestApp, groupId: string) {
  const { rows } = await t.storage.sql.query<{ amount: string; captured: string; status: string }>(
    `SELECT amount::text AS amount, captured::text AS captured, status FROM sandbox_gateway_intents WHERE metadata->>'groupId' = $1`,
    [groupId],
  );
  return rows.map((r) => ({ amount: Number(r.amount), captured: Number(r.captured), status: r.status }));
}

async function ledgerEntriesOf(t: TestApp, groupId: string) {
  const head = await t.storage.eventStore.headPosition();
  expect(await t.tessera.readSide.waitFor('ledger', head!, 15_000)).toBe(true);
  return streamEntries(t.tessera.readSide.db, groupPaymentStreamId(groupId));
}

describe('group payments over HTTP', () => {
  let t: TestApp;
  let venueId: string;

  beforeAll(async () => {
    // Long enough that a slow machine pays every share in time; expiry has its own app below.
    t = await testApp({ background: true, env: { ...FAST, GROUP_PAYMENT_TTL_MS: '60000', GROUP_PAYMENT_REMINDER_MS: '300' } });
    venueId = await groupVenueAt(t);
  });
  afterAll(() => t.close());

  it('completes one purchase when all three members pay, each charged their share', async () => {
    const created = await createGroup(t, venueId, [2, 1, 1]);
    expect(created.statusCode).toBe(201);
    const { groupPayment, paymentLinks } = created.json<Created>();
    expect(paymentLinks).toHaveLength(3);
    expect(paymentLinks.reduce((sum, l) => sum + l.amount, 0)).toBe(groupPayment.totalAmount);
    expect(paymentLinks[0]!.link).toContain(`/${groupPayment.id}/${paymentLinks[0]!.memberId}`);

    for (const link of paymentLinks) {
      const paid = await contribute(t, groupPayment.id, link);
      expect(paid.statusCode).toBe(200);
    }
    const done = await eventually(async () => {
      const s = await status(t, groupPayment.id);
      return s.group.status === 'completed' ? s : undefined;
    });
    expect(done.summary).toMatchObject({ totalMembers: 3, paidMembers: 3, percentageCollected: 100 });
    const intents = await intentsOf(t, groupPayment.id);
    expect(intents.map((i) => i.captured).sort()).toEqual(paymentLinks.map((l) => l.amount).sort());
    expect(intents.every((i) => i.status === 'succeeded')).toBe(true);
    const entries = await ledgerEntriesOf(t, groupPayment.id);
    expect(entries.filter((e) => e.entryType === 'sale')).toHaveLength(1);
    const sale = entries.find((e) => e.entryType === 'sale')!;
    expect(sale.postings.find((p) => p.account === 'gateway:clearing')!.amount).toBe(BigInt(groupPayment.totalAmount));

    // A purchase everywhere: its tickets go to the users who paid each member's share, in member
    // order by ticket count, and each is minted once; the status answers the group's nftStatus.
    const tickets = [0, 1, 2, 3].map((i) => ticketIdFor(groupPayment.id, i));
    const payers = paymentLinks.map((l) => `payer-${l.memberId}`);
    const minted = await eventually(async () => {
      const s = await status(t, groupPayment.id);
      return s.nftStatus?.status === 'completed' ? s.nftStatus : undefined;
    }, { timeoutMs: 10_000 });
    expect(minted).toMatchObject({ jobId: `mint-${groupPayment.id}`, progress: 100 });
    const counts = await createSandboxChain(t.storage.sql).mintCounts();
    expect(tickets.map((id) => counts.get(id))).toEqual([1, 1, 1, 1]);
    // The group stream's own last event (the store's head can lag behind another open transaction).
    const last = (await t.storage.eventStore.readStream(groupPaymentStreamId(groupPayment.id))).at(-1)!;
    expect(await t.tessera.readSide.waitFor('tickets', last.position, 15_000)).toBe(true);
    const owned = await Promise.all(tickets.map((id) => findTicket(t.tessera.readSide.db, id)));
    expect(owned.map((ticket) => [ticket?.ownerId, ticket?.status])).toEqual([payers[0], payers[0], payers[1], payers[2]].map((owner) => [owner, 'active']));
    expect((await t.tessera.readSide.verify()).ok).toBe(true);
  });

  it('reminds unpaid members through the mailer and counts the reminders', async () => {
    const { groupPayment, paymentLinks } = (await createGroup(t, venueId, [1, 1])).json<Created>();
    await contribute(t, groupPayment.id, paymentLinks[0]!);
    const remindedOf = async () =>
      (await t.storage.eventStore.readStream(groupPaymentStreamId(groupPayment.id)))
        .filter((e) => e.type === 'MemberReminded')
        .map((e) => (e.data as { memberId: string }).memberId);
    const reminded = await eventually(async () => ((await remindedOf()).length > 0 ? remindedOf() : undefined));
    expect(reminded).toEqual([paymentLinks[1]!.memberId]);
    const counted = await eventually(async () => {
      const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
      return /group_payment_reminders_total [1-9]/.test(metrics.body) ? true : undefined;
    });
    expect(counted).toBe(true);
  });

  it('lets only the organizer cancel, and cancelling releases the holds', async () => {
    const { groupPayment, paymentLinks } = (await createGroup(t, venueId, [1, 1])).json<Created>();
    await contribute(t, groupPayment.id, paymentLinks[0]!);
    const cancel = async (who: string) =>
      t.app.inject({
        method: 'POST',
        url: `/api/v1/group-payments/${groupPayment.id}/cancel`,
        headers: { ...(await authAs('user', who)), 'idempotency-key': randomUUID() },
        payload: { reason: 'plans changed' },
      });
    expect((await cancel('someone-else')).statusCode).toBe(403);
    const cancelled = await cancel('organizer-1');
    expect(cancelled.statusCode).toBe(200);
    await eventually(async () => ((await status(t, groupPayment.id)).group.members[0]!.status === 'released' ? true : undefined));
    expect((await intentsOf(t, groupPayment.id)).map((i) => i.status)).toEqual(['canceled']);
  });

  it("takes a share only with its payment link's token (or from the organizer), and shows the group only to its people", async () => {
    const { groupPayment, paymentLinks } = (await createGroup(t, venueId, [1, 1, 1])).json<Created>();
    const [first, second, third] = paymentLinks as [Link, Link, Link];
    const look = async (user: string, token?: string) =>
      (
        await t.app.inject({
          method: 'GET',
          url: `/api/v1/group-payments/${groupPayment.id}/status${token ? `?token=${token}` : ''}`,
          headers: await authAs('user', user),
        })
      ).statusCode;
    // No token, or another member's: refused, and nothing held.
    expect((await contribute(t, groupPayment.id, first, 'pm_card_visa', { token: null, user: 'stranger' })).statusCode).toBe(403);
    expect((await contribute(t, groupPayment.id, first, 'pm_card_visa', { token: tokenOf(second)!, user: 'stranger' })).statusCode).toBe(403);
    expect(await intentsOf(t, groupPayment.id)).toEqual([]);
    expect(await look('stranger')).toBe(403);
    expect(await look('stranger', 'not-a-token')).toBe(403);
    // The link's holder pays and may look; so may whoever holds any member's link, and the organizer.
    expect((await contribute(t, groupPayment.id, first, 'pm_card_visa', { user: 'friend-0' })).statusCode).toBe(200);
    expect(await look('friend-0')).toBe(200);
    expect(await look('friend-1', tokenOf(second))).toBe(200);
    expect((await contribute(t, groupPayment.id, third, 'pm_card_visa', { token: null, user: 'organizer-1' })).statusCode).toBe(200);
    expect(await look('organizer-1')).toBe(200);
  });

  it('refuses a group whose members do not take every ticket, writing nothing', async () => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/group-payments/create',
      headers: { ...(await authAs('user', 'organizer-1')), 'idempotency-key': randomUUID() },
      payload: {
        venueId,
        eventId: EVENT,
        ticketSelections: [{ ticketTypeId: TICKET_TYPE, quantity: 3, price: 5_000 }],
        members: [{ email: 'a@example.com', name: 'A', ticketCount: 1 }],
      },
    });
    expect(response.statusCode).toBe(422);
    expect(response.json<{ code: string }>().code).toBe('VALIDATION_ERROR');
  });

  it("answers the position of each group write, and the group read at a contribution's position shows the share held", async () => {
    const created = await createGroup(t, venueId, [1, 1]);
    expect(created.statusCode, created.body).toBe(201);
    const { groupPayment, paymentLinks, position: createdAt } = created.json<Created & { position: string }>();
    expect(createdAt).toMatch(/^\d+\/\d+$/);

    const paid = await contribute(t, groupPayment.id, paymentLinks[0]!);
    expect(paid.statusCode, paid.body).toBe(200);
    const { position: paidAt } = paid.json<{ position: string }>();
    expect(paidAt).toMatch(/^\d+\/\d+$/);
    // It covers the gateway's outcome the answer reports, written after the group.
    const events = await t.storage.eventStore.readStream(groupPaymentStreamId(groupPayment.id));
    const authorized = events.find((e) => e.type === 'ContributionAuthorized')!;
    expect(comparePositions(parsePosition(paidAt), authorized.position)).toBeGreaterThanOrEqual(0);
    expect(comparePositions(parsePosition(paidAt), parsePosition(createdAt))).toBeGreaterThan(0);

    // Read your writes: the status given the contribution's position shows the share held.
    const read = await t.app.inject({
      method: 'GET',
      url: `/api/v1/group-payments/${groupPayment.id}/status?position=${paidAt}`,
      headers: await authAs('user', 'organizer-1'),
    });
    expect(read.statusCode, read.body).toBe(200);
    const seen = read.json<{ group: { members: { memberId: string; status: string }[] }; summary: { paidMembers: number } }>();
    expect(seen.group.members.find((m) => m.memberId === paymentLinks[0]!.memberId)?.status).toBe('authorized');
    expect(seen.summary.paidMembers).toBe(1);
    const garbled = await t.app.inject({ method: 'GET', url: `/api/v1/group-payments/${groupPayment.id}/status?position=soon`, headers: await authAs('user', 'organizer-1') });
    expect(garbled.statusCode).toBe(422);

    const cancel = async () =>
      t.app.inject({
        method: 'POST',
        url: `/api/v1/group-payments/${groupPayment.id}/cancel`,
        headers: { ...(await authAs('user', 'organizer-1')), 'idempotency-key': randomUUID() },
        payload: { reason: 'plans changed' },
      });
    const cancelled = await cancel();
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    const { position: cancelledAt } = cancelled.json<{ position: string }>();
    expect(cancelledAt).toMatch(/^\d+\/\d+$/);
    expect(comparePositions(parsePosition(cancelledAt), parsePosition(paidAt))).toBeGreaterThan(0);
    // Cancelling again writes nothing: no position to wait for.
    const again = await cancel();
    expect(again.statusCode, again.body).toBe(200);
    expect(again.json()).toMatchObject({ group: { status: 'cancelled' }, position: null });
  });

  it('answers 402 for a declined card and lets the member pay with another', async () => {
    const { groupPayment, paymentLinks } = (await createGroup(t, venueId, [1])).json<Created>();
    const declined = await contribute(t, groupPayment.id, paymentLinks[0]!, 'pm_card_chargeDeclined');
    expect(declined.statusCode).toBe(402);
    expect((await contribute(t, groupPayment.id, paymentLinks[0]!)).statusCode).toBe(200);
  });
});

describe('a group payment that runs out of time', () => {
  let t: TestApp;
  let venueId: string;

  beforeAll(async () => {
    t = await testApp({ background: true, env: { ...FAST, ...EXPIRING } });
    venueId = await groupVenueAt(t);
  });
  afterAll(() => t.close());

  it('releases every hold when a member never pays, and the ledger shows nothing captured', async () => {
    const { groupPayment, paymentLinks } = (await createGroup(t, venueId, [1, 1, 1])).json<Created>();
    for (const link of paymentLinks.slice(0, 2)) expect((await contribute(t, groupPayment.id, link)).statusCode).toBe(200);
    await eventually(async () => ((await status(t, groupPayment.id)).group.members.filter((m) => m.status === 'released').length === 2 ? true : undefined), {
      timeoutMs: 12_000,
    });
    expect((await status(t, groupPayment.id)).group.status).toBe('expired');
    const intents = await intentsOf(t, groupPayment.id);
    expect(intents).toHaveLength(2);
    expect(intents.every((i) => i.status === 'canceled' && i.captured === 0)).toBe(true);
    expect(await ledgerEntriesOf(t, groupPayment.id)).toEqual([]);
    const late = await contribute(t, groupPayment.id, paymentLinks[2]!);
    expect(late.statusCode).toBe(409);
    expect(late.json<{ code: string }>().code).toBe('GROUP_PAYMENT_CLOSED');
  });
});

describe('a restart during collection', () => {
  it('keeps the expiry deadline: the next process releases the holds', async () => {
    const shared = await openTestStorage('pglite');
    const env = { ...FAST, ...EXPIRING };
    try {
      const first = await testApp({ background: true, env, shared });
      const venueId = await groupVenueAt(first);
      const { groupPayment, paymentLinks } = (await createGroup(first, venueId, [1, 1])).json<Created>();
      expect((await contribute(first, groupPayment.id, paymentLinks[0]!)).statusCode).toBe(200);
      await first.close();

      const second = await testApp({ background: true, env, shared });
      try {
        await eventually(async () => ((await status(second, groupPayment.id)).group.members[0]!.status === 'released' ? true : undefined), {
          timeoutMs: 12_000,
        });
        expect((await status(second, groupPayment.id)).group.status).toBe('expired');
        expect((await intentsOf(second, groupPayment.id)).map((i) => i.status)).toEqual(['canceled']);
      } finally {
        await second.close();
      }
    } finally {
      await shared.cleanup();
    }
  });
});
