import type { PaymentStatus } from '../aggregates/payment.js';
import { derivedId } from '../domain/ids.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import type { RefundAllocation } from '../events/payment-events.js';
import type { CommandContext } from './handle-command.js';
import { refundPolicyFor } from '../venues/refund-policies.js';
import { executePaymentCommand, loadPayment } from './payment-commands.js';

export interface RefundPaymentInput {
  readonly paymentId: string;
  /** Cents; omitted for a full refund of what remains. */
  readonly amount?: number;
  readonly reason: string;
  /** The caller: only the buyer (`user`) or an `admin` may refund. */
  readonly requester: { readonly userId: string; readonly role: 'user' | 'admin' | 'venue_manager' };
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
 * PAYMENT_NOT_FOUND, FORBIDDEN (not the buyer nor an admin), PAYMENT_NOT_REFUNDABLE,
 * REFUND_EXCEEDS_ORIGINAL, and for a buyer REFUND_POLICY_EXCEEDED (the event's refund policy).
 */
export async function refundPayment(store: EventStore, input: RefundPaymentInput, context: CommandContext): Promise<RefundReceipt> {
  const refundId = refundIdFor(context.commandId);
  const { userId, role } = input.requester;
  const policy = role === 'admin' ? undefined : await policyOfPayment(store, input.paymentId, context.now);
  const result = await executePaymentCommand(
    store,
    input.paymentId,
    {
      type: 'RequestRefund',
      data: {
        refundId,
        reason: input.reason,
        requestedBy: role === 'admin' ? { kind: 'admin', userId } : { kind: 'user', userId },
        ...(input.amount === undefined ? {} : { amount: input.amount }),
        ...(policy ? { policy: { refundBps: policy.refundBps, source: policy.source } } : {}),
      },
    },
    context,
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

/** The refund policy of the payment's event (none for an unknown payment: the command refuses it). */
async function policyOfPayment(store: EventStore, paymentId: string, now: Date) {
  const { state } = await loadPayment(store, paymentId);
  return state.request ? refundPolicyFor(store, state.request, now) : undefined;
}
