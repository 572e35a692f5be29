import { describe, expect, it } from 'vitest';
import { groupPaymentDecider, shareOut, type GroupPaymentCommand } from '../../src/aggregates/group-payment.js';
import type { GroupPaymentEvent } from '../../src/events/group-payment.js';
import { DeciderSpecification } from '../support/decider.js';
import { quotePurchase } from '../../src/domain/purchase-quote.js';

const quote = quotePurchase({ ticketPrice: 30_000, ticketCount: 3, venueAddress: { city: 'Nashville', state: 'TN' }, trailingVolume: 0, chain: 'polygon' });

const { given } = DeciderSpecification.for(groupPaymentDecider);

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
    tickets: [{ ticketTypeId: 't', quantity: quote.ticketCount, unitPrice: quote.ticketPrice / quote.ticketCount, priceSource: 'catalogue' }],
    quote,
    members: [
      { memberId: A, email: 'a@example.com', name: 'A', ticketCount: quote.ticketCount - 1 },
      { memberId: B, email: 'b@example.com', name: 'B', ticketCount: 1 },
    ],
    createdAt: CREATED_AT,
    expiresAt: EXPIRES_AT,
  },
};
const created = given([]).after(create);
const submit = (memberId: string, now = BEFORE): GroupPaymentCommand => ({
  type: 'SubmitContribution',
  data: { memberId, payerId: 'payer', paymentMethodId: 'pm_card_visa', idempotencyKey: `key-${memberId}`, now },
});
const shareOf = (memberId: string) => given(created).state().members.find((m) => m.memberId === memberId)!.amountDue;
const authorize = (memberId: string): GroupPaymentCommand => ({
  type: 'RecordContributionAuthorized',
  data: { memberId, amount: shareOf(memberId), gateway: 'sandbox', gatewayReference: `pi_${memberId}` },
});
const captureOf = (memberId: string): GroupPaymentCommand => ({
  type: 'RecordContributionCaptured',
  data: { memberId, amount: shareOf(memberId), gateway: 'sandbox', gatewayReference: `pi_${memberId}` },
});
const aHeld = given(created).after(submit(A), authorize(A));
const funded = given(aHeld).after(submit(B), authorize(B));

describe('GroupPayment decider: creating', () => {
  it('shares the total by tickets, every cent allocated', () => {
    const members = given(created).state().members;
    expect(members.reduce((sum, m) => sum + m.amountDue, 0)).toBe(quote.total);
    expect(shareOut(100, [{ ticketCount: 1 }, { ticketCount: 1 }, { ticketCount: 1 }])).toEqual([34, 33, 33]);
    expect(given(created).state().status).toBe('collecting');
  });

  it('refuses members who do not take every ticket, duplicate emails, and a second creation', () => {
    const short = { ...create, data: { ...create.data, members: create.data.members.slice(0, 1) } };
    given([]).when(short).thenRefused('VALIDATION_ERROR');
    const twice = { ...create, data: { ...create.data, members: create.data.members.map((m) => ({ ...m, email: 'same@example.com' })) } };
    given([]).when(twice).thenRefused('VALIDATION_ERROR');
    given(created).when(create).thenRefused('PAYMENT_ALREADY_EXISTS');
  });

  it('refuses commands for a group that does not exist', () => {
    given([]).when(submit(A)).thenRefused('GROUP_PAYMENT_NOT_FOUND');
  });
});

describe('GroupPayment decider: collecting', () => {
  it('records a submitted card, then the hold, for the member share', () => {
    const [submitted] = given(created).when(submit(A)).decided();
    expect(submitted).toMatchObject({ type: 'ContributionSubmitted', data: { memberId: A, amount: shareOf(A) } });
    given([...created, submitted!])
      .when(authorize(A))
      .then([{ type: 'ContributionAuthorized', data: { groupId: GROUP, memberId: A, amount: shareOf(A), gateway: 'sandbox', gatewayReference: `pi_${A}` } }]);
  });

  it('refuses an unknown member, a member already paid, and a submission after expiry', () => {
    given(created).when(submit('nobody')).thenRefused('GROUP_MEMBER_NOT_FOUND');
    given(aHeld).when(submit(A)).thenRefused('CONTRIBUTION_ALREADY_MADE');
    given(created).when(submit(A, AFTER)).thenRefused('GROUP_PAYMENT_CLOSED');
  });

  it('lets a declined member submit another card', () => {
    const declined = given(created).after(submit(A), { type: 'RecordContributionDeclined', data: { memberId: A, code: 'card_declined', reason: 'declined' } });
    expect(given(declined).state().members[0]!.status).toBe('declined');
    expect(given(declined).when(submit(A)).decided()[0]!.type).toBe('ContributionSubmitted');
  });

  it('refuses a hold that does not match the share or has no submission', () => {
    given(created).when(authorize(A)).thenRefused('INVALID_STATE_TRANSITION');
    const wrong: GroupPaymentCommand = { type: 'RecordContributionAuthorized', data: { memberId: A, amount: 1, gateway: 'sandbox', gatewayReference: 'pi_x' } };
    const aSubmitted = given(created).after(submit(A));
    given(aSubmitted).when(wrong).thenRefused('INVALID_STATE_TRANSITION');
  });

  it('is funded when the last share is held, and records the same hold once', () => {
    expect(funded.at(-1)).toEqual({ type: 'GroupPaymentFunded', data: { groupId: GROUP, total: quote.total } });
    expect(given(funded).state().status).toBe('funded');
    given(funded).when(authorize(B)).thenNothing();
  });

  it('reminds only unpaid members, counting each reminder, and none once the group is closed', () => {
    const remind: GroupPaymentCommand = { type: 'RemindUnpaidMembers', data: { now: BEFORE } };
    given(aHeld)
      .when(remind)
      .then([{ type: 'MemberReminded', data: { groupId: GROUP, memberId: B, email: 'b@example.com', amountDue: shareOf(B), reminder: 1 } }]);
    const remindedOnce = given(aHeld).after(remind);
    expect(given(remindedOnce).when(remind).decided()[0]).toMatchObject({ data: { reminder: 2 } });
    given(funded).when(remind).thenNothing();
  });
});

describe('GroupPayment decider: completing', () => {
  it('captures each hold and completes the purchase with the last capture', () => {
    const first = given(funded).when(captureOf(A)).thenMatches([{ type: 'ContributionCaptured' }]);
    const last = given([...funded, ...first])
      .when(captureOf(B))
      .thenMatches([
        { type: 'ContributionCaptured' },
        { type: 'GroupPaymentCompleted', data: { amount: quote.total, venueId: 'venue-1', contributions: [{ memberId: A }, { memberId: B }] } },
      ]);
    // Whose the tickets are: each member's run, to the user who paid the share.
    expect((last[1] as Extract<GroupPaymentEvent, { type: 'GroupPaymentCompleted' }>).data.contributions.map((c) => [c.ticketCount, c.payerId])).toEqual([
      [quote.ticketCount - 1, 'payer'],
      [1, 'payer'],
    ]);
    given([...funded, ...first]).when(captureOf(A)).thenNothing();
  });

  it('refuses a capture before the group is funded', () => {
    given(aHeld).when(captureOf(A)).thenRefused('INVALID_STATE_TRANSITION');
  });
});

describe('GroupPayment decider: expiring and cancelling', () => {
  const expire = (now: string): GroupPaymentCommand => ({ type: 'ExpireGroupPayment', data: { now } });
  const cancel = (userId: string, admin = false): GroupPaymentCommand => ({ type: 'CancelGroupPayment', data: { requestedBy: { userId, admin }, reason: 'r' } });
  const release = (memberId: string): GroupPaymentCommand => ({ type: 'RecordContributionReleased', data: { memberId, gatewayReference: `pi_${memberId}` } });

  it('expires a collecting group at its deadline, not before, and never a funded one', () => {
    given(aHeld).when(expire(BEFORE)).thenNothing();
    given(aHeld).when(expire(AFTER)).then([{ type: 'GroupPaymentExpired', data: { groupId: GROUP, expiresAt: EXPIRES_AT, expiredAt: AFTER } }]);
    given(funded).when(expire(AFTER)).thenNothing();
  });

  it('releases holds of an expired group once, and refuses releasing in a live group', () => {
    const expired = given(aHeld).after(expire(AFTER));
    given(expired).when(release(A)).thenMatches([{ type: 'ContributionReleased', data: { memberId: A, amount: shareOf(A) } }]);
    const aReleased = given(expired).after(release(A));
    given(aReleased).when(release(A)).thenNothing();
    given(aHeld).when(release(A)).thenRefused('INVALID_STATE_TRANSITION');
  });

  it('records a hold granted after expiry so it can be released', () => {
    const late = given(created).after(submit(A), expire(AFTER));
    given(late).when(authorize(A)).thenMatches([{ type: 'ContributionAuthorized' }]);
  });

  it('cancels a collecting group once, and not a funded one (who may is src/domain/access.ts\'s rule)', () => {
    expect(given(aHeld).when(cancel('organizer-1')).decided()[0]!.type).toBe('GroupPaymentCancelled');
    expect(given(aHeld).when(cancel('admin-1', true)).decided()[0]!.type).toBe('GroupPaymentCancelled');
    const cancelled = given(aHeld).after(cancel('organizer-1'));
    given(cancelled).when(cancel('organizer-1')).thenNothing();
    given(funded).when(cancel('organizer-1')).thenRefused('GROUP_PAYMENT_CLOSED');
  });
});
