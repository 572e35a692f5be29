import { TesseraError } from '../errors.js';
import type { Decider } from './decider.js';
import { isListingEvent, type ListingCreated, type ListingEvent } from '../events/listing.js';

/**
 * A resale listing: active -> reserved (by one buyer's escrow) -> sold, or back to active when
 * that escrow ends without a sale. Only one escrow holds a listing at a time, which is what
 * stops two buyers paying for one ticket.
 */
export type ListingStatus = 'active' | 'reserved' | 'sold';

export interface ListingState {
  readonly status: ListingStatus | 'none';
  readonly terms?: ListingCreated['data'];
  readonly escrowId?: string;
  readonly buyerId?: string;
}

export type ListingCommand =
  | { readonly type: 'CreateListing'; readonly data: ListingCreated['data'] }
  | { readonly type: 'ReserveListing'; readonly data: { readonly escrowId: string; readonly buyerId: string } }
  | { readonly type: 'CompleteSale'; readonly data: { readonly escrowId: string } }
  | { readonly type: 'ReopenListing'; readonly data: { readonly escrowId: string; readonly reason: string } };

export function evolveListing(state: ListingState, event: ListingEvent): ListingState {
  switch (event.type) {
    case 'ListingCreated':
      return { status: 'active', terms: event.data };
    case 'ListingReserved':
      return { ...state, status: 'reserved', escrowId: event.data.escrowId, buyerId: event.data.buyerId };
    case 'ListingSold':
      return { ...state, status: 'sold' };
    case 'ListingReopened': {
      const { escrowId: _escrow, buyerId: _buyer, ...rest } = state;
      return { ...rest, status: 'active' };
    }
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled listing event ${JSON.stringify(unhandled)}`);
    }
  }
}

export function decideListing(command: ListingCommand, state: ListingState): ListingEvent[] {
  if (command.type === 'CreateListing') {
    if (state.status !== 'none') {
      throw new TesseraError('LISTING_ALREADY_EXISTS', 'this ticket is already listed', {
        listingId: command.data.listingId,
        expose: { listingId: command.data.listingId },
      });
    }
    return [{ type: 'ListingCreated', data: command.data }];
  }
  const terms = state.terms;
  if (state.status === 'none' || !terms) throw new TesseraError('LISTING_NOT_FOUND', 'listing not found');
  const { listingId } = terms;
  switch (command.type) {
    case 'ReserveListing': {
      const { escrowId, buyerId } = command.data;
      if (state.escrowId === escrowId) return [];
      if (buyerId === terms.sellerId) throw new TesseraError('CANNOT_BUY_OWN_LISTING', 'a seller cannot buy their own listing', { listingId });
      if (state.status !== 'active') {
        throw new TesseraError('LISTING_NOT_AVAILABLE', `listing is ${state.status}`, { listingId, expose: { listingId, status: state.status } });
      }
      return [{ type: 'ListingReserved', data: { listingId, escrowId, buyerId } }];
    }
    case 'CompleteSale':
      if (state.escrowId !== command.data.escrowId) {
        throw new TesseraError('INVALID_STATE_TRANSITION', 'the listing is not held by this escrow', { listingId, escrowId: command.data.escrowId });
      }
      if (state.status === 'sold') return [];
      return [{ type: 'ListingSold', data: { listingId, escrowId: command.data.escrowId, buyerId: state.buyerId! } }];
    case 'ReopenListing':
      // Only the escrow holding the listing may give it back; a late or foreign call changes nothing.
      if (state.status !== 'reserved' || state.escrowId !== command.data.escrowId) return [];
      return [{ type: 'ListingReopened', data: { listingId, ...command.data } }];
    default: {
      const unknown: never = command;
      throw new Error(`unknown listing command ${JSON.stringify(unknown)}`);
    }
  }
}

export const listingDecider: Decider<ListingState, ListingCommand, ListingEvent> = {
  initialState: () => ({ status: 'none' }),
  evolve: evolveListing,
  decide: decideListing,
  isEvent: isListingEvent,
};
