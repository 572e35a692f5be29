import { z } from 'zod';
import type { PaymentCommand, PaymentState } from '../aggregates/payment.js';
import { paymentHandler, requirePayment } from '../commands/payment.js';
import { derivedId } from '../domain/ids.js';
import type { PaymentEvent } from '../events/payment.js';
import type { EventStore, RecordedEvent } from '../eventstore/event-store.js';
import type { GatewayReferences } from '../gateways/gateway-references.js';
import type { PaymentGateway, PaymentResult } from '../gateways/gateway.js';
import { contextFromDeadline, deadlineCause, deadlineHandler, type DeadlineHandler, type Deadlines } from './runtime/deadlines.js';
import { processManager, type ProcessManager } from './runtime/process-manager.js';
import { PermanentFailure } from '../errors.js';
import { contextFromEvent } from '../commands/handle-command.js';
import type { RiskAssessor } from '../commands/risk.js';

export const PAYMENT_EXPIRY = 'payment-expiry';

export const expiryDeadlineId = (paymentId: string): string => `${PAYMENT_EXPIRY}:${paymentId}`;

/** A payment held for review is voided when nobody decides it by this deadline (FRAUD_REVIEW_TIMEOUT_MS). */
export const PAYMENT_REVIEW = 'payment-review';

export const reviewDeadlineId = (paymentId: string): string => `${PAYMENT_REVIEW}:${paymentId}`;

const expiryPayload = z.object({ paymentId: z.string(), ...deadlineCause });

export interface PurchaseProcessDeps {
  readonly store: EventStore;
  readonly gateway: PaymentGateway;
  readonly references: GatewayReferences;
  readonly deadlines: Pick<Deadlines, 'schedule'>;
  readonly clock?: () => Date;
  /** The risk assessment's feature store: a payment that ends unpaid gives its tickets back to the per-event cap. */
  readonly risk?: Pick<RiskAssessor, 'releaseTickets'>;
  /** How long a payment held for review waits for an analyst before it is voided. */
  readonly reviewTimeoutMs?: number;
}

const ACTOR = 'system:purchase';

const DEFAULT_REVIEW_TIMEOUT_MS = 24 * 3_600_000;

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

  async function capture(event: RecordedEvent, paymentId: string, gatewayReference: string, amount: number): Promise<void> {
    const result = await deps.gateway.capture({ idempotencyKey: derivedId(event.id, 'capture'), reference: gatewayReference, amount });
    await recordResult(event, paymentId, result, 'RecordCapture');
  }

  /** Expired, cancelled or failed: an intent the gateway still holds is voided. */
  async function onEndedUnpaid(event: RecordedEvent<string, { readonly paymentId: string }>): Promise<void> {
    const { paymentId } = event.data;
    await deps.risk?.releaseTickets(paymentId);
    const { state } = await requirePayment(deps.store, paymentId);
    if (!holdsGatewayIntent(state)) return;
    const result = await deps.gateway.void({ idempotencyKey: derivedId(event.id, 'void'), reference: state.gatewayReference! });
    if (result.kind === 'failed') throw new PermanentFailure(`could not void ${state.gatewayReference}: ${result.code} ${result.message}`);
    await send(event, 'voided', paymentId, { type: 'RecordAuthorizationVoided', data: { gatewayReference: result.reference } });
  }

  return processManager<PaymentEvent>('purchase', {
    /**
     * Submitted, a payment no longer expires (only the gateway's answer moves it on), so its
     * expiry deadline is only needed when submitting fails: it is scheduled then, before the
     * failure is retried or parked, and a payment nobody could submit still expires. One
     * submitted after its expiry (this manager was down or behind) expires instead of being
     * charged late.
     */
    PaymentRequested: async (event) => {
      const { data } = event;
      try {
        await send(event, 'submit', data.paymentId, {
          type: 'SubmitPayment',
          data: {
            gateway: deps.gateway.name,
            operation: data.captureMode === 'manual' ? 'authorize' : 'charge',
            idempotencyKey: derivedId(event.id, 'gateway'),
            now: clock().toISOString(),
          },
        });
      } catch (error) {
        await deps.deadlines.schedule({
          id: expiryDeadlineId(data.paymentId),
          kind: PAYMENT_EXPIRY,
          dueAt: new Date(data.expiresAt),
          payload: expiryOf(event, data.paymentId),
        });
        throw error;
      }
    },

    PaymentSubmitted: async (event) => {
      const { data } = event;
      const { request } = await requirePayment(deps.store, data.paymentId, { recent: true });
      const charge = {
        idempotencyKey: data.idempotencyKey,
        amount: data.amount,
        currency: request.quote.currency,
        paymentMethodId: request.paymentMethod.paymentMethodId,
        metadata: { paymentId: data.paymentId, venueId: request.venueId, userId: request.userId },
        ...(data.threeDSecure ? { threeDSecure: data.threeDSecure } : {}),
      };
      const result = data.operation === 'authorize' ? await deps.gateway.authorize(charge) : await deps.gateway.charge(charge);
      await recordResult(event, data.paymentId, result, data.operation === 'authorize' ? 'RecordAuthorization' : 'RecordCapture');
    },

    /**
     * The expiry deadline may have fired while the gateway was deciding (and found nothing to
     * expire); a payment now waiting for the customer gets a deadline of its own at the same time.
     */
    PaymentActionRequired: async (event) => {
      const { paymentId } = event.data;
      const { request } = await requirePayment(deps.store, paymentId, { recent: true });
      await deps.deadlines.schedule({
        id: `${expiryDeadlineId(paymentId)}:${event.id}`,
        kind: PAYMENT_EXPIRY,
        dueAt: new Date(request.expiresAt),
        payload: expiryOf(event, paymentId),
      });
    },

    /**
     * Held for review, the hold waits for the analyst (or the review deadline, which voids it);
     * approved before the hold was in place, it is captured now.
     */
    PaymentAuthorized: async (event) => {
      const { data } = event;
      const { state } = await requirePayment(deps.store, data.paymentId);
      // Charged in one call (or captured already): nothing left to capture.
      if (state.status !== 'processing' || state.captured > 0) return;
      if (state.review === 'pending') {
        await deps.deadlines.schedule({
          id: reviewDeadlineId(data.paymentId),
          kind: PAYMENT_REVIEW,
          dueAt: new Date(clock().getTime() + (deps.reviewTimeoutMs ?? DEFAULT_REVIEW_TIMEOUT_MS)),
          payload: expiryOf(event, data.paymentId),
        });
        return;
      }
      await capture(event, data.paymentId, data.gatewayReference, data.amount);
    },

    /** Approved on review: the hold is captured (keyed by this event, so once). Declined: the cancellation voids it. */
    PaymentReviewed: async (event) => {
      const { data } = event;
      if (data.verdict !== 'approve') return;
      const { state } = await requirePayment(deps.store, data.paymentId);
      if (state.status !== 'processing' || state.captured > 0 || state.authorized === 0) return;
      await capture(event, data.paymentId, state.gatewayReference!, state.authorized);
    },

    PaymentExpired: onEndedUnpaid,
    PaymentCancelled: onEndedUnpaid,
    PaymentFailed: onEndedUnpaid,
  });
}

/** A payment's expiry deadline, in the tenant and correlation of the event that set it. */
const expiryOf = (event: RecordedEvent, paymentId: string): z.input<typeof expiryPayload> => ({
  paymentId,
  tenantId: event.metadata.tenantId,
  correlationId: event.metadata.correlationId,
});

/** An authorization hold, or an intent still waiting for the customer, that nobody released. */
const holdsGatewayIntent = (state: PaymentState): boolean =>
  state.gatewayReference !== undefined && !state.authorizationVoided && (state.authorized > 0 || state.nextAction !== undefined);

/**
 * The refund: requested -> gateway refund (keyed by the request event) -> succeeded or failed.
 * Refunds the gateway itself reported (webhooks) are recorded as already succeeded and skipped.
 */
export function refundProcess(deps: { store: EventStore; gateway: PaymentGateway; clock?: () => Date }): ProcessManager {
  const clock = deps.clock ?? (() => new Date());
  return processManager<PaymentEvent>('refund', {
    RefundRequested: async (event) => {
      const { data } = event;
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
  });
}

/**
 * A held payment's review deadline: nobody decided in time, so its hold is voided (the payment
 * expires). Decided already, the command decides nothing.
 */
export function paymentReviewHandler(store: EventStore, clock: () => Date = () => new Date()): DeadlineHandler {
  return deadlineHandler(expiryPayload, async (deadline) => {
    const now = clock();
    await paymentHandler.handle(
      store,
      deadline.payload.paymentId,
      { type: 'ExpireReview', data: { now: now.toISOString(), dueAt: deadline.dueAt.toISOString() } },
      contextFromDeadline(deadline, 'expire-review', 'system:payment-review', now),
    );
  });
}

/**
 * A pending payment's deadline: expire it if it is still pending. Past pending (submitted,
 * captured, failed) the command decides nothing, so a late or repeated firing is harmless.
 */
export function paymentExpiryHandler(store: EventStore, clock: () => Date = () => new Date()): DeadlineHandler {
  return deadlineHandler(expiryPayload, async (deadline) => {
    const now = clock();
    await paymentHandler.handle(
      store,
      deadline.payload.paymentId,
      { type: 'ExpirePayment', data: { now: now.toISOString() } },
      contextFromDeadline(deadline, 'expire', 'system:payment-expiry', now),
    );
  });
}
