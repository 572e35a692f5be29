import { contextFromEvent, executePaymentCommand, requirePayment } from '../commands/payment-execute.js';
import { derivedId } from '../domain/ids.js';
import type { EventStore, RecordedEvent } from '../eventstore/event-store.js';
import type { RefundRequested } from '../events/payment.js';
import type { PaymentGateway } from '../gateways/gateway.js';
import type { ProcessManager } from './runtime/process-manager.js';

/**
 * The refund: requested -> gateway refund (keyed by the request event) -> succeeded or failed.
 * Refunds the gateway itself reported (webhooks) are recorded as already succeeded and skipped.
 */
export function refundProcess(deps: { store: EventStore; gateway: PaymentGateway; clock?: () => Date }): ProcessManager {
  const clock = deps.clock ?? (() => new Date());
  return {
    name: 'refund',
    handles: new Set(['RefundRequested']),
    async handle(event: RecordedEvent) {
      const data = event.data as RefundRequested['data'];
      if (data.requestedBy.startsWith('gateway:')) return;
      const { state } = await requirePayment(deps.store, data.paymentId);
      if (state.refunds[data.refundId]?.status !== 'pending') return;
      const result = await deps.gateway.refund({
        idempotencyKey: derivedId(event.id, 'gateway-refund'),
        reference: state.gatewayReference!,
        amount: data.amount,
        metadata: { paymentId: data.paymentId, refundId: data.refundId },
      });
      const context = contextFromEvent(event, 'refund-outcome', 'system:refund', clock());
      await executePaymentCommand(
        deps.store,
        data.paymentId,
        result.kind === 'succeeded'
          ? { type: 'RecordRefundSuccess', data: { refundId: data.refundId, gatewayReference: result.reference } }
          : { type: 'RecordRefundFailure', data: { refundId: data.refundId, reason: result.message, code: result.code } },
        context,
      );
    },
  };
}
