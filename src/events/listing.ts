import type { Chain } from '../domain/fees.js';
import type { PriceInfo } from '../domain/resale.js';
import { eventGuard } from './event-guard.js';

/**
 * A resale listing's events (`listing-<uuid>`): a ticket offered by its owner
 * within the price caps, reserved by a buyer's escrow, sold, or on sale again.
 */
export const listingStreamId = (listingId: string): string => `listing-${listingId}`;

export interface ListingTerms {
  readonly listingId: string;
  readonly ticketId: string;
  readonly sellerId: string;
  readonly venueId: string;
  readonly eventId: string;
  readonly currency: string;
  readonly chain: Chain;
  readonly price: number;
  /** The price check as it was made: face value and the caps then in force. */
  readonly priceInfo: PriceInfo;
}

export interface ListingCreated {
  readonly type: 'ListingCreated';
  readonly data: ListingTerms & { readonly listedAt: string };
}

/** A buyer's escrow holds the listing while its money is taken and the ticket moves. */
export interface ListingReserved {
  readonly type: 'ListingReserved';
  readonly data: { readonly listingId: string; readonly escrowId: string; readonly buyerId: string };
}

export interface ListingSold {
  readonly type: 'ListingSold';
  readonly data: { readonly listingId: string; readonly escrowId: string; readonly buyerId: string };
}

/** The escrow that held the listing ended without a sale: the listing is on sale again. */
export interface ListingReopened {
  readonly type: 'ListingReopened';
  readonly data: { readonly listingId: string; readonly escrowId: string; readonly reason: string };
}

export type ListingEvent = ListingCreated | ListingReserved | ListingSold | ListingReopened;

/** Each event type's schema version as written now (src/events/versions.ts). */
export const LISTING_EVENT_VERSIONS = {
  ListingCreated: 1,
  ListingReserved: 1,
  ListingSold: 1,
  ListingReopened: 1,
} as const satisfies Record<ListingEvent['type'], number>;

const listingEvents = eventGuard<ListingEvent>(LISTING_EVENT_VERSIONS);

export const LISTING_EVENT_TYPES = listingEvents.types;

export const isListingEvent = listingEvents.is;
