import { describe, expect, it } from 'vitest';
import { evolveListing, listingDecider, type ListingCommand, type ListingState } from '../../src/aggregates/listing.js';
import { thrownBy } from '../support/payments.js';
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

const stateOf = (events: readonly ListingEvent[]): ListingState => events.reduce(evolveListing, listingDecider.initialState());
const decide = (events: readonly ListingEvent[], command: ListingCommand) => listingDecider.decide(command, stateOf(events));
const reserve = (escrowId: string, buyerId = 'buyer-2'): ListingCommand => ({ type: 'ReserveListing', data: { escrowId, buyerId } });

describe('Listing decider', () => {
  it('lists a ticket once; listing it again is refused', () => {
    expect(decide([], { type: 'CreateListing', data: terms })).toEqual([listed]);
    expect(thrownBy(() => decide([listed], { type: 'CreateListing', data: terms }))).toMatchObject({ code: 'LISTING_ALREADY_EXISTS' });
  });

  it('lets one escrow hold an active listing, and refuses a second escrow while it does', () => {
    expect(decide([listed], reserve('escrow-1'))).toEqual([reserved]);
    expect(decide([listed, reserved], reserve('escrow-1'))).toEqual([]);
    expect(thrownBy(() => decide([listed, reserved], reserve('escrow-2', 'buyer-3')))).toMatchObject({ code: 'LISTING_NOT_AVAILABLE' });
  });

  it('refuses a seller buying their own listing', () => {
    expect(thrownBy(() => decide([listed], reserve('escrow-1', 'seller-1')))).toMatchObject({ code: 'CANNOT_BUY_OWN_LISTING' });
  });

  it('sells to the escrow that holds it, once, and to no other', () => {
    expect(decide([listed, reserved], { type: 'CompleteSale', data: { escrowId: 'escrow-1' } })).toEqual([sold]);
    expect(decide([listed, reserved, sold], { type: 'CompleteSale', data: { escrowId: 'escrow-1' } })).toEqual([]);
    expect(thrownBy(() => decide([listed, reserved], { type: 'CompleteSale', data: { escrowId: 'escrow-2' } }))).toMatchObject({
      code: 'INVALID_STATE_TRANSITION',
    });
    expect(thrownBy(() => decide([listed, reserved, sold], reserve('escrow-2', 'buyer-3')))).toMatchObject({ code: 'LISTING_NOT_AVAILABLE' });
  });

  it('reopens only for the escrow that held it, after which another buyer may reserve it', () => {
    const reopen = (escrowId: string): ListingCommand => ({ type: 'ReopenListing', data: { escrowId, reason: 'card_declined' } });
    expect(decide([listed, reserved], reopen('escrow-2'))).toEqual([]);
    expect(decide([listed, reserved], reopen('escrow-1'))).toEqual([reopened]);
    expect(decide([listed, reserved, reopened], reopen('escrow-1'))).toEqual([]);
    expect(decide([listed, reserved, reopened], reserve('escrow-2', 'buyer-3'))).toHaveLength(1);
  });
});
