import type { PaymentCommand, PaymentState } from '../aggregates/payment.js';
import { contextFromEvent, paymentHandler, requirePayment } from '../commands/payment.js';
import { derivedId } from '../domain/ids.js';
import type { PaymentAuthorized, PaymentRequested, PaymentSubmitted, RefundRequested } from '../events/payment.js';
import type { EventStore, RecordedEvent } from '../eventstore/event-store.js';
import type { GatewayReferences } from '../gateways/gateway-references.js';
import type { PaymentGateway, PaymentResult } from '../gateways/gateway.js';
import type { DeadlineHandler, Deadlines } from './runtime/deadlines.js';
import type { ProcessManager } from './runtime/process-manager.js';
import { PermanentFailure } from '../errors.js';

export const PAYMENT_EXPIRY = 'payment-expiry';

export const expiryDeadlineId = (paymentId: string): string => `${PAYMENT_EXPIRY}:${paymentId}`;

export interface PurchaseProcessDeps {
  readonly store: EventStore;
  readonly gateway: PaymentGateway;
  readonly references: GatewayReferences;
  readonly deadlines: Pick<Deadlines, 'schedule'>;
  readonly clock?: () => Date;
}

const ACTOR = 'system:purchase';

/**
 * The purchase: requested -> (expiry deadline scheduled) -> submitted -> the gateway's answer
 * recorded as captured, failed or needing customer action. In manual-capture mode the gateway
 * authorizes first and a second step captures. A payment that ends without capture while the
 * gateway holds an intent for it (expired after 3-D Secure was never completed, failed capture)
 * has that intent voided.
 *
 * Submitting is its own event so that a payment's expiry cannot race the charge: only a pending
 * payment expires, and once submitted only the gateway's answer moves it on.
 */
export function purchaseProcess(deps: PurchaseProcessDeps): ProcessManager {
  const clock = deps.clock ?? (() => new Date());
  const send = (cause: RecordedEvent, step: string, paymentId: string, command: PaymentCommand) =>
    paymentHandler.handle(deps.store, paymentId, command, contextFromEvent(cause, step, ACTOR, clock()));

  async function onRequested(event: RecordedEvent): Promise<void> {
    const data = event.data as PaymentRequested['data'];
    await deps.deadlines.schedule({
      id: expiryDeadlineId(data.paymentId),
      kind: PAYMENT_EXPIRY,
      dueAt: new Date(data.expiresAt),
      payload: { paymentId: data.paymentId, tenantId: event.metadata.tenantId, correlationId: event.metadata.correlationId },
    });
    await send(event, 'submit', data.paymentId, {
      type: 'SubmitPayment',
      data: {
        gateway: deps.gateway.name,
        operation: data.captureMode === 'manual' ? 'authorize' : 'charge',
        idempotencyKey: derivedId(event.id, 'gateway'),
      },
    });
  }

  async function onSubmitted(event: RecordedEvent): Promise<void> {
    const data = event.data as PaymentSubmitted['data'];
    const { request } = await requirePayment(deps.store, data.paymentId);
    const charge = {
      idempotencyKey: data.idempotencyKey,
      amount: data.amount,
      currency: request.quote.currency,
      paymentMethodId: request.paymentMethod.paymentMethodId,
      metadata: { paymentId: data.paymentId, venueId: request.venueId, userId: request.userId },
    };
    const result = data.operation === 'authorize' ? await deps.gateway.authorize(charge) : await deps.gateway.charge(charge);
    await recordResult(event, data.paymentId, result, data.operation === 'authorize' ? 'RecordAuthorization' : 'RecordCapture');
  }

  async function recordResult(
    event: RecordedEvent,
    paymentId: string,
    result: PaymentResult,
    onSuccess: 'RecordAuthorization' | 'RecordCapture',
  ): Promise<void> {
    if (result.reference) await deps.references.remember(deps.gateway.name, result.reference, paymentId);
    switch (result.kind) {
      case 'succeeded':
        await send(event, 'outcome', paymentId, {
          type: onSuccess,
          data: { amount: result.amount, gateway: deps.gateway.name, gatewayReference: result.reference },
        });
        return;
      case 'requires_action':
        await send(event, 'outcome', paymentId, {
          type: 'RecordActionRequired',
          data: { gatewayReference: result.reference, nextAction: result.nextAction },
        });
        return;
      case 'declined':
        await send(event, 'outcome', paymentId, {
          type: 'RecordPaymentFailure',
          data: {
            reason: result.message,
            code: result.code,
            gateway: deps.gateway.name,
            ...(result.declineCode ? { declineCode: result.declineCode } : {}),
          },
        });
        return;
      default: {
        const unknown: never = result;
        throw new Error(`unknown gateway result ${JSON.stringify(unknown)}`);
      }
    }
  }

  /**
   * The expiry deadline may have fired while the gateway was deciding (and found nothing to
   * expire); a payment now waiting for the customer gets a deadline of its own at the same time.
   */
  async function onActionRequired(event: RecordedEvent): Promise<void> {
    const { paymentId } = event.data as { paymentId: string };
    const { request } = await requirePayment(deps.store, paymentId);
    await deps.deadlines.schedule({
      id: `${expiryDeadlineId(paymentId)}:${event.id}`,
      kind: PAYMENT_EXPIRY,
      dueAt: new Date(request.expiresAt),
      payload: { paymentId, tenantId: event.metadata.tenantId, correlationId: event.metadata.correlationId },
    });
  }

  async function onAuthorized(event: RecordedEvent): Promise<void> {
    const data = event.data as PaymentAuthorized['data'];
    const { state } = await requirePayment(deps.store, data.paymentId);
    // Charged in one call (or captured already): nothing left to capture.
    if (state.status !== 'processing' || state.captured > 0) return;
    const result = await deps.gateway.capture({
      idempotencyKey: derivedId(event.id, 'capture'),
      reference: data.gatewayReference,
      amount: data.amount,
    });
    await recordResult(event, data.paymentId, result, 'RecordCapture');
  }

  async function onEndedUnpaid(event: RecordedEvent): Promise<void> {
    const { paymentId } = event.data as { paymentId: string };
    const { state } = await requirePayment(deps.store, paymentId);
    if (!holdsGatewayIntent(state)) return;
    const result = await deps.gateway.void({ idempotencyKey: derivedId(event.id, 'void'), reference: state.gatewayReference! });
    if (result.kind === 'failed') throw new PermanentFailure(`could not void ${state.gatewayReference}: ${result.code} ${result.message}`);
    await send(event, 'voided', paymentId, { type: 'RecordAuthorizationVoided', data: { gatewayReference: result.reference } });
  }

  const steps: Record<string, (event: RecordedEvent) => Promise<void>> = {
    PaymentRequested: onRequested,
    PaymentSubmitted: onSubmitted,
    PaymentActionRequired: onActionRequired,
    PaymentAuthorized: onAuthorized,
    PaymentExpired: onEndedUnpaid,
    PaymentCancelled: onEndedUnpaid,
    PaymentFailed: onEndedUnpaid,
  };

  return {
    name: 'purchase',
    handles: new Set(Object.keys(steps)),
    handle: (event) => steps[event.type]!(event),
  };
}

/** An authorization hold, or an intent still waiting for the customer, that nobody released. */
const holdsGatewayIntent = (state: PaymentState): boolean =>
  state.gatewayReference !== undefined && !state.authorizationVoided && (state.authorized > 0 || state.nextAction !== undefined);

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
      await paymentHandler.handle(
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

/**
 * A pending payment's deadline: expire it if it is still pending. Past pending (submitted,
 * captured, failed) the command decides nothing, so a late or repeated firing is harmless.
 */
export function paymentExpiryHandler(store: EventStore, clock: () => Date = () => new Date()): DeadlineHandler {
  return async (deadline) => {
    const payload = deadline.payload as { paymentId: string; tenantId: string; correlationId: string };
    const now = clock();
    await paymentHandler.handle(
      store,
      payload.paymentId,
      { type: 'ExpirePayment', data: { now: now.toISOString() } },
      {
        commandId: derivedId(deadline.id, 'expire'),
        now,
        actor: 'system:payment-expiry',
        tenantId: payload.tenantId,
        correlationId: payload.correlationId,
        causationId: derivedId(deadline.id, 'deadline'),
      },
    );
  };
}
