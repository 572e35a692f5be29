import Stripe from 'stripe';
import {
  TransientGatewayError,
  type ChargeRequest,
  type PaymentGateway,
  type PaymentResult,
  type PayoutGateway,
  type RefundResult,
  type TransferResult,
  type VoidResult,
} from './gateway.js';

/**
 * The Stripe adapter over the official SDK: PaymentIntents confirmed at once, with manual
 * capture for authorize/capture and automatic for charge; refunds; Stripe's own idempotency
 * keys on every call (Stripe replays the first response for 24 hours). `host`/`port`/`protocol`
 * point it at stripe-mock in tests.
 */
export interface StripeGatewayOptions {
  readonly secretKey: string;
  readonly host?: string;
  readonly port?: number;
  readonly protocol?: 'http' | 'https';
  readonly timeoutMs?: number;
}

export function createStripeClient(options: StripeGatewayOptions): Stripe {
  return new Stripe(options.secretKey, {
    // Our process managers retry with the same key and back off; the SDK's own retries would
    // hide the outcome from them.
    maxNetworkRetries: 0,
    timeout: options.timeoutMs ?? 20_000,
    ...(options.host ? { host: options.host } : {}),
    ...(options.port ? { port: options.port } : {}),
    ...(options.protocol ? { protocol: options.protocol } : {}),
  });
}

export function createStripeGateway(stripe: Stripe): PaymentGateway {
  const createIntent = async (request: ChargeRequest, captureMethod: 'manual' | 'automatic'): Promise<PaymentResult> => {
    try {
      const intent = await stripe.paymentIntents.create(
        {
          amount: request.amount,
          currency: request.currency.toLowerCase(),
          payment_method: request.paymentMethodId,
          // Cards only answer at once; redirect-based methods would leave the outcome to webhooks.
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          capture_method: captureMethod,
          // Challenged by the risk assessment: Stripe asks for 3-D Secure whenever the card supports it.
          ...(request.threeDSecure === 'required' ? { payment_method_options: { card: { request_three_d_secure: 'any' as const } } } : {}),
          confirm: true,
          metadata: { ...request.metadata },
        },
        { idempotencyKey: request.idempotencyKey },
      );
      return paymentResultFromIntent(intent);
    } catch (error) {
      return paymentResultFromError(error);
    }
  };

  return {
    name: 'stripe',
    authorize: (request) => createIntent(request, 'manual'),
    charge: (request) => createIntent(request, 'automatic'),
    async capture(request) {
      try {
        const intent = await stripe.paymentIntents.capture(
          request.reference,
          { amount_to_capture: request.amount },
          { idempotencyKey: request.idempotencyKey },
        );
        return paymentResultFromIntent(intent);
      } catch (error) {
        return paymentResultFromError(error);
      }
    },
    async void(request): Promise<VoidResult> {
      try {
        const intent = await stripe.paymentIntents.cancel(request.reference, {}, { idempotencyKey: request.idempotencyKey });
        return { kind: 'voided', reference: intent.id };
      } catch (error) {
        const failure = definiteFailure(error);
        return { kind: 'failed', ...failure };
      }
    },
    async refund(request): Promise<RefundResult> {
      try {
        const refund = await stripe.refunds.create(
          { payment_intent: request.reference, amount: request.amount, metadata: { ...request.metadata } },
          { idempotencyKey: request.idempotencyKey },
        );
        return refundResultFromRefund(refund);
      } catch (error) {
        return { kind: 'failed', ...definiteFailure(error) };
      }
    },
  };
}

/** A confirmed PaymentIntent as the port's result. */
export function paymentResultFromIntent(intent: Stripe.PaymentIntent): PaymentResult {
  switch (intent.status) {
    case 'succeeded':
      return { kind: 'succeeded', reference: intent.id, amount: intent.amount_received };
    case 'requires_capture':
      return { kind: 'succeeded', reference: intent.id, amount: intent.amount_capturable };
    case 'requires_action':
    case 'requires_confirmation':
      return {
        kind: 'requires_action',
        reference: intent.id,
        nextAction: {
          type: 'authenticate',
          ...(intent.next_action?.redirect_to_url?.url ? { redirectUrl: intent.next_action.redirect_to_url.url } : {}),
          ...(intent.client_secret ? { clientSecret: intent.client_secret } : {}),
        },
      };
    case 'requires_payment_method':
    case 'canceled': {
      const error = intent.last_payment_error;
      return {
        kind: 'declined',
        reference: intent.id,
        code: error?.code ?? (intent.status === 'canceled' ? 'payment_intent_canceled' : 'payment_failed'),
        ...(error?.decline_code ? { declineCode: error.decline_code } : {}),
        message: error?.message ?? `payment intent is ${intent.status}`,
      };
    }
    case 'processing':
      // Cards settle synchronously; an intent still processing has no outcome yet.
      throw new TransientGatewayError(`payment intent ${intent.id} is still processing`);
    default:
      throw new TransientGatewayError(`payment intent ${intent.id} has an unknown status ${String(intent.status)}`);
  }
}

export function refundResultFromRefund(refund: Stripe.Refund): RefundResult {
  switch (refund.status) {
    // Stripe accepted it; card refunds that later fail arrive as refund.failed webhooks.
    case 'succeeded':
    case 'pending':
      return { kind: 'succeeded', reference: refund.id, amount: refund.amount };
    case 'failed':
    case 'canceled':
      return { kind: 'failed', code: refund.failure_reason ?? `refund_${refund.status}`, message: `refund ${refund.status}` };
    case 'requires_action':
    case null:
    default:
      throw new TransientGatewayError(`refund ${refund.id} is ${String(refund.status)}`);
  }
}

/**
 * A thrown Stripe error as the port's vocabulary: card errors are declines (definite); rate
 * limits, connection failures and Stripe's 5xx leave the outcome unknown (transient: retry with
 * the same key); anything else (bad key, idempotency key reused with other parameters) is a
 * bug or a misconfiguration and is rethrown for the process manager to park.
 */
export function paymentResultFromError(error: unknown): PaymentResult {
  if (error instanceof Stripe.errors.StripeCardError) {
    return {
      kind: 'declined',
      ...(error.payment_intent?.id ? { reference: error.payment_intent.id } : {}),
      code: error.code ?? 'card_declined',
      ...(error.decline_code ? { declineCode: error.decline_code } : {}),
      message: error.message,
    };
  }
  return { kind: 'declined', ...definiteFailure(error) };
}

function definiteFailure(error: unknown): { code: string; message: string } {
  throwIfTransient(error);
  if (error instanceof Stripe.errors.StripeInvalidRequestError && error.code) {
    return { code: error.code, message: error.message };
  }
  throw error;
}

export function isTransientStripeError(error: unknown): boolean {
  return (
    error instanceof Stripe.errors.StripeRateLimitError ||
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeAPIError ||
    (error instanceof Stripe.errors.StripeError && (error.statusCode ?? 0) >= 500)
  );
}

function throwIfTransient(error: unknown): void {
  if (!isTransientStripeError(error)) return;
  const stripeError = error as Stripe.errors.StripeError;
  const retryAfter = Number(stripeError.headers?.['retry-after']);
  throw new TransientGatewayError(`stripe: ${stripeError.message}`, Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined);
}

/**
 * Payouts through Stripe Connect: a transfer from the platform's balance to the venue's
 * connected account, and for an instant payout a payout from that account to its card or bank
 * with `method: instant`. Both carry idempotency keys derived from the payout's.
 */
export function createStripePayoutGateway(stripe: Stripe): PayoutGateway {
  return {
    name: 'stripe',
    async transfer(request): Promise<TransferResult> {
      if (!request.destination) return { kind: 'failed', code: 'no_payout_account', message: 'the venue has no connected account' };
      try {
        const transfer = await stripe.transfers.create(
          { amount: request.amount, currency: request.currency.toLowerCase(), destination: request.destination, metadata: { ...request.metadata } },
          { idempotencyKey: request.idempotencyKey },
        );
        if (!request.instant) return { kind: 'paid', reference: transfer.id, amount: transfer.amount };
        try {
          const payout = await stripe.payouts.create(
            { amount: request.amount, currency: request.currency.toLowerCase(), method: 'instant', metadata: { ...request.metadata } },
            { idempotencyKey: `${request.idempotencyKey}:instant`, stripeAccount: request.destination },
          );
          return { kind: 'paid', reference: payout.id, amount: payout.amount };
        } catch (error) {
          // The transfer reached the venue's account: the money is theirs and arrives by standard payout.
          definiteFailure(error);
          return { kind: 'paid', reference: transfer.id, amount: transfer.amount };
        }
      } catch (error) {
        return { kind: 'failed', ...definiteFailure(error) };
      }
    },
  };
}
