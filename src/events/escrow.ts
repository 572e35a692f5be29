import type { RiskAssessmentRecord } from './payment.js';
import type { Chain } from '../domain/fees.js';
import type { RoyaltySplit } from '../domain/resale.js';
import { eventGuard } from './event-guard.js';

/**
 * A resale escrow's events (`escrow-<uuid>`): a buyer's money held between the
 * listing's sale and the NFT's transfer. Amounts are integer minor units of `currency`. Its events
 * carry its parties and amounts, so the ledger books each from the event alone.
 */
export const escrowStreamId = (escrowId: string): string => `escrow-${escrowId}`;

export interface EscrowTerms {
  readonly escrowId: string;
  readonly listingId: string;
  readonly ticketId: string;
  readonly buyerId: string;
  readonly sellerId: string;
  readonly venueId: string;
  readonly eventId: string;
  readonly chain: Chain;
  readonly currency: string;
  readonly amount: number;
  /** How `amount` is released, decided when the escrow is created (rates included). */
  readonly split: RoyaltySplit;
  readonly paymentMethodId: string;
  /** How long after funding the NFT transfer may take before the buyer is refunded. */
  readonly releaseTimeoutMs: number;
  /** `required`: the risk assessment challenged the purchase, so the charge asks for 3-D Secure. */
  readonly threeDSecure?: 'required';
}

/**
 * The risk assessment before the resale's charge (issue 20). A decline, or a review (a resale
 * cannot wait for an analyst), fails the escrow's funding in the same append.
 */
export interface EscrowRiskAssessed {
  readonly type: 'EscrowRiskAssessed';
  readonly data: { readonly escrowId: string } & RiskAssessmentRecord;
}

/** Parties and amounts every money-moving escrow event carries for the ledger. */
interface EscrowParties {
  readonly escrowId: string;
  readonly ticketId: string;
  readonly buyerId: string;
  readonly sellerId: string;
  readonly venueId: string;
  readonly eventId: string;
  readonly currency: string;
  readonly amount: number;
}

export interface EscrowCreated {
  readonly type: 'EscrowCreated';
  readonly data: EscrowTerms & { readonly createdAt: string };
}

/** The buyer was charged: the money sits in `escrow:<id>`. */
export interface EscrowFunded {
  readonly type: 'EscrowFunded';
  readonly data: EscrowParties & {
    readonly gateway: string;
    readonly gatewayReference: string;
    readonly fundedAt: string;
    /** When the buyer is refunded if the transfer has not been confirmed. */
    readonly releaseDeadline: string;
  };
}

/** The charge was declined (or the listing was gone): nothing was taken, nothing is held. */
export interface EscrowFundingFailed {
  readonly type: 'EscrowFundingFailed';
  readonly data: { readonly escrowId: string; readonly reason: string; readonly code: string; readonly declineCode?: string };
}

/**
 * The NFT transfer was submitted to the chain (keyed by the funding event): its hash is what the
 * release looks for, its gas the platform's cost (debit `platform:gas`, credit `gateway:clearing`).
 */
export interface EscrowTransferSubmitted {
  readonly type: 'EscrowTransferSubmitted';
  readonly data: {
    readonly escrowId: string;
    readonly ticketId: string;
    readonly chain: Chain;
    readonly txHash: string;
    readonly gasFee: number;
    readonly currency: string;
    readonly submittedAt: string;
  };
}

/** The NFT transfer was confirmed: escrow pays the seller, the royalties and the platform fee. */
export interface EscrowReleased {
  readonly type: 'EscrowReleased';
  readonly data: EscrowParties & { readonly split: RoyaltySplit; readonly transferTxHash: string; readonly releasedAt: string };
}

/** The transfer was not confirmed in time: the escrowed money is owed back to the buyer. */
export interface EscrowRefunded {
  readonly type: 'EscrowRefunded';
  readonly data: EscrowParties & { readonly reason: string; readonly refundedAt: string };
}

/** The gateway paid the buyer's refund back to the card. */
export interface EscrowRefundPaid {
  readonly type: 'EscrowRefundPaid';
  readonly data: EscrowParties & { readonly gatewayReference: string };
}

/** Buyer or seller disputes the resale: the money stays in escrow until an operator decides. */
export interface EscrowDisputed {
  readonly type: 'EscrowDisputed';
  readonly data: { readonly escrowId: string; readonly reason: string; readonly raisedBy: string };
}

export type EscrowEvent =
  | EscrowCreated
  | EscrowFunded
  | EscrowFundingFailed
  | EscrowTransferSubmitted
  | EscrowReleased
  | EscrowRefunded
  | EscrowRefundPaid
  | EscrowDisputed
  | EscrowRiskAssessed;

/** Each event type's schema version as written now (src/events/versions.ts). */
export const ESCROW_EVENT_VERSIONS = {
  EscrowCreated: 1,
  EscrowFunded: 1,
  EscrowFundingFailed: 1,
  EscrowTransferSubmitted: 1,
  EscrowReleased: 1,
  EscrowRefunded: 1,
  EscrowRefundPaid: 1,
  EscrowDisputed: 1,
  EscrowRiskAssessed: 1,
} as const satisfies Record<EscrowEvent['type'], number>;

const escrowEvents = eventGuard<EscrowEvent>(ESCROW_EVENT_VERSIONS);

export const ESCROW_EVENT_TYPES = escrowEvents.types;

export const isEscrowEvent = escrowEvents.is;
