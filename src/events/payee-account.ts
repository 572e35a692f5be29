import type { PayoutType } from '../domain/payouts.js';
import { eventGuard } from './event-guard.js';

/**
 * The PayeeAccount stream's events (`payee-account-<kind>-<id>`): what the platform owes a resale
 * seller or a royalty holder, and their payouts. Resale releases credit the ledger's payable
 * accounts (`seller:<id>:payable`, `royalty:<party>:<id>`) on the escrow's stream; each is told to
 * the payee's stream too (`PayeeProceedsCredited`, booked nowhere), so every payout is decided on
 * this one stream against what it owes, and its revision serialises racing payouts.
 *
 * Kinds: `seller` (id: the ledger's user account id, tenant and user, src/projections/ledger/accounts.ts),
 * `artist` and `venue` (royalty holders, by the ids the resale rules name).
 */
export const PAYEE_KINDS = ['seller', 'artist', 'venue'] as const;
export type PayeeKind = (typeof PAYEE_KINDS)[number];

export interface Payee {
  readonly kind: PayeeKind;
  readonly id: string;
}

export const payeeAccountStreamId = (payee: Payee): string => `payee-account-${payee.kind}-${payee.id}`;

/** A released resale's share owed to the payee (the ledger booked it with the release). */
export interface PayeeProceedsCredited {
  readonly type: 'PayeeProceedsCredited';
  readonly data: {
    readonly kind: PayeeKind;
    readonly payeeId: string;
    /** The escrow whose release owes it: one credit per escrow. */
    readonly creditId: string;
    readonly currency: string;
    readonly amount: number;
  };
}

/**
 * The payee's payout account set, replaced or removed. Payouts wait until `holdUntil`, decided
 * now and kept here so a replay needs no configuration; a later change extends it, never shortens it.
 */
export interface PayeePayoutAccountChanged {
  readonly type: 'PayeePayoutAccountChanged';
  readonly data: {
    readonly kind: PayeeKind;
    readonly payeeId: string;
    readonly payoutAccount: string | null;
    readonly previousPayoutAccount: string | null;
    readonly changedBy: string;
    readonly changedAt: string;
    readonly holdUntil: string;
  };
}

/** Taken from what is owed at once; `net` goes to `destination`, `fee` (instant only) to the platform. */
export interface PayeePayoutRequested {
  readonly type: 'PayeePayoutRequested';
  readonly data: {
    readonly kind: PayeeKind;
    readonly payeeId: string;
    readonly payoutId: string;
    readonly currency: string;
    readonly amount: number;
    readonly type: PayoutType;
    readonly feeBps: number;
    readonly fee: number;
    readonly net: number;
    /** The UTC day the payout counts against the daily limit. */
    readonly day: string;
    readonly requestedBy: string;
    readonly estimatedArrival: string;
    /** The payout account when the payout was decided: where the transfer goes. */
    readonly destination: string;
  };
}

/** The gateway paid the transfer: the money left the platform. */
export interface PayeePayoutSent {
  readonly type: 'PayeePayoutSent';
  readonly data: {
    readonly kind: PayeeKind;
    readonly payeeId: string;
    readonly payoutId: string;
    readonly currency: string;
    readonly net: number;
    readonly gateway: string;
    readonly gatewayReference: string;
  };
}

/** The gateway refused the transfer: amount and fee are owed again. */
export interface PayeePayoutFailed {
  readonly type: 'PayeePayoutFailed';
  readonly data: {
    readonly kind: PayeeKind;
    readonly payeeId: string;
    readonly payoutId: string;
    readonly currency: string;
    readonly amount: number;
    readonly fee: number;
    readonly net: number;
    readonly code: string;
    readonly reason: string;
  };
}

export type PayeeAccountEvent = PayeeProceedsCredited | PayeePayoutAccountChanged | PayeePayoutRequested | PayeePayoutSent | PayeePayoutFailed;

/** Each event type's schema version as written now (src/events/versions.ts). */
export const PAYEE_ACCOUNT_EVENT_VERSIONS = {
  PayeeProceedsCredited: 1,
  PayeePayoutAccountChanged: 1,
  PayeePayoutRequested: 1,
  PayeePayoutSent: 1,
  PayeePayoutFailed: 1,
} as const satisfies Record<PayeeAccountEvent['type'], number>;

const payeeAccountEvents = eventGuard<PayeeAccountEvent>(PAYEE_ACCOUNT_EVENT_VERSIONS);

export const PAYEE_ACCOUNT_EVENT_TYPES = payeeAccountEvents.types;

export const isPayeeAccountEvent = payeeAccountEvents.is;
