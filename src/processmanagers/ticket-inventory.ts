import { requirePayment } from '../commands/payment.js';
import type { TicketInventory } from '../commands/ticket-inventory.js';
import type { GroupPaymentEvent } from '../events/group-payment.js';
import type { PaymentEvent } from '../events/payment.js';
import type { EventStore } from '../eventstore/event-store.js';
import { processManager, type ProcessManager } from './runtime/process-manager.js';

/**
 * The tickets a purchase or a group holds (src/commands/ticket-inventory.ts), moved on by what
 * happened to it: paid, they stay taken as sold; failed, expired, cancelled or refunded in full,
 * they are given back to the capacity and to the buyer's limits (refunded in full: by refunds, or
 * by refunds and a lost chargeback together). Each step is idempotent, so a
 * replayed event changes nothing. A partial refund keeps the tickets: it returns money, not seats.
 */
export function ticketInventoryProcess(deps: { readonly store: EventStore; readonly inventory: Pick<TicketInventory, 'sell' | 'release'> }): ProcessManager {
  const release = async (event: { readonly data: { readonly paymentId: string } }) => deps.inventory.release(event.data.paymentId);
  const releaseGroup = async (event: { readonly data: { readonly groupId: string } }) => deps.inventory.release(event.data.groupId);
  const releaseWhenRefunded = async (event: { readonly data: { readonly paymentId: string } }) => {
    const { state } = await requirePayment(deps.store, event.data.paymentId);
    if (state.status === 'refunded') await deps.inventory.release(event.data.paymentId);
  };
  return processManager<PaymentEvent | GroupPaymentEvent>('ticket-inventory', {
    PaymentCaptured: (event) => deps.inventory.sell(event.data.paymentId),
    PaymentFailed: release,
    PaymentExpired: release,
    PaymentCancelled: release,
    RefundSucceeded: releaseWhenRefunded,
    // A chargeback lost after a partial refund returns the rest of the money too.
    DisputeClosed: releaseWhenRefunded,
    GroupPaymentCompleted: (event) => deps.inventory.sell(event.data.groupId),
    GroupPaymentExpired: releaseGroup,
    GroupPaymentCancelled: releaseGroup,
  });
}
