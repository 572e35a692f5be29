/**
 * The one closed set of errors Tessera answers with, each with a stable code and HTTP status (as
 * fastify does with FST_ERR_*). Codes are part of the API contract (seed 003, "Common Error
 * Codes"): add codes here, never rename one. The HTTP error handler maps a TesseraError to the
 * seed's body `{ error, code, timestamp, path, errors? }`.
 */
export const ERROR_STATUS = {
  // Request shape
  VALIDATION_ERROR: 422,
  MALFORMED_REQUEST: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,

  // Authentication and authorisation
  AUTH_REQUIRED: 401,
  INVALID_TOKEN: 401,
  TOKEN_EXPIRED: 401,
  FORBIDDEN: 403,
  INVALID_SIGNATURE: 401,
  SIGNATURE_EXPIRED: 401,
  // A signed internal call whose nonce was already used: a replay (issue 17).
  SIGNATURE_REPLAYED: 401,

  // Idempotency and limits
  IDEMPOTENCY_KEY_MISSING: 400,
  IDEMPOTENCY_KEY_INVALID: 400,
  IDEMPOTENCY_KEY_REUSED: 422,
  DUPLICATE_IN_PROGRESS: 409,
  RATE_LIMIT_EXCEEDED: 429,

  // Consistency
  CONCURRENCY_CONFLICT: 409,
  READ_MODEL_BEHIND: 409,

  // Payments (issue 4)
  VENUE_NOT_FOUND: 404,
  PAYMENT_NOT_FOUND: 404,
  REFUND_EXCEEDS_ORIGINAL: 400,
  PAYMENT_NOT_REFUNDABLE: 409,
  PAYMENT_NOT_COMPLETED: 409,
  PAYMENT_FAILED: 402,
  INVALID_STATE_TRANSITION: 409,
  PAYMENT_ALREADY_EXISTS: 409,
  TAX_JURISDICTION_UNKNOWN: 422,
  PARKED_WORK_NOT_FOUND: 404,
  GATEWAY_UNAVAILABLE: 503,
  // Stripe answers a webhook's 4xx by retrying later; a bad or stale signature is Stripe's 400 case.
  WEBHOOK_SIGNATURE_INVALID: 400,
  // A validly signed event Tessera cannot read (no id, data that is not an object): refused before it is stored.
  WEBHOOK_PAYLOAD_INVALID: 400,

  // Resale and minting (issue 6)
  TICKET_NOT_FOUND: 404,
  TICKET_NOT_RESELLABLE: 409,
  PRICE_OUTSIDE_LIMITS: 422,
  LISTING_NOT_FOUND: 404,
  LISTING_ALREADY_EXISTS: 409,
  LISTING_NOT_AVAILABLE: 409,
  CANNOT_BUY_OWN_LISTING: 422,
  ESCROW_NOT_FOUND: 404,

  // Group payments, venue settlement and payouts, refund policies (issue 7)
  GROUP_PAYMENT_NOT_FOUND: 404,
  GROUP_MEMBER_NOT_FOUND: 404,
  GROUP_PAYMENT_CLOSED: 409,
  CONTRIBUTION_ALREADY_MADE: 409,
  INSUFFICIENT_FUNDS: 400,
  PAYOUT_BELOW_MINIMUM: 422,
  PAYOUT_LIMIT_EXCEEDED: 422,
  // The venue's payout account changed recently: payouts wait until details.holdUntil (issue 17).
  PAYOUT_ON_HOLD: 409,
  // A seller or royalty holder asked for a payout with no payout account registered (issue 23).
  PAYOUT_ACCOUNT_REQUIRED: 409,
  REFUND_POLICY_EXCEEDED: 400,
  TICKET_RESOLD: 409,
  TICKET_IN_RESALE: 409,
  TICKET_NOT_MINTED: 409,

  // Fraud and risk (issue 20): seed 003's codes for a declined purchase, and the review queue
  BOT_DETECTED: 403,
  FRAUD_DETECTED: 403,
  VELOCITY_LIMIT_EXCEEDED: 429,
  PURCHASE_LIMIT_EXCEEDED: 403,
  PAYMENT_NOT_REVIEWABLE: 409,
  RISK_LIST_ENTRY_NOT_FOUND: 404,

  // Ticket catalogue (issue 17): prices are registered, never the caller's
  TICKET_TYPE_NOT_FOUND: 404,
  TICKET_SALE_CLOSED: 409,
  PRICE_MISMATCH: 409,
  // On-sales (issue 21): a ticket type's capacity is taken (purchase limits answer PURCHASE_LIMIT_EXCEEDED)
  SOLD_OUT: 409,

  // Waiting room (issue 21): seed 003's codes for a purchase of a protected event, and the room's own
  WAITING_ROOM_NOT_FOUND: 404,
  NOT_IN_WAITING_ROOM: 404,
  ACCESS_TOKEN_NOT_FOUND: 404,
  QUEUE_TOKEN_REQUIRED: 403,
  INVALID_ACCESS_TOKEN: 403,

  // Webhooks out (issue 22): a tenant's endpoints and their deliveries
  WEBHOOK_ENDPOINT_NOT_FOUND: 404,
  WEBHOOK_DELIVERY_NOT_FOUND: 404,
  WEBHOOK_ENDPOINT_LIMIT_REACHED: 409,
  // An attempt of the delivery is under way: redeliver once it has been recorded.
  WEBHOOK_DELIVERY_IN_FLIGHT: 409,

  // Read side: ledger and projections
  ACCOUNT_NOT_FOUND: 404,
  PROJECTION_NOT_FOUND: 404,
  REBUILD_IN_PROGRESS: 409,

  // Infrastructure
  SERVICE_UNAVAILABLE: 503,
  INTERNAL_ERROR: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** Facts a client may act on, answered in the error body's `details` (e.g. the refundable amount). */
export type PublicDetails = Readonly<Record<string, string | number | boolean>>;

export class TesseraError extends Error {
  readonly status: number;

  /**
   * `details` are for logs and callers in this process; only `details.errors` (field problems)
   * and `details.expose` (PublicDetails) reach the response body.
   */
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { readonly errors?: readonly FieldError[]; readonly expose?: PublicDetails; readonly [key: string]: unknown } = {},
  ) {
    super(message);
    this.name = 'TesseraError';
    this.status = ERROR_STATUS[code];
  }
}

export const isTesseraError = (error: unknown): error is TesseraError => error instanceof TesseraError;

/** A failure no retry can fix (for example the gateway refusing to void a hold). */
export class PermanentFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentFailure';
  }
}
