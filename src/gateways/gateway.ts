/**
 * The payment gateway port, defined next to its users (the purchase and refund process
 * managers). Every call carries an idempotency key: calling again with the same key returns
 * the first call's result and moves no money twice, which is what makes a retry after a crash
 * safe. Definite answers (succeeded, declined, needs action) are results; anything that leaves
 * the outcome unknown (timeouts, 5xx, rate limits) is thrown as a TransientGatewayError, and
 * the caller retries with the same key.
 */
import type { NextAction } from '../events/payment.js';

export interface ChargeRequest {
  readonly idempotencyKey: string;
  readonly amount: number;
  readonly currency: string;
  readonly paymentMethodId: string;
  /** Stored with the gateway's record (our payment id), so its webhooks can name our payment. */
  readonly metadata: Readonly<Record<string, string>>;
  /** `required`: the card must pass 3-D Secure (the risk assessment challenged the purchase). */
  readonly threeDSecure?: 'required';
}

export type PaymentResult =
  | { readonly kind: 'succeeded'; readonly reference: string; readonly amount: number }
  | { readonly kind: 'requires_action'; readonly reference: string; readonly nextAction: NextAction }
  | {
      readonly kind: 'declined';
      readonly reference?: string;
      readonly code: string;
      readonly declineCode?: string;
      readonly message: string;
    };

export interface CaptureRequest {
  readonly idempotencyKey: string;
  readonly reference: string;
  readonly amount: number;
}

export interface VoidRequest {
  readonly idempotencyKey: string;
  readonly reference: string;
}

export type VoidResult = { readonly kind: 'voided'; readonly reference: string } | { readonly kind: 'failed'; readonly code: string; readonly message: string };

export interface RefundRequest {
  readonly idempotencyKey: string;
  readonly reference: string;
  readonly amount: number;
  readonly metadata: Readonly<Record<string, string>>;
}

export type RefundResult =
  | { readonly kind: 'succeeded'; readonly reference: string; readonly amount: number }
  | { readonly kind: 'failed'; readonly code: string; readonly message: string };

export interface PaymentGateway {
  /** `sandbox` or `stripe`: recorded on events as the gateway that moved the money. */
  readonly name: string;
  /** Places a hold (manual capture); `capture` takes it. */
  authorize(request: ChargeRequest): Promise<PaymentResult>;
  capture(request: CaptureRequest): Promise<PaymentResult>;
  /** Authorizes and captures in one call. */
  charge(request: ChargeRequest): Promise<PaymentResult>;
  /** Releases a hold or cancels an intent still waiting for the customer. */
  void(request: VoidRequest): Promise<VoidResult>;
  refund(request: RefundRequest): Promise<RefundResult>;
}

/** The gateway could not be reached or did not answer definitely; retry with the same key. */
export class TransientGatewayError extends Error {
  readonly code = 'GATEWAY_UNAVAILABLE';
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'TransientGatewayError';
  }
}

/** A payout to a venue's gateway account (Stripe Connect), `instant` when the venue pays for speed. */
export interface TransferRequest {
  readonly idempotencyKey: string;
  readonly amount: number;
  readonly currency: string;
  /** The venue's gateway account (`acct_...` on Stripe); absent when the venue registered none. */
  readonly destination?: string;
  readonly instant: boolean;
  readonly metadata: Readonly<Record<string, string>>;
}

export type TransferResult =
  | { readonly kind: 'paid'; readonly reference: string; readonly amount: number }
  | { readonly kind: 'failed'; readonly code: string; readonly message: string };

/**
 * The payout port, apart from PaymentGateway so a gateway that only takes payments still
 * fits it. Same contract: one idempotency key, one transfer; unknown outcomes are thrown as
 * TransientGatewayError.
 */
export interface PayoutGateway {
  readonly name: string;
  transfer(request: TransferRequest): Promise<TransferResult>;
}
