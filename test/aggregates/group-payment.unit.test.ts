import { describe, expect, it } from 'vitest';
import {
  evolveGroupPayment,
  groupPaymentDecider,
  initialGroupPaymentState,
  shareOut,
  type GroupPaymentCommand,
  type GroupPaymentState,
} from '../../src/aggregates/group-payment.js';
import type { GroupPaymentEvent } from '../../src/events/group-payment.js';
import { thrownBy } from '../support/payments.js';
import { quotePurchase } from '../../src/domain/purchase-quote.js';

const quote = quotePurchase({ ticketPrice: 30_000, ticketCount: 3, venueAddress: { city: 'Nashville', state: 'TN' }, trailingVolume: 0, chain: 'polygon' });

const stateOf = (events: readonly GroupPaymentEvent[]): GroupPaymentState => events.reduce(evolveGroupPayment, initialGroupPaymentState());
const decide = (events: readonly GroupPaymentEvent[], command: GroupPaymentCommand) => groupPaymentDecider.decide(command, stateOf(events));
const refused = (events: readonly GroupPaymentEvent[], command: GroupPaymentCommand) => thrownBy(() => decide(events, command));

const GROUP = 'a1b2c3d4-0000-4000-8000-000000000001';
const [A, B] = ['member-a', 'member-b'];
const CREATED_AT = '2026-01-01T12:00:00.000Z';
const EXPIRES_AT = '2026-01-01T12:10:00.000Z';
const BEFORE = '2026-01-01T12:05:00.000Z';
const AFTER = '2026-01-01T12:10:00.001Z';

const create: GroupPaymentCommand = {
  type: 'CreateGroupPayment',
  data: {
    groupId: GROUP,
    organizerId: 'organizer-1',
    venueId: 'venue-1',
    eventId: 'event-1',
    tickets: [{ ticketTypeId: 't', quantity: quote.ticketCount, unitPrice: quote.ticketPrice / quote.ticketCount }],
    quote,
    members: [
      { memberId: A, email: 'a@example.com', name: 'A', ticketCount: quote.ticketCount - 1 },
      { memberId: B, email: 'b@example.com', name: 'B', ticketCount: 1 },
    ],
    createdAt: CREATED_AT,
    expiresAt: EXPIRES_AT,
  },
};
const created = decide([], create);
const submit = (memberId: string, now = BEFORE): GroupPaymentCommand => ({
  type: 'SubmitContribution',
  data: { memberId, payerId: 'payer', paymentMethodId: 'pm_card_visa', idempotencyKey: `key-${memberId}`, now },
});
const shareOf = (memberId: string) => stateOf(created).members.find((m) => m.memberId === memberId)!.amountDue;
const authorize = (memberId: string): GroupPaymentCommand => ({
  type: 'RecordContributionAuthorized',
  data: { memberId, amount: shareOf(memberId), gateway: 'sandbox', gatewayReference: `pi_${memberId}` },
});
const captureOf = (memberId: string): GroupPaymentCommand => ({
  type: 'RecordContributionCaptured',
  data: { memberId, amount: shareOf(memberId), gateway: 'sandbox', gatewayReference: `pi_${memberId}` },
});
const after = (events: readonly GroupPaymentEvent[], ...commands: GroupPaymentCommand[]) =>
  commands.reduce<GroupPaymentEvent[]>((all, command) => [...all, ...decide(all, command)], [...events]);
const aHeld = after(created, submit(A), authorize(A));
const funded = after(aHeld, submit(B), authorize(B));

describe('GroupPayment decider: creating', () => {
  it('shares the total by tickets, every cent allocated', () => {
    const members = stateOf(created).members;
    expect(members.reduce((sum, m) => sum + m.amountDue, 0)).toBe(quote.total);
    expect(shareOut(100, [{ ticketCount: 1 }, { ticketCount: 1 }, { ticketCount: 1 }])).toEqual([34, 33, 33]);
    expect(stateOf(created).status).toBe('collecting');
  });

  it('refuses members who do not take every ticket, duplicate emails, and a second creation', () => {
    const short = { ...create, data: { ...create.data, members: create.data.members.slice(0, 1) } };
    expect(refused([], short)).toMatchObject({ code: 'VALIDATION_ERROR' });
    const twice = { ...create, data: { ...create.data, members: create.data.members.map((m) => ({ ...m, email: 'same@example.com' })) } };
    expect(refused([], twice)).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(refused(created, create)).toMatchObject({ code: 'PAYMENT_ALREADY_EXISTS' });
  });

  it('refuses commands for a group that does not exist', () => {
    expect(refused([], submit(A))).toMatchObject({ code: 'GROUP_PAYMENT_NOT_FOUND' });
  });
});

describe('GroupPayment decider: collecting', () => {
  it('records a submitted card, then the hold, for the member share', () => {
    const [submitted] = decide(created, submit(A));
    expect(submitted).toMatchObject({ type: 'ContributionSubmitted', data: { memberId: A, amount: shareOf(A) } });
    expect(decide([...created, submitted!], authorize(A))).toEqual([
      { type: 'ContributionAuthorized', data: { groupId: GROUP, memberId: A, amount: shareOf(A), gateway: 'sandbox', gatewayReference: `pi_${A}` } },
    ]);
  });

  it('refuses an unknown member, a member already paid, and a submission after expiry', () => {
    expect(refused(created, submit('nobody'))).toMatchObject({ code: 'GROUP_MEMBER_NOT_FOUND' });
    expect(refused(aHeld, submit(A))).toMatchObject({ code: 'CONTRIBUTION_ALREADY_MADE' });
    expect(refused(created, submit(A, AFTER))).toMatchObject({ code: 'GROUP_PAYMENT_CLOSED' });
  });

  it('lets a declined member submit another card', () => {
    const declined = after(created, submit(A), { type: 'RecordContributionDeclined', data: { memberId: A, code: 'card_declined', reason: 'declined' } });
    expect(stateOf(declined).members[0]!.status).toBe('declined');
    expect(decide(declined, submit(A))[0]!.type).toBe('ContributionSubmitted');
  });

  it('refuses a hold that does not match the share or has no submission', () => {
    expect(refused(created, authorize(A))).toMatchObject({ code: 'INVALID_STATE_TRANSITION' });
    const wrong: GroupPaymentCommand = { type: 'RecordContributionAuthorized', data: { memberId: A, amount: 1, gateway: 'sandbox', gatewayReference: 'pi_x' } };
    expect(refused(after(created, submit(A)), wrong)).toMatchObject({ code: 'INVALID_STATE_TRANSITION' });
  });

  it('is funded when the last share is held, and records the same hold once', () => {
    expect(funded.at(-1)).toEqual({ type: 'GroupPaymentFunded', data: { groupId: GROUP, total: quote.total } });
    expect(stateOf(funded).status).toBe('funded');
    expect(decide(funded, authorize(B))).toEqual([]);
  });

  it('reminds only unpaid members, counting each reminder, and none once the group is closed', () => {
    const remind: GroupPaymentCommand = { type: 'RemindUnpaidMembers', data: { now: BEFORE } };
    expect(decide(aHeld, remind)).toEqual([
      { type: 'MemberReminded', data: { groupId: GROUP, memberId: B, email: 'b@example.com', amountDue: shareOf(B), reminder: 1 } },
    ]);
    expect(decide(after(aHeld, remind), remind)[0]).toMatchObject({ data: { reminder: 2 } });
    expect(decide(funded, remind)).toEqual([]);
  });
});

describe('GroupPayment decider: completing', () => {
  it('captures each hold and completes the purchase with the last capture', () => {
    const first = decide(funded, captureOf(A));
    expect(first.map((e) => e.type)).toEqual(['ContributionCaptured']);
    const last = decide([...funded, ...first], captureOf(B));
    expect(last.map((e) => e.type)).toEqual(['ContributionCaptured', 'GroupPaymentCompleted']);
    expect(last[1]).toMatchObject({ data: { amount: quote.total, venueId: 'venue-1', contributions: [{ memberId: A }, { memberId: B }] } });
    // Whose the tickets are: each member's run, to the user who paid the share.
    expect((last[1] as Extract<GroupPaymentEvent, { type: 'GroupPaymentCompleted' }>).data.contributions.map((c) => [c.ticketCount, c.payerId])).toEqual([
      [quote.ticketCount - 1, 'payer'],
      [1, 'payer'],
    ]);
    expect(decide([...funded, ...first], captureOf(A))).toEqual([]);
  });

  it('refuses a capture before the group is funded', () => {
    expect(refused(aHeld, captureOf(A))).toMatchObject({ code: 'INVALID_STATE_TRANSITION' });
  });
});

describe('GroupPayment decider: expiring and cancelling', () => {
  const expire = (now: string): GroupPaymentCommand => ({ type: 'ExpireGroupPayment', data: { now } });
  const cancel = (userId: string, admin = false): GroupPaymentCommand => ({ type: 'CancelGroupPayment', data: { requestedBy: { userId, admin }, reason: 'r' } });
  const release = (memberId: string): GroupPaymentCommand => ({ type: 'RecordContributionReleased', data: { memberId, gatewayReference: `pi_${memberId}` } });

  it('expires a collecting group at its deadline, not before, and never a funded one', () => {
    expect(decide(aHeld, expire(BEFORE))).toEqual([]);
    expect(decide(aHeld, expire(AFTER))).toEqual([{ type: 'GroupPaymentExpired', data: { groupId: GROUP, expiresAt: EXPIRES_AT, expiredAt: AFTER } }]);
    expect(decide(funded, expire(AFTER))).toEqual([]);
  });

  it('releases holds of an expired group once, and refuses releasing in a live group', () => {
    const expired = after(aHeld, expire(AFTER));
    expect(decide(expired, release(A))).toMatchObject([{ type: 'ContributionReleased', data: { memberId: A, amount: shareOf(A) } }]);
    expect(decide(after(expired, release(A)), release(A))).toEqual([]);
    expect(refused(aHeld, release(A))).toMatchObject({ code: 'INVALID_STATE_TRANSITION' });
  });

  it('records a hold granted after expiry so it can be released', () => {
    const late = after(created, submit(A), expire(AFTER));
    expect(decide(late, authorize(A)).map((e) => e.type)).toEqual(['ContributionAuthorized']);
  });

  it('cancels a collecting group once, and not a funded one (who may is src/domain/access.ts\'s rule)', () => {
    expect(decide(aHeld, cancel('organizer-1'))[0]!.type).toBe('GroupPaymentCancelled');
    expect(decide(aHeld, cancel('admin-1', true))[0]!.type).toBe('GroupPaymentCancelled');
    expect(decide(after(aHeld, cancel('organizer-1')), cancel('organizer-1'))).toEqual([]);
    expect(refused(funded, cancel('organizer-1'))).toMatchObject({ code: 'GROUP_PAYMENT_CLOSED' });
  });
});
