import { loadPayment, requirePayment } from '../commands/payment-execute.js';
import type { SqlClient } from '../db/sql-client.js';
import type { EventStore, RecordedEvent } from '../eventstore/event-store.js';
import type { GroupPaymentCompleted } from '../events/group-payment.js';
import type { PaymentCaptured } from '../events/payment.js';
import { enqueueTickets, withdrawPayment, type MintPriority } from './mint-queue.js';
import { groupTicketOwners, ticketIdFor } from '../projections/tickets.js';
import type { ProcessManager } from './runtime/process-manager.js';

export interface MintingProcessDeps {
  readonly store: EventStore;
  readonly sql: SqlClient;
  /** A venue's minting priority (seed 003: urgent > high > standard); standard by default. */
  readonly priorityFor: (venueId: string) => MintPriority;
  readonly clock?: () => Date;
}

/**
 * Minting: a captured payment's tickets go into the minting queue (once: the ticket id is the
 * key), where the mint worker batches them onto the chain. A payment refunded in full has its
 * tickets withdrawn: not minted while still queued, marked for burn once minted. A completed group
 * purchase's tickets are queued the same way, under the group id, each to the user who paid its
 * member's share (group purchases have no refunds yet, so none is ever withdrawn).
 */
export function mintingProcess(deps: MintingProcessDeps): ProcessManager {
  const clock = deps.clock ?? (() => new Date());

  async function onCaptured(event: RecordedEvent): Promise<void> {
    const data = event.data as PaymentCaptured['data'];
    const priority = deps.priorityFor(data.venueId);
    const tickets = Array.from({ length: data.quote.ticketCount }, (_, index) => ({
      ticketId: ticketIdFor(data.paymentId, index),
      paymentId: data.paymentId,
      venueId: data.venueId,
      eventId: data.eventId,
      ownerId: data.userId,
      chain: data.quote.gas.chain,
      priority,
    }));
    // Caught up late (after a restart), the payment may be refunded already: never queue those tickets.
    const { state } = await loadPayment(deps.store, data.paymentId);
    await enqueueTickets(deps.sql, tickets, clock(), state.status === 'refunded');
  }

  async function onGroupCompleted(event: RecordedEvent): Promise<void> {
    const data = event.data as GroupPaymentCompleted['data'];
    const priority = deps.priorityFor(data.venueId);
    const tickets = groupTicketOwners(data).map((ownerId, index) => ({
      ticketId: ticketIdFor(data.groupId, index),
      paymentId: data.groupId,
      venueId: data.venueId,
      eventId: data.eventId,
      ownerId,
      chain: data.quote.gas.chain,
      priority,
    }));
    await enqueueTickets(deps.sql, tickets, clock());
  }

  async function onMoneyReturned(event: RecordedEvent): Promise<void> {
    const { paymentId } = event.data as { paymentId: string };
    const { state } = await requirePayment(deps.store, paymentId);
    if (state.status === 'refunded') await withdrawPayment(deps.sql, paymentId, clock());
  }

  const steps: Record<string, (event: RecordedEvent) => Promise<void>> = {
    PaymentCaptured: onCaptured,
    GroupPaymentCompleted: onGroupCompleted,
    RefundSucceeded: onMoneyReturned,
    DisputeClosed: onMoneyReturned,
  };
  return { name: 'minting', handles: new Set(Object.keys(steps)), handle: (event) => steps[event.type]!(event) };
}
