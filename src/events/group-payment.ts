import type { RiskAssessmentRecord } from './payment.js';
import type { PurchaseQuote, TicketLine } from '../domain/purchase-quote.js';
import { eventGuard } from './event-guard.js';

/**
 * The GroupPayment stream's events (`group-payment-<uuid>`). A group payment
 * is one purchase paid by several members: each member's share is held (authorized, not
 * captured) until every share is held; then all are captured and the purchase completes. Amounts
 * are integer cents of the quote's currency.
 */
export const groupPaymentStreamId = (groupId: string): string => `group-payment-${groupId}`;

export interface GroupMember {
  readonly memberId: string;
  readonly email: string;
  readonly name: string;
  readonly ticketCount: number;
  /** This member's share of the quote's total; the shares sum to it exactly. */
  readonly amountDue: number;
}

/** Version 2: each ticket line records its price's source (version 1 lines read as `request`). */
export interface GroupPaymentCreated {
  readonly type: 'GroupPaymentCreated';
  readonly data: {
    readonly groupId: string;
    readonly organizerId: string;
    readonly venueId: string;
    readonly eventId: string;
    readonly tickets: readonly TicketLine[];
    /** The whole purchase priced once, as a single buyer's would be. */
    readonly quote: PurchaseQuote;
    readonly members: readonly GroupMember[];
    readonly createdAt: string;
    readonly expiresAt: string;
    /** When unpaid members are reminded; absent when reminders are off. */
    readonly remindAt?: string;
  };
}

/** A member offered a card: the group process manager asks the gateway for a hold. */
export interface ContributionSubmitted {
  readonly type: 'ContributionSubmitted';
  readonly data: {
    readonly groupId: string;
    readonly memberId: string;
    readonly payerId: string;
    readonly amount: number;
    readonly paymentMethodId: string;
    /** The key every attempt of this hold's gateway call carries. */
    readonly idempotencyKey: string;
    /** `required`: the risk assessment challenged the share, so the hold asks for 3-D Secure. */
    readonly threeDSecure?: 'required';
  };
}

/**
 * The risk assessment before a member's hold (issue 20). A decline, or a review (a share cannot
 * wait for an analyst), declines the contribution in the same append.
 */
export interface ContributionRiskAssessed {
  readonly type: 'ContributionRiskAssessed';
  readonly data: { readonly groupId: string; readonly memberId: string } & RiskAssessmentRecord;
}

export interface ContributionAuthorized {
  readonly type: 'ContributionAuthorized';
  readonly data: { readonly groupId: string; readonly memberId: string; readonly amount: number; readonly gateway: string; readonly gatewayReference: string };
}

export interface ContributionDeclined {
  readonly type: 'ContributionDeclined';
  readonly data: {
    readonly groupId: string;
    readonly memberId: string;
    readonly code: string;
    readonly reason: string;
    readonly declineCode?: string;
  };
}

/** Every share is held: the holds are captured together from here. */
export interface GroupPaymentFunded {
  readonly type: 'GroupPaymentFunded';
  readonly data: { readonly groupId: string; readonly total: number };
}

export interface ContributionCaptured {
  readonly type: 'ContributionCaptured';
  readonly data: { readonly groupId: string; readonly memberId: string; readonly amount: number; readonly gatewayReference: string };
}

export interface GroupContribution {
  readonly memberId: string;
  readonly amount: number;
  readonly gatewayReference: string;
  readonly ticketCount: number;
  readonly payerId: string;
}

/** The purchase: every share captured. Carries what the ledger books, as PaymentCaptured does. */
export interface GroupPaymentCompleted {
  readonly type: 'GroupPaymentCompleted';
  readonly data: {
    readonly groupId: string;
    readonly organizerId: string;
    readonly venueId: string;
    readonly eventId: string;
    readonly currency: string;
    readonly amount: number;
    readonly ticketPrice: number;
    readonly gateway: string;
    /** The card network's cost of the captures, one per member, by the quote's rule. */
    readonly processingCost: number;
    readonly quote: PurchaseQuote;
    /**
     * Every share in member order. `ticketCount` and `payerId` (the user who paid the share) say
     * whose the tickets are: the members' tickets in order, each run to its payer.
     */
    readonly contributions: readonly GroupContribution[];
  };
}

export interface GroupPaymentExpired {
  readonly type: 'GroupPaymentExpired';
  readonly data: { readonly groupId: string; readonly expiresAt: string; readonly expiredAt: string };
}

export interface GroupPaymentCancelled {
  readonly type: 'GroupPaymentCancelled';
  readonly data: { readonly groupId: string; readonly cancelledBy: string; readonly reason: string };
}

/** A member's hold was released at the gateway after the group expired or was cancelled. */
export interface ContributionReleased {
  readonly type: 'ContributionReleased';
  readonly data: { readonly groupId: string; readonly memberId: string; readonly amount: number; readonly gatewayReference: string };
}

/** An unpaid member is reminded (the mailer sends it); `reminder` counts from 1. */
export interface MemberReminded {
  readonly type: 'MemberReminded';
  readonly data: { readonly groupId: string; readonly memberId: string; readonly email: string; readonly amountDue: number; readonly reminder: number };
}

export type GroupPaymentEvent =
  | GroupPaymentCreated
  | ContributionSubmitted
  | ContributionAuthorized
  | ContributionDeclined
  | GroupPaymentFunded
  | ContributionCaptured
  | GroupPaymentCompleted
  | GroupPaymentExpired
  | GroupPaymentCancelled
  | ContributionReleased
  | MemberReminded
  | ContributionRiskAssessed;

/** Each event type's schema version as written now (src/events/versions.ts). */
export const GROUP_PAYMENT_EVENT_VERSIONS = {
  GroupPaymentCreated: 2,
  ContributionSubmitted: 1,
  ContributionAuthorized: 1,
  ContributionDeclined: 1,
  GroupPaymentFunded: 1,
  ContributionCaptured: 1,
  GroupPaymentCompleted: 1,
  GroupPaymentExpired: 1,
  GroupPaymentCancelled: 1,
  ContributionReleased: 1,
  MemberReminded: 1,
  ContributionRiskAssessed: 1,
} as const satisfies Record<GroupPaymentEvent['type'], number>;

const group_paymentEvents = eventGuard<GroupPaymentEvent>(GROUP_PAYMENT_EVENT_VERSIONS);

export const GROUP_PAYMENT_EVENT_TYPES = group_paymentEvents.types;

export const isGroupPaymentEvent = group_paymentEvents.is;
