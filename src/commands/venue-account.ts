import { venueAccountDecider, type VenueAccountState } from '../aggregates/venue-account.js';
import { commandHandler } from './handle-command.js';
import type { EventStore } from '../eventstore/event-store.js';
import { venueAccountStreamId } from '../events/venue-account.js';

/**
 * The VenueAccount aggregate's command handler (`venue-account-<id>` streams). Payouts race for
 * the same balance; each lost race reloads and decides again, so it allows more rounds than a
 * single payment's commands need before answering CONCURRENCY_CONFLICT.
 */
export const venueAccountHandler = commandHandler(venueAccountDecider, venueAccountStreamId, { maxAttempts: 50 });

export async function loadVenueAccount(store: EventStore, venueId: string): Promise<VenueAccountState> {
  return (await venueAccountHandler.load(store, venueId)).state;
}
