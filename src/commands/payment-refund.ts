import type { PaymentState, PaymentStatus } from '../aggregates/payment.js';
import { derivedId } from '../domain/ids.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import type { RefundAllocation } from '../events/payment.js';
import { asUser, authorize, type Principal } from '../domain/access.js';
import { TesseraError } from '../errors.js';
import { ticketIdFor } from '../projections/tickets.js';
import type { CommandContext } from './handle-command.js';
import { refundPolicyFor } from './refund-policy.js';
import { executePaymentCommand, loadPayment } from './payment-execute.js';
import { listingIdFor, loadListing } from './escrow.js';

export interface RefundPaymentInput {
  readonly paymentId: string;
  /** Cents; omitted for a full refund of what remains. */
  readonly amount?: number;
  readonly reason: string;
  /** The caller: only the buyer (in the payment's tenant) or an admin may refund (src/domain/access.ts). */
  readonly requester: Principal;
}

export interface RefundReceipt {
  readonly refund: { readonly id: string; readonly amount: number; readonly status: 'pending' | 'succeeded' | 'failed' };
  readonly allocation: RefundAllocation;
  readonly paymentStatus: PaymentStatus;
  readonly position: Position | null;
  readonly replayed: boolean;
}

export const refundIdFor = (commandId: string): string => derivedId(commandId, 'refund');

/**
 * `POST /api/v1/payments/transaction/:id/refund`: records the refund request (the refund
 * process manager takes it to the gateway) and answers `pending` as the seed does. Refusals:
 * PAYMENT_NOT_FOUND, FORBIDDEN (not the buyer in the payment's tenant, nor an admin),
 * PAYMENT_NOT_REFUNDABLE, REFUND_EXCEEDS_ORIGINAL, and for a buyer REFUND_POLICY_EXCEEDED (the
 * event's refund policy), TICKET_RESOLD / TICKET_IN_RESALE (a ticket of the payment was resold,
 * or is listed or held by an escrow: the buyer no longer has it to give back). Admins are bound
 * by neither.
 */
export async function refundPayment(store: EventStore, input: RefundPaymentInput, context: CommandContext): Promise<RefundReceipt> {
  const refundId = refundIdFor(context.commandId);
  const { userId, role } = input.requester;
  const { state, tenantId } = await loadPayment(store, input.paymentId);
  if (!state.request) throw new TesseraError('PAYMENT_NOT_FOUND', `payment ${input.paymentId} not found`, { paymentId: input.paymentId });
  authorize(asUser(input.requester), 'refund', { kind: 'payment', tenantId: tenantId ?? '', buyerId: state.request.userId });
  const admin = role === 'admin';
  const policy = admin ? undefined : await refundPolicyFor(store, state.request, context.now);
  if (!admin) await refuseResoldTickets(store, state);
  // The refund is the payment's: it acts in the payment's tenant whoever asks (an admin's token
  // names the admin's), so the ledger owes it to the buyer's own account.
  const result = await executePaymentCommand(
    store,
    input.paymentId,
    {
      type: 'RequestRefund',
      data: {
        refundId,
        reason: input.reason,
        requestedBy: admin ? { kind: 'admin', userId } : { kind: 'user', userId },
        ...(input.amount === undefined ? {} : { amount: input.amount }),
        ...(policy ? { policy: { refundBps: policy.refundBps, source: policy.source } } : {}),
      },
    },
    { ...context, tenantId: tenantId ?? context.tenantId },
  );
  const refund = result.state.refunds[refundId]!;
  return {
    refund: { id: refundId, amount: refund.amount, status: refund.status },
    allocation: refund.allocation,
    paymentStatus: result.state.status as PaymentStatus,
    position: result.position,
    replayed: result.replayed,
  };
}

/**
 * A buyer cannot refund a purchase whose ticket they have listed for resale: the ticket's first
 * listing (`listingIdFor(ticket, 0)`, the buyer's own) is read from its stream, not a read
 * model, so a listing made a moment ago counts. Sold -> TICKET_RESOLD; active or reserved by an
 * escrow -> TICKET_IN_RESALE; reopened after a failed escrow it is active again (withdrawing a
 * listing is not offered). The escrow's release re-reads this payment's stream and refunds the
 * resale's buyer instead when a refund got in first (`src/processmanagers/escrow.ts`).
 */
async function refuseResoldTickets(store: EventStore, state: PaymentState): Promise<void> {
  const tickets = ticketsOf(state);
  const listings = await Promise.all(tickets.map(async (ticketId) => ({ ticketId, listing: (await loadListing(store, listingIdFor(ticketId, 0))).state })));
  for (const { ticketId, listing } of listings) {
    if (listing.status === 'none') continue;
    const details = { ticketId, listingId: listing.terms!.listingId };
    if (listing.status === 'sold') {
      throw new TesseraError('TICKET_RESOLD', `ticket ${ticketId} of this payment was resold; its purchase cannot be refunded`, { expose: details });
    }
    throw new TesseraError('TICKET_IN_RESALE', `ticket ${ticketId} of this payment is ${listing.status} for resale; its purchase cannot be refunded`, {
      expose: { ...details, status: listing.status },
    });
  }
}

/** The payment's ticket ids, units in line order (as `src/resale/tickets.ts` names them). */
const ticketsOf = (state: PaymentState): string[] => {
  const count = (state.request?.tickets ?? []).reduce((sum, line) => sum + line.quantity, 0);
  return Array.from({ length: count }, (_, index) => ticketIdFor(state.request!.paymentId, index));
};
