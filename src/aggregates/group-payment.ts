import { cardProcessingCost } from '../domain/fees.js';
import { allocate, sumMinor } from '../domain/money.js';
import { RISK_DECLINED } from './payment.js';
import type { RiskAssessmentRecord } from '../events/payment.js';
import { TesseraError } from '../errors.js';
import {
  isGroupPaymentEvent,
  type GroupMember,
  type GroupPaymentCreated,
  type GroupPaymentEvent,
} from '../events/group-payment.js';
import type { Decider } from './decider.js';
import { withoutUndefined } from './payment.js';

/**
 * The GroupPayment aggregate: collecting -> funded (every share held, capturing) -> completed;
 * collecting -> expired | cancelled, after which every hold is released and nothing captured.
 *
 * A member's share: unpaid -> submitted (card offered) -> authorized (held) -> captured, or
 * submitted -> declined (may offer another card while collecting), or authorized -> released.
 * A hold the gateway grants after the group ended is still recorded, so it is released too.
 */
export type GroupPaymentStatus = 'collecting' | 'funded' | 'completed' | 'expired' | 'cancelled';

export type MemberStatus = 'unpaid' | 'submitted' | 'declined' | 'authorized' | 'captured' | 'released';

export interface MemberState extends GroupMember {
  readonly status: MemberStatus;
  readonly gatewayReference?: string;
  /** The user whose card offered the share last: the owner of the member's tickets. */
  readonly payerId?: string;
  readonly reminders: number;
  readonly lastDecline?: { readonly code: string; readonly reason: string; readonly declineCode?: string };
  /** The gateway key of the member's last submitted share: fraud screening counts the share by it. */
  readonly holdKey?: string;
}

export interface GroupPaymentState {
  readonly status: GroupPaymentStatus | 'none';
  readonly group?: GroupPaymentCreated['data'];
  readonly members: readonly MemberState[];
  readonly gateway?: string;
}

export interface NewMember {
  readonly email: string;
  readonly name: string;
  readonly ticketCount: number;
}

export type GroupPaymentCommand =
  | {
      readonly type: 'CreateGroupPayment';
      readonly data: Omit<GroupPaymentCreated['data'], 'members'> & {
        readonly members: readonly (NewMember & { readonly memberId: string })[];
      };
    }
  | {
      readonly type: 'SubmitContribution';
      readonly data: { readonly memberId: string; readonly payerId: string; readonly paymentMethodId: string; readonly idempotencyKey: string; readonly now: string };
      /** The risk assessment before the hold (absent when fraud checks are off). */
      readonly assessment?: RiskAssessmentRecord;
    }
  | { readonly type: 'RecordContributionAuthorized'; readonly data: { readonly memberId: string; readonly amount: number; readonly gateway: string; readonly gatewayReference: string } }
  | { readonly type: 'RecordContributionDeclined'; readonly data: { readonly memberId: string; readonly code: string; readonly reason: string; readonly declineCode?: string } }
  | { readonly type: 'RecordContributionCaptured'; readonly data: { readonly memberId: string; readonly amount: number; readonly gateway: string; readonly gatewayReference: string } }
  | { readonly type: 'RecordContributionReleased'; readonly data: { readonly memberId: string; readonly gatewayReference: string } }
  | { readonly type: 'ExpireGroupPayment'; readonly data: { readonly now: string } }
  | { readonly type: 'CancelGroupPayment'; readonly data: { readonly requestedBy: { readonly userId: string; readonly admin: boolean }; readonly reason: string } }
  | { readonly type: 'RemindUnpaidMembers'; readonly data: { readonly now: string } };

export const initialGroupPaymentState = (): GroupPaymentState => ({ status: 'none', members: [] });

/** The group can no longer be paid into; its holds are to be released. */
export const hasEndedUnpaid = (state: GroupPaymentState): boolean => state.status === 'expired' || state.status === 'cancelled';

export const groupTotals = (state: GroupPaymentState) => {
  const paid = state.members.filter((m) => m.status === 'authorized' || m.status === 'captured');
  const totalExpected = state.group?.quote.total ?? 0;
  const totalCollected = sumMinor(paid.map((m) => m.amountDue));
  return {
    totalMembers: state.members.length,
    paidMembers: paid.length,
    totalExpected,
    totalCollected,
    percentageCollected: totalExpected === 0 ? 0 : Math.floor((totalCollected * 100) / totalExpected),
  };
};

/**
 * Shares of the total in proportion to each member's tickets; every cent is allocated (the
 * earlier member takes a leftover cent), so the shares sum to exactly what the purchase costs.
 */
export function shareOut(total: number, members: readonly { ticketCount: number }[]): number[] {
  return allocate(total, members.map((m) => m.ticketCount));
}

function updateMember(state: GroupPaymentState, memberId: string, change: (member: MemberState) => MemberState): GroupPaymentState {
  return { ...state, members: state.members.map((m) => (m.memberId === memberId ? change(m) : m)) };
}

export function evolveGroupPayment(state: GroupPaymentState, event: GroupPaymentEvent): GroupPaymentState {
  switch (event.type) {
    case 'GroupPaymentCreated':
      return { status: 'collecting', group: event.data, members: event.data.members.map((m) => ({ ...m, status: 'unpaid', reminders: 0 })) };
    case 'ContributionSubmitted':
      return updateMember(state, event.data.memberId, (m) => ({ ...m, status: 'submitted', payerId: event.data.payerId, holdKey: event.data.idempotencyKey }));
    case 'ContributionAuthorized':
      return updateMember({ ...state, gateway: event.data.gateway }, event.data.memberId, (m) => ({
        ...m,
        status: 'authorized',
        gatewayReference: event.data.gatewayReference,
      }));
    case 'ContributionDeclined': {
      const { code, reason, declineCode } = event.data;
      return updateMember(state, event.data.memberId, (m) => ({
        ...m,
        status: 'declined',
        lastDecline: { code, reason, ...(declineCode ? { declineCode } : {}) },
      }));
    }
    case 'GroupPaymentFunded':
      return { ...state, status: 'funded' };
    case 'ContributionCaptured':
      return updateMember(state, event.data.memberId, (m) => ({ ...m, status: 'captured' }));
    case 'GroupPaymentCompleted':
      return { ...state, status: 'completed' };
    case 'GroupPaymentExpired':
      return { ...state, status: 'expired' };
    case 'GroupPaymentCancelled':
      return { ...state, status: 'cancelled' };
    case 'ContributionReleased':
      return updateMember(state, event.data.memberId, (m) => ({ ...m, status: 'released' }));
    case 'MemberReminded':
      return updateMember(state, event.data.memberId, (m) => ({ ...m, reminders: event.data.reminder }));
    case 'ContributionRiskAssessed':
      return state;
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled group payment event ${JSON.stringify(unhandled)}`);
    }
  }
}

export function decideGroupPayment(command: GroupPaymentCommand, state: GroupPaymentState): GroupPaymentEvent[] {
  if (command.type === 'CreateGroupPayment') return create(command.data, state);
  const group = state.group;
  if (state.status === 'none' || !group) throw new TesseraError('GROUP_PAYMENT_NOT_FOUND', 'group payment not found');
  const { groupId } = group;
  switch (command.type) {
    case 'SubmitContribution':
      return submit(command.data, state, group, command.assessment);
    case 'RecordContributionAuthorized': {
      const member = requireMember(state, command.data.memberId);
      if (member.gatewayReference === command.data.gatewayReference) return [];
      if (member.status !== 'submitted') throw invalid(`member ${member.memberId} has no contribution waiting for the gateway`);
      if (command.data.amount !== member.amountDue) throw invalid(`hold of ${command.data.amount} does not match the share ${member.amountDue}`);
      const authorized: GroupPaymentEvent = { type: 'ContributionAuthorized', data: { groupId, ...command.data } };
      const after = evolveGroupPayment(state, authorized);
      const funded = after.status === 'collecting' && after.members.every((m) => m.status === 'authorized');
      return funded ? [authorized, { type: 'GroupPaymentFunded', data: { groupId, total: group.quote.total } }] : [authorized];
    }
    case 'RecordContributionDeclined': {
      const member = requireMember(state, command.data.memberId);
      if (member.status === 'declined') return [];
      if (member.status !== 'submitted') throw invalid(`member ${member.memberId} has no contribution waiting for the gateway`);
      return [{ type: 'ContributionDeclined', data: { groupId, ...withoutUndefined(command.data) } }];
    }
    case 'RecordContributionCaptured':
      return capture(command.data, state, group);
    case 'RecordContributionReleased': {
      const member = requireMember(state, command.data.memberId);
      if (member.status === 'released') return [];
      if (member.status !== 'authorized' || !hasEndedUnpaid(state) || member.gatewayReference !== command.data.gatewayReference) {
        throw invalid(`no hold of member ${member.memberId} to release in a group that is ${state.status}`);
      }
      return [{ type: 'ContributionReleased', data: { groupId, memberId: member.memberId, amount: member.amountDue, gatewayReference: command.data.gatewayReference } }];
    }
    case 'ExpireGroupPayment':
      // Funded, completed or cancelled groups do not expire; an early firing does nothing.
      if (state.status !== 'collecting' || Date.parse(command.data.now) < Date.parse(group.expiresAt)) return [];
      return [{ type: 'GroupPaymentExpired', data: { groupId, expiresAt: group.expiresAt, expiredAt: command.data.now } }];
    case 'CancelGroupPayment': {
      const { requestedBy, reason } = command.data;
      if (state.status === 'cancelled') return [];
      if (state.status !== 'collecting') throw closed(state);
      return [{ type: 'GroupPaymentCancelled', data: { groupId, cancelledBy: requestedBy.userId, reason } }];
    }
    case 'RemindUnpaidMembers':
      if (state.status !== 'collecting' || Date.parse(command.data.now) >= Date.parse(group.expiresAt)) return [];
      return state.members
        .filter((m) => m.status === 'unpaid' || m.status === 'declined')
        .map((m) => ({
          type: 'MemberReminded' as const,
          data: { groupId, memberId: m.memberId, email: m.email, amountDue: m.amountDue, reminder: m.reminders + 1 },
        }));
    default: {
      const unhandled: never = command;
      throw new Error(`unhandled group payment command ${JSON.stringify(unhandled)}`);
    }
  }
}

function create(data: Extract<GroupPaymentCommand, { type: 'CreateGroupPayment' }>['data'], state: GroupPaymentState): GroupPaymentEvent[] {
  if (state.status !== 'none') throw new TesseraError('PAYMENT_ALREADY_EXISTS', `group payment ${data.groupId} already exists`);
  const tickets = sumMinor(data.tickets.map((t) => t.quantity));
  const assigned = sumMinor(data.members.map((m) => m.ticketCount));
  if (data.members.length === 0) throw validation('members', 'a group needs at least one member');
  if (assigned !== tickets) throw validation('members', `members take ${assigned} tickets but the selection has ${tickets}`);
  const emails = new Set(data.members.map((m) => m.email.toLowerCase()));
  if (emails.size !== data.members.length) throw validation('members', 'each member needs an email of their own');
  if (data.quote.total <= 0) throw validation('ticketSelections', 'a group payment must be for more than zero');
  if (Date.parse(data.expiresAt) <= Date.parse(data.createdAt)) throw validation('expiresAt', 'a group must expire after it is created');
  const shares = shareOut(data.quote.total, data.members);
  const members = data.members.map((m, i) => ({ memberId: m.memberId, email: m.email, name: m.name, ticketCount: m.ticketCount, amountDue: shares[i]! }));
  return [{ type: 'GroupPaymentCreated', data: { ...data, members } }];
}

function submit(
  data: Extract<GroupPaymentCommand, { type: 'SubmitContribution' }>['data'],
  state: GroupPaymentState,
  group: GroupPaymentCreated['data'],
  assessment?: RiskAssessmentRecord,
): GroupPaymentEvent[] {
  const member = requireMember(state, data.memberId);
  if (state.status !== 'collecting') throw closed(state);
  if (Date.parse(data.now) >= Date.parse(group.expiresAt)) {
    throw new TesseraError('GROUP_PAYMENT_CLOSED', 'the group payment has expired', { expose: { status: 'expired' } });
  }
  if (member.status !== 'unpaid' && member.status !== 'declined') {
    throw new TesseraError('CONTRIBUTION_ALREADY_MADE', `member ${member.memberId} has already paid (${member.status})`, {
      expose: { memberStatus: member.status },
    });
  }
  const { now: _now, ...rest } = data;
  const { groupId } = group;
  const challenged = assessment?.decision === 'challenge' ? { threeDSecure: 'required' as const } : {};
  const submitted: GroupPaymentEvent = { type: 'ContributionSubmitted', data: { groupId, ...rest, amount: member.amountDue, ...challenged } };
  if (!assessment) return [submitted];
  const assessed: GroupPaymentEvent = { type: 'ContributionRiskAssessed', data: { groupId, memberId: member.memberId, ...assessment } };
  // A share cannot wait for an analyst: a review declines it as a decline does; the member may try again.
  if (assessment.decision !== 'decline' && assessment.decision !== 'review') return [submitted, assessed];
  const declineCode = assessment.declineCode ?? 'FRAUD_DETECTED';
  return [
    submitted,
    assessed,
    { type: 'ContributionDeclined', data: { groupId, memberId: member.memberId, code: RISK_DECLINED, reason: `declined by the risk assessment (${declineCode})`, declineCode } },
  ];
}

function capture(
  data: Extract<GroupPaymentCommand, { type: 'RecordContributionCaptured' }>['data'],
  state: GroupPaymentState,
  group: GroupPaymentCreated['data'],
): GroupPaymentEvent[] {
  const member = requireMember(state, data.memberId);
  if (member.status === 'captured') return [];
  if (state.status !== 'funded' || member.status !== 'authorized') {
    throw invalid(`cannot capture member ${member.memberId}'s hold in a group that is ${state.status}`);
  }
  if (data.gatewayReference !== member.gatewayReference || data.amount !== member.amountDue) {
    throw invalid(`capture ${data.gatewayReference} of ${data.amount} does not match member ${member.memberId}'s hold`);
  }
  const { groupId } = group;
  const captured: GroupPaymentEvent = { type: 'ContributionCaptured', data: { groupId, memberId: member.memberId, amount: data.amount, gatewayReference: data.gatewayReference } };
  const after = evolveGroupPayment(state, captured);
  if (!after.members.every((m) => m.status === 'captured')) return [captured];
  const { quote } = group;
  return [
    captured,
    {
      type: 'GroupPaymentCompleted',
      data: {
        groupId,
        organizerId: group.organizerId,
        venueId: group.venueId,
        eventId: group.eventId,
        currency: quote.currency,
        amount: quote.total,
        ticketPrice: quote.ticketPrice,
        gateway: data.gateway,
        processingCost: sumMinor(after.members.map((m) => cardProcessingCost(m.amountDue).amount)),
        quote,
        contributions: after.members.map((m) => ({
          memberId: m.memberId,
          amount: m.amountDue,
          gatewayReference: m.gatewayReference!,
          ticketCount: m.ticketCount,
          payerId: m.payerId!,
        })),
      },
    },
  ];
}

function requireMember(state: GroupPaymentState, memberId: string): MemberState {
  const member = state.members.find((m) => m.memberId === memberId);
  if (!member) throw new TesseraError('GROUP_MEMBER_NOT_FOUND', `no member ${memberId} in this group payment`);
  return member;
}

const closed = (state: GroupPaymentState) =>
  new TesseraError('GROUP_PAYMENT_CLOSED', `the group payment is ${state.status}`, { expose: { status: state.status } });

const invalid = (message: string) => new TesseraError('INVALID_STATE_TRANSITION', message);

const validation = (field: string, message: string) => new TesseraError('VALIDATION_ERROR', message, { errors: [{ field, message }] });

export const groupPaymentDecider: Decider<GroupPaymentState, GroupPaymentCommand, GroupPaymentEvent> = {
  initialState: initialGroupPaymentState,
  evolve: evolveGroupPayment,
  decide: decideGroupPayment,
  isEvent: isGroupPaymentEvent,
};
