import { Counter } from 'prom-client';
import { evolvePayment, initialPaymentState } from '../aggregates/payment.js';
import { requirePayment } from '../commands/payment.js';
import { derivedId } from '../domain/ids.js';
import { groupReceiptMail, receiptMail, refundConfirmationMail, type RenderedMail } from '../domain/notifications.js';
import type { EventStore, RecordedEvent } from '../eventstore/event-store.js';
import { groupPaymentStreamId, type GroupPaymentCompleted, type GroupPaymentEvent } from '../events/group-payment.js';
import { isPaymentEvent, type PaymentEvent } from '../events/payment.js';
import type { ContactAddresses } from '../gateways/contact-addresses.js';
import type { Mailer } from '../gateways/mailer.js';
import type { Logger } from '../logger.js';
import { processManager, type ProcessManager } from './runtime/process-manager.js';

export type NotificationKind = 'receipt' | 'refund';

/** Buyer mail not sent because the buyer left no address (their tokens carried no `email` claim). */
export const createUnaddressedCounter = (): Counter<'kind'> =>
  new Counter({ name: 'notifications_unaddressed_total', help: 'Receipts and refund confirmations not sent: the buyer left no e-mail address', labelNames: ['kind'], registers: [] });

export interface NotificationDeps {
  readonly store: EventStore;
  readonly mailer: Mailer;
  readonly contacts: Pick<ContactAddresses, 'find'>;
  readonly unaddressed?: Counter<'kind'>;
  readonly logger?: Logger;
}

/**
 * The buyer's mail (issue 22): a receipt when a payment is captured, a confirmation when a refund
 * has been paid. Sent to the address the buyer's token carried (tessera_contact_addresses), under
 * a key derived from the causing event, so the mailer sends each once however often the step runs.
 * A group purchase's members each get a receipt for their share when it completes, at the address
 * the organizer gave for them (their payment link went there too).
 */
export function notificationsProcess(deps: NotificationDeps): ProcessManager {
  const log = deps.logger?.child({ component: 'notifications' });

  async function mail(event: RecordedEvent<string, { readonly userId: string }>, kind: NotificationKind, render: () => Promise<RenderedMail>) {
    const to = await deps.contacts.find(event.metadata.tenantId, event.data.userId);
    if (!to) {
      deps.unaddressed?.inc({ kind });
      log?.debug({ eventId: event.id, kind }, 'no e-mail address for the buyer: nothing sent');
      return;
    }
    await deps.mailer.send({ key: derivedId(event.id, kind), to, ...(await render()) });
  }

  return processManager<PaymentEvent | GroupPaymentEvent>('notifications', {
    PaymentCaptured: (event) =>
      mail(event, 'receipt', async () => {
        const { data } = event;
        const { request } = await requirePayment(deps.store, data.paymentId, { recent: true });
        return receiptMail({ transactionId: data.paymentId, tickets: request.tickets, quote: data.quote, amount: data.amount, capturedAt: event.recordedAt.toISOString() });
      }),

    RefundSucceeded: (event) =>
      mail(event, 'refund', async () => {
        const { data } = event;
        const state = await paymentAsOf(deps.store, event);
        const remaining = state.captured - state.refunded - state.chargedBack;
        return refundConfirmationMail({ transactionId: data.paymentId, refundId: data.refundId, currency: data.currency, amount: data.amount, remaining });
      }),

    GroupPaymentCompleted: (event) => groupReceipts(event),
  });

  async function groupReceipts(event: RecordedEvent<'GroupPaymentCompleted', GroupPaymentCompleted['data']>) {
    const { data } = event;
    const [created] = await deps.store.readStream(groupPaymentStreamId(data.groupId), { maxCount: 1 });
    if (created?.type !== 'GroupPaymentCreated') throw new Error(`group payment ${data.groupId} has no GroupPaymentCreated`);
    const members = (created.data as Extract<GroupPaymentEvent, { type: 'GroupPaymentCreated' }>['data']).members;
    for (const contribution of data.contributions) {
      const member = members.find((m) => m.memberId === contribution.memberId);
      if (!member) continue;
      await deps.mailer.send({
        key: derivedId(event.id, `group-receipt:${member.memberId}`),
        to: member.email,
        ...groupReceiptMail({
          groupId: data.groupId,
          memberName: member.name,
          ticketCount: contribution.ticketCount,
          amount: contribution.amount,
          total: data.amount,
          currency: data.currency,
          completedAt: event.recordedAt.toISOString(),
        }),
      });
    }
  }
}

/** The payment as it stood right after `event`: a later refund does not change what this one's mail says remains. */
async function paymentAsOf(store: EventStore, event: RecordedEvent) {
  const events = await store.readStream(event.streamId, { maxCount: event.revision + 1 });
  let state = initialPaymentState();
  for (const recorded of events) if (isPaymentEvent(recorded)) state = evolvePayment(state, recorded);
  return state;
}
