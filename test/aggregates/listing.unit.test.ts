import { describe, expect, it } from 'vitest';
import { listingDecider, type ListingCommand } from '../../src/aggregates/listing.js';
import { DeciderSpecification } from '../support/decider.js';
import type { ListingEvent } from '../../src/events/listing.js';

const LISTING_ID = 'b8d4a9f2-6f0c-4d0e-8a77-1c2d3e4f5a60';
const terms = {
  listingId: LISTING_ID,
  ticketId: 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f',
  sellerId: 'seller-1',
  venueId: 'venue-1',
  eventId: 'event-1',
  currency: 'USD',
  chain: 'polygon' as const,
  price: 15_000,
  priceInfo: { valid: true, originalPrice: 10_000, maxAllowedPrice: 25_000, minAllowedPrice: 5_000 },
  listedAt: '2026-11-22T12:00:00.000Z',
};
const listed: ListingEvent = { type: 'ListingCreated', data: terms };
const reserved: ListingEvent = { type: 'ListingReserved', data: { listingId: LISTING_ID, escrowId: 'escrow-1', buyerId: 'buyer-2' } };
const sold: ListingEvent = { type: 'ListingSold', data: { listingId: LISTING_ID, escrowId: 'escrow-1', buyerId: 'buyer-2' } };
const reopened: ListingEvent = { type: 'ListingReopened', data: { listingId: LISTING_ID, escrowId: 'escrow-1', reason: 'card_declined' } };

const { given } = DeciderSpecification.for(listingDecider);
const reserve = (escrowId: string, buyerId = 'buyer-2'): ListingCommand => ({ type: 'ReserveListing', data: { escrowId, buyerId } });

describe('Listing decider', () => {
  it('lists a ticket once; listing it again is refused', () => {
    given([]).when({ type: 'CreateListing', data: terms }).then([listed]);
    given([listed]).when({ type: 'CreateListing', data: terms }).thenRefused('LISTING_ALREADY_EXISTS');
  });

  it('lets one escrow hold an active listing, and refuses a second escrow while it does', () => {
    given([listed]).when(reserve('escrow-1')).then([reserved]);
    given([listed, reserved]).when(reserve('escrow-1')).thenNothing();
    given([listed, reserved]).when(reserve('escrow-2', 'buyer-3')).thenRefused('LISTING_NOT_AVAILABLE');
  });

  it('refuses a seller buying their own listing', () => {
    given([listed]).when(reserve('escrow-1', 'seller-1')).thenRefused('CANNOT_BUY_OWN_LISTING');
  });

  it('sells to the escrow that holds it, once, and to no other', () => {
    given([listed, reserved]).when({ type: 'CompleteSale', data: { escrowId: 'escrow-1' } }).then([sold]);
    given([listed, reserved, sold]).when({ type: 'CompleteSale', data: { escrowId: 'escrow-1' } }).thenNothing();
    given([listed, reserved]).when({ type: 'CompleteSale', data: { escrowId: 'escrow-2' } }).thenRefused('INVALID_STATE_TRANSITION');
    given([listed, reserved, sold]).when(reserve('escrow-2', 'buyer-3')).thenRefused('LISTING_NOT_AVAILABLE');
  });

  it('reopens only for the escrow that held it, after which another buyer may reserve it', () => {
    const reopen = (escrowId: string): ListingCommand => ({ type: 'ReopenListing', data: { escrowId, reason: 'card_declined' } });
    given([listed, reserved]).when(reopen('escrow-2')).thenNothing();
    given([listed, reserved]).when(reopen('escrow-1')).then([reopened]);
    given([listed, reserved, reopened]).when(reopen('escrow-1')).thenNothing();
    expect(given([listed, reserved, reopened]).when(reserve('escrow-2', 'buyer-3')).decided()).toHaveLength(1);
  });
});
