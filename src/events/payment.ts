import type { RefundAllocation } from '../domain/refund-allocation.js';
import type { FiredRule, RiskDecision, RiskDeclineCode, RiskFeatures, RiskLevel } from '../domain/risk.js';
import type { PurchaseQuote, TicketLine } from '../domain/purchase-quote.js';
import { eventGuard } from './event-guard.js';

/**
 * The Payment stream's events (`payment-<uuid>`). Each records what was
 * decided, with the numbers and rules used, so the ledger books from events alone.
 * Amounts are integer cents of the payment's currency.
 */
export const paymentStreamId = (paymentId: string): string => `payment-${paymentId}`;

export interface PaymentMethodRef {
  readonly type: 'card';
  /** A gateway token such as `pm_card_visa`; never card data. */
  readonly paymentMethodId: string;
}

/** Version 2: each ticket line records its price's source (version 1 lines read as `request`). */
export interface PaymentRequested {
  readonly type: 'PaymentRequested';
  readonly data: {
    readonly paymentId: string;
    readonly userId: string;
    readonly venueId: string;
    readonly eventId: string;
    readonly tickets: readonly TicketLine[];
    readonly quote: PurchaseQuote;
    readonly paymentMethod: PaymentMethodRef;
    readonly captureMode: 'automatic' | 'manual';
    readonly requestedAt: string;
    /** When a payment still pending is expired by its deadline. */
    readonly expiresAt: string;
  };
}

/** The process manager handed the payment to the gateway: from here the gateway's answer decides. */
export interface PaymentSubmitted {
  readonly type: 'PaymentSubmitted';
  readonly data: {
    readonly paymentId: string;
    readonly gateway: string;
    readonly operation: 'charge' | 'authorize';
    /** The idempotency key every attempt of this gateway call carries. */
    readonly idempotencyKey: string;
    readonly amount: number;
    /** `required`: the risk assessment challenged the purchase, so the card must pass 3-D Secure. */
    readonly threeDSecure?: 'required';
  };
}

/**
 * The risk assessment made before the gateway was called (issue 20): what it saw, the rules
 * that fired, the score and the decision, with the model that scored it. A declined purchase is
 * failed in the same append; a challenged one goes to 3-D Secure; one held for review is
 * authorized and waits for an analyst.
 */
export interface PaymentRiskAssessed {
  readonly type: 'PaymentRiskAssessed';
  readonly data: { readonly paymentId: string } & RiskAssessmentRecord;
}

/** A risk assessment as every stream that records one holds it (payment, escrow, group contribution). */
export interface RiskAssessmentRecord {
  /** Unique per assessment: the payment id, the escrow id, or a contribution's hold key. */
  readonly assessmentId: string;
  /** What was bought: a purchase, a group member's share, a resale. */
  readonly subject: 'purchase' | 'group-contribution' | 'resale-purchase';
  readonly userId: string;
  readonly venueId: string;
  readonly eventId: string;
  readonly amount: number;
  readonly features: RiskFeatures;
  readonly rules: readonly FiredRule[];
  /** 0-100. */
  readonly score: number;
  readonly level: RiskLevel;
  readonly decision: RiskDecision;
  readonly declineCode?: RiskDeclineCode;
  readonly botScore: number;
  readonly scalperScore: number;
  readonly modelVersion: string;
  /** The live model's probability (0-1). */
  readonly modelScore: number;
  /** A second model scoring beside the live one, logged and not deciding. */
  readonly shadow?: { readonly modelVersion: string; readonly modelScore: number; readonly decision: RiskDecision };
  readonly deviceFingerprint?: string;
  readonly ipAddress?: string;
  readonly latencyMs: number;
  readonly assessedAt: string;
}

/** An analyst (or the review deadline) decided a payment held for review. */
export interface PaymentReviewed {
  readonly type: 'PaymentReviewed';
  readonly data: {
    readonly paymentId: string;
    readonly verdict: 'approve' | 'decline';
    /** `admin:<id>`, or `system:review-deadline` when nobody decided in time. */
    readonly reviewedBy: string;
    readonly note?: string;
    readonly reviewedAt: string;
  };
}

export interface NextAction {
  readonly type: 'authenticate';
  /** Where the client completes it (3-D Secure page), when the gateway gives one. */
  readonly redirectUrl?: string;
  readonly clientSecret?: string;
}

/** The gateway needs the customer (3-D Secure): the payment waits, and expires if never completed. */
export interface PaymentActionRequired {
  readonly type: 'PaymentActionRequired';
  readonly data: {
    readonly paymentId: string;
    readonly gatewayReference: string;
    readonly nextAction: NextAction;
  };
}

export interface PaymentAuthorized {
  readonly type: 'PaymentAuthorized';
  readonly data: {
    readonly paymentId: string;
    readonly amount: number;
    readonly gateway: string;
    readonly gatewayReference: string;
  };
}

export interface PaymentCaptured {
  readonly type: 'PaymentCaptured';
  readonly data: {
    readonly paymentId: string;
    readonly venueId: string;
    readonly userId: string;
    readonly eventId: string;
    readonly currency: string;
    readonly amount: number;
    /** The ticket-price part of `amount`: what counts toward the venue's volume. */
    readonly ticketPrice: number;
    readonly gateway: string;
    readonly gatewayReference: string;
    /** The card network's cost for this capture, by the rule recorded in the quote. */
    readonly processingCost: number;
    /** How the captured amount splits (venue, fees, gas, each tax): what the ledger books. */
    readonly quote: PurchaseQuote;
  };
}

export interface PaymentFailed {
  readonly type: 'PaymentFailed';
  readonly data: {
    readonly paymentId: string;
    readonly reason: string;
    /** Gateway error code, e.g. `card_declined`. */
    readonly code: string;
    /** Issuer's decline code, e.g. `insufficient_funds`, when there is one. */
    readonly declineCode?: string;
    readonly gateway: string;
  };
}

export interface PaymentCancelled {
  readonly type: 'PaymentCancelled';
  readonly data: { readonly paymentId: string; readonly reason: string };
}

export interface PaymentExpired {
  readonly type: 'PaymentExpired';
  readonly data: { readonly paymentId: string; readonly expiresAt: string; readonly expiredAt: string };
}

/** A hold or open gateway intent of a payment that ended without capture was released. */
export interface PaymentAuthorizationVoided {
  readonly type: 'PaymentAuthorizationVoided';
  readonly data: { readonly paymentId: string; readonly gatewayReference: string; readonly amount: number };
}


/** The parties a refund's money moves between, carried by every refund event for the ledger. */
interface RefundParties {
  readonly paymentId: string;
  readonly refundId: string;
  readonly venueId: string;
  /** The buyer, to whom the refund is owed until the gateway has paid it. */
  readonly userId: string;
  readonly currency: string;
}

export interface RefundRequested {
  readonly type: 'RefundRequested';
  readonly data: RefundParties & {
    readonly amount: number;
    readonly reason: string;
    readonly full: boolean;
    /** `user:<id>`, `admin:<id>`, `gateway:stripe` for refunds made at the gateway. */
    readonly requestedBy: string;
    readonly allocation: RefundAllocation;
  };
}

export interface RefundSucceeded {
  readonly type: 'RefundSucceeded';
  readonly data: RefundParties & {
    readonly amount: number;
    readonly allocation: RefundAllocation;
    readonly gatewayReference: string;
  };
}

/** The gateway refused the refund: what RefundRequested set aside goes back where it came from. */
export interface RefundFailed {
  readonly type: 'RefundFailed';
  readonly data: RefundParties & {
    readonly amount: number;
    readonly allocation: RefundAllocation;
    readonly reason: string;
    readonly code: string;
  };
}

export interface DisputeOpened {
  readonly type: 'DisputeOpened';
  readonly data: {
    readonly paymentId: string;
    readonly disputeId: string;
    readonly amount: number;
    readonly reason: string;
  };
}

export interface DisputeClosed {
  readonly type: 'DisputeClosed';
  readonly data: {
    readonly paymentId: string;
    readonly disputeId: string;
    readonly venueId: string;
    readonly currency: string;
    /** `lost`: the card network took `amount` back from us (a chargeback). */
    readonly outcome: 'won' | 'lost';
    readonly amount: number;
    /** For a lost dispute, where the charged-back money comes from, split as a refund would be. */
    readonly allocation?: RefundAllocation;
  };
}

export type PaymentEvent =
  | PaymentRequested
  | PaymentRiskAssessed
  | PaymentReviewed
  | PaymentSubmitted
  | PaymentActionRequired
  | PaymentAuthorized
  | PaymentCaptured
  | PaymentFailed
  | PaymentCancelled
  | PaymentExpired
  | PaymentAuthorizationVoided
  | RefundRequested
  | RefundSucceeded
  | RefundFailed
  | DisputeOpened
  | DisputeClosed;

export type PaymentEventType = PaymentEvent['type'];

/** Each event type's schema version as written now (src/events/versions.ts). */
export const PAYMENT_EVENT_VERSIONS = {
  PaymentRequested: 2,
  PaymentRiskAssessed: 1,
  PaymentReviewed: 1,
  PaymentSubmitted: 1,
  PaymentActionRequired: 1,
  PaymentAuthorized: 1,
  PaymentCaptured: 1,
  PaymentFailed: 1,
  PaymentCancelled: 1,
  PaymentExpired: 1,
  PaymentAuthorizationVoided: 1,
  RefundRequested: 1,
  RefundSucceeded: 1,
  RefundFailed: 1,
  DisputeOpened: 1,
  DisputeClosed: 1,
} as const satisfies Record<PaymentEventType, number>;

const paymentEvents = eventGuard<PaymentEvent>(PAYMENT_EVENT_VERSIONS);

export const PAYMENT_EVENT_TYPES = paymentEvents.types;

/** Narrows a stored event to the catalogue; the store holds only what deciders wrote. */
export const isPaymentEvent = paymentEvents.is;
