import { z } from 'zod';
import type { GroupPaymentCommand, GroupPaymentState, MemberState } from '../aggregates/group-payment.js';
import { derivedId } from '../domain/ids.js';
import type { EventStore, RecordedEvent } from '../eventstore/event-store.js';
import type { GroupPaymentEvent } from '../events/group-payment.js';
import type { PaymentGateway } from '../gateways/gateway.js';
import { contextFromDeadline, deadlineCause, deadlineHandler, type DeadlineHandler, type Deadlines } from './runtime/deadlines.js';
import type { RiskAssessor } from '../commands/risk.js';
import { processManager, type ProcessManager } from './runtime/process-manager.js';
import { groupPaymentHandler, requireGroup } from '../commands/group-payment.js';
import type { Mailer } from '../gateways/mailer.js';
import { paymentLink } from '../domain/payment-links.js';
import { groupPaymentLinkMail, groupPaymentReminderMail } from '../domain/notifications.js';
import type { PurchaseQuote } from '../domain/purchase-quote.js';
import { PermanentFailure } from '../errors.js';
import { contextFromEvent } from '../commands/handle-command.js';

export const GROUP_PAYMENT_EXPIRY = 'group-payment-expiry';
export const GROUP_PAYMENT_REMINDER = 'group-payment-reminder';

export const groupExpiryDeadlineId = (groupId: string): string => `${GROUP_PAYMENT_EXPIRY}:${groupId}`;

/** The payload of both group deadlines (expiry and reminder). */
const groupDeadlinePayload = z.object({ groupId: z.string(), ...deadlineCause });
type GroupDeadline = z.input<typeof groupDeadlinePayload>;

export interface GroupProcessDeps {
  readonly store: EventStore;
  readonly gateway: PaymentGateway;
  readonly deadlines: Pick<Deadlines, 'schedule'>;
  readonly mailer: Mailer;
  readonly linkBase: string;
  /** What the payment links' tokens are derived from (src/groups/payment-links.ts). */
  readonly linkSecret: string;
  readonly clock?: () => Date;
  /** Fraud screening's feature store: a share that ends unpaid gives its tickets back to the per-event cap. */
  readonly risk?: Pick<RiskAssessor, 'releaseTickets'>;
}

const ACTOR = 'system:group-payment';
const GROUP_CURRENCY: PurchaseQuote['currency'] = 'USD';

/**
 * The group payment: created -> deadlines (expiry, reminder) and payment links mailed; each
 * submitted card -> a hold for the member's share; funded -> every hold captured (then the
 * aggregate completes the purchase); expired or cancelled -> every hold released. A hold the
 * gateway grants after the group ended is released as soon as it is recorded; a card submitted
 * before the end is still authorized after it (by the submission's key, so a hold whose answer
 * was lost is found again, never doubled) so that no hold is left behind unrecorded.
 *
 * Every gateway call carries a key derived from the event and member it serves, and every
 * command an id derived from the same, so a step run twice moves no money twice.
 */
export function groupPaymentProcess(deps: GroupProcessDeps): ProcessManager {
  const clock = deps.clock ?? (() => new Date());
  const send = (cause: RecordedEvent, step: string, groupId: string, command: GroupPaymentCommand) =>
    groupPaymentHandler.handle(deps.store, groupId, command, contextFromEvent(cause, step, ACTOR, clock()));

  async function releaseMember(event: RecordedEvent, state: GroupPaymentState, member: MemberState): Promise<void> {
    if (member.status !== 'authorized') return;
    await release(event, member.gatewayReference!, member.memberId);
    await send(event, `released:${member.memberId}`, state.group!.groupId, {
      type: 'RecordContributionReleased',
      data: { memberId: member.memberId, gatewayReference: member.gatewayReference! },
    });
  }

  async function release(event: RecordedEvent, reference: string, what: string): Promise<void> {
    const result = await deps.gateway.void({ idempotencyKey: derivedId(event.id, `void:${what}`), reference });
    if (result.kind === 'failed') throw new PermanentFailure(`could not release ${reference}: ${result.code} ${result.message}`);
  }

  /** Expired or cancelled: every hold still standing is released. */
  async function onEnded(event: RecordedEvent<string, { readonly groupId: string }>): Promise<void> {
    const state = await requireGroup(deps.store, event.data.groupId);
    for (const member of state.members) if (member.holdKey) await deps.risk?.releaseTickets(member.holdKey);
    for (const member of state.members.filter((m) => m.status === 'authorized')) await releaseMember(event, state, member);
  }

  return processManager<GroupPaymentEvent>('group-payment', {
    GroupPaymentCreated: async (event) => {
      const { data } = event;
      const payload = { groupId: data.groupId, tenantId: event.metadata.tenantId, correlationId: event.metadata.correlationId } satisfies GroupDeadline;
      await deps.deadlines.schedule({ id: groupExpiryDeadlineId(data.groupId), kind: GROUP_PAYMENT_EXPIRY, dueAt: new Date(data.expiresAt), payload });
      if (data.remindAt) {
        await deps.deadlines.schedule({ id: `${GROUP_PAYMENT_REMINDER}:${data.groupId}`, kind: GROUP_PAYMENT_REMINDER, dueAt: new Date(data.remindAt), payload });
      }
      for (const member of data.members) {
        const link = paymentLink(deps.linkBase, deps.linkSecret, data.groupId, member.memberId);
        await deps.mailer.send({
          key: derivedId(event.id, `link:${member.memberId}`),
          to: member.email,
          ...groupPaymentLinkMail({ amountDue: member.amountDue, currency: data.quote.currency, link, expiresAt: data.expiresAt }),
        });
      }
    },

    ContributionSubmitted: async (event) => {
      const { data } = event;
      const state = await requireGroup(deps.store, data.groupId);
      if (memberOf(state, data.memberId).status !== 'submitted') return;
      // Asked even when the group has ended: an earlier try may have placed the hold and lost the
      // answer. The same key returns that hold (or places one), it is recorded, and the
      // ContributionAuthorized step voids it.
      const result = await deps.gateway.authorize({
        idempotencyKey: data.idempotencyKey,
        amount: data.amount,
        currency: state.group!.quote.currency,
        paymentMethodId: data.paymentMethodId,
        metadata: { groupId: data.groupId, memberId: data.memberId, venueId: state.group!.venueId },
        ...(data.threeDSecure ? { threeDSecure: data.threeDSecure } : {}),
      });
      const command: GroupPaymentCommand =
        result.kind === 'succeeded'
          ? { type: 'RecordContributionAuthorized', data: { memberId: data.memberId, amount: result.amount, gateway: deps.gateway.name, gatewayReference: result.reference } }
          : {
              type: 'RecordContributionDeclined',
              data:
                result.kind === 'declined'
                  ? { memberId: data.memberId, code: result.code, reason: result.message, ...(result.declineCode ? { declineCode: result.declineCode } : {}) }
                  : // A group share cannot wait for 3-D Secure: the hold is refused and the intent released below.
                    { memberId: data.memberId, code: 'authentication_required', reason: 'this card needs authentication; use another card' },
            };
      if (result.kind === 'requires_action') await release(event, result.reference, 'unauthenticated');
      await send(event, 'outcome', data.groupId, command);
    },

    /** A hold granted after the group ended (expiry raced the gateway) is released at once. */
    ContributionAuthorized: async (event) => {
      const { data } = event;
      const state = await requireGroup(deps.store, data.groupId);
      if (state.status !== 'expired' && state.status !== 'cancelled') return;
      await releaseMember(event, state, memberOf(state, data.memberId));
    },

    GroupPaymentFunded: async (event) => {
      const { groupId } = event.data;
      const state = await requireGroup(deps.store, groupId);
      for (const member of state.members.filter((m) => m.status === 'authorized')) {
        const result = await deps.gateway.capture({
          idempotencyKey: derivedId(event.id, `capture:${member.memberId}`),
          reference: member.gatewayReference!,
          amount: member.amountDue,
        });
        if (result.kind !== 'succeeded') {
          throw new PermanentFailure(`could not capture ${member.memberId}'s hold ${member.gatewayReference!}: ${result.kind}`);
        }
        await send(event, `captured:${member.memberId}`, groupId, {
          type: 'RecordContributionCaptured',
          data: { memberId: member.memberId, amount: result.amount, gateway: deps.gateway.name, gatewayReference: result.reference },
        });
      }
    },

    /** A declined share's tickets stop counting toward the payer's per-event cap; they may pay again. */
    ContributionDeclined: async (event) => {
      const state = await requireGroup(deps.store, event.data.groupId);
      const holdKey = memberOf(state, event.data.memberId).holdKey;
      if (holdKey) await deps.risk?.releaseTickets(holdKey);
    },

    GroupPaymentExpired: onEnded,
    GroupPaymentCancelled: onEnded,

    MemberReminded: async (event) => {
      const { data } = event;
      const link = paymentLink(deps.linkBase, deps.linkSecret, data.groupId, data.memberId);
      // The reminder does not carry the currency: every quote is in USD (PurchaseQuote['currency']).
      await deps.mailer.send({ key: event.id, to: data.email, ...groupPaymentReminderMail({ amountDue: data.amountDue, currency: GROUP_CURRENCY, link }) });
    },
  });
}

const memberOf = (state: GroupPaymentState, memberId: string): MemberState => {
  const member = state.members.find((m) => m.memberId === memberId);
  if (!member) throw new PermanentFailure(`no member ${memberId} in group ${state.group?.groupId ?? '?'}`);
  return member;
};

/** A group deadline (expiry or reminder): the command decides nothing when it no longer applies. */
export function groupDeadlineHandler(store: EventStore, kind: 'expire' | 'remind', clock: () => Date = () => new Date()): DeadlineHandler {
  return deadlineHandler(groupDeadlinePayload, async (deadline) => {
    const now = clock();
    await groupPaymentHandler.handle(
      store,
      deadline.payload.groupId,
      kind === 'expire' ? { type: 'ExpireGroupPayment', data: { now: now.toISOString() } } : { type: 'RemindUnpaidMembers', data: { now: now.toISOString() } },
      contextFromDeadline(deadline, kind, `system:${kind === 'expire' ? GROUP_PAYMENT_EXPIRY : GROUP_PAYMENT_REMINDER}`, now),
    );
  });
}
