import { eventGuard } from './event-guard.js';
/**
 * The VenueAccount stream's events (`venue-account-<uuid>`): a venue's money
 * moving from its sales (pending) to what it may take (available), the reserve held back
 * against refunds and chargebacks, and its payouts. Every payout is decided on this one stream,
 * so its revision serialises them. Amounts are integer cents.
 */
export const venueAccountStreamId = (venueId: string): string => `venue-account-${venueId}`;

export type SaleSource = 'payment' | 'group-payment';

/** A sale's proceeds left pending: `amount - reserve` became available, `reserve` is held. */
export interface VenueSaleSettled {
  readonly type: 'VenueSaleSettled';
  readonly data: {
    readonly venueId: string;
    readonly saleId: string;
    readonly source: SaleSource;
    readonly currency: string;
    readonly amount: number;
    readonly reserveBps: number;
    readonly reserve: number;
    readonly available: number;
    readonly reserveReleaseAt: string;
  };
}

export interface VenueReserveReleased {
  readonly type: 'VenueReserveReleased';
  readonly data: { readonly venueId: string; readonly saleId: string; readonly currency: string; readonly amount: number };
}

/**
 * A refund or lost dispute took `amount` of a sale's proceeds back out of `pending` (the payment
 * rules book that). Before the sale settled, settlement will move that much less: nothing to
 * book here. After, the sale's own remaining reserve and then `available` refill `pending`.
 */
export interface VenueProceedsTakenBack {
  readonly type: 'VenueProceedsTakenBack';
  readonly data: {
    readonly venueId: string;
    readonly saleId: string;
    readonly takebackId: string;
    readonly currency: string;
    readonly amount: number;
    readonly afterSettlement: boolean;
    readonly fromReserve: number;
    readonly fromAvailable: number;
  };
}

/** A takeback undone (the gateway refused the refund): the money it returned to `pending` goes on to `available`. */
export interface VenueProceedsReturned {
  readonly type: 'VenueProceedsReturned';
  readonly data: {
    readonly venueId: string;
    readonly saleId: string;
    readonly takebackId: string;
    readonly currency: string;
    readonly amount: number;
    readonly afterSettlement: boolean;
  };
}

export type PayoutType = 'standard' | 'instant';

/** Taken from available at once; `net` goes to the venue, `fee` (instant only) to the platform. */
export interface VenuePayoutRequested {
  readonly type: 'VenuePayoutRequested';
  readonly data: {
    readonly venueId: string;
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
    /**
     * The venue's payout account when the payout was decided, where the transfer goes (null: the
     * venue had none, the gateway's default). Absent on payouts requested before it was recorded:
     * those go to the account the profile names at transfer time.
     */
    readonly destination?: string | null;
  };
}

/** The gateway paid the transfer: the money left the platform. */
export interface VenuePayoutSent {
  readonly type: 'VenuePayoutSent';
  readonly data: {
    readonly venueId: string;
    readonly payoutId: string;
    readonly currency: string;
    readonly net: number;
    readonly gateway: string;
    readonly gatewayReference: string;
  };
}

/** The gateway refused the transfer: amount and fee go back to available. */
export interface VenuePayoutFailed {
  readonly type: 'VenuePayoutFailed';
  readonly data: {
    readonly venueId: string;
    readonly payoutId: string;
    readonly currency: string;
    readonly amount: number;
    readonly fee: number;
    readonly net: number;
    readonly code: string;
    readonly reason: string;
  };
}

export type VenueAccountEvent =
  | VenueSaleSettled
  | VenueReserveReleased
  | VenueProceedsTakenBack
  | VenueProceedsReturned
  | VenuePayoutRequested
  | VenuePayoutSent
  | VenuePayoutFailed;

/** Each event type's schema version as written now (src/events/versions.ts). */
export const VENUE_ACCOUNT_EVENT_VERSIONS = {
  VenueSaleSettled: 1,
  VenueReserveReleased: 1,
  VenueProceedsTakenBack: 1,
  VenueProceedsReturned: 1,
  VenuePayoutRequested: 1,
  VenuePayoutSent: 1,
  VenuePayoutFailed: 1,
} as const satisfies Record<VenueAccountEvent['type'], number>;

const venueAccountEvents = eventGuard<VenueAccountEvent>(VENUE_ACCOUNT_EVENT_VERSIONS);

export const VENUE_ACCOUNT_EVENT_TYPES = venueAccountEvents.types;

export const isVenueAccountEvent = venueAccountEvents.is;
