import { venueAccountDecider, type VenueAccountCommand, type VenueAccountState } from '../aggregates/venue-account.js';
import { handleCommand, loadAggregate, type CommandContext, type CommandResult } from './handle-command.js';
import type { EventStore } from '../eventstore/event-store.js';
import { venueAccountStreamId, type VenueAccountEvent } from '../events/venue-account.js';

/**
 * Payouts race for the same balance; each lost race reloads and decides again, so allow more
 * rounds than a single payment's commands need before answering CONCURRENCY_CONFLICT.
 */
const VENUE_ACCOUNT_ATTEMPTS = 50;

export function executeVenueAccountCommand(
  store: EventStore,
  venueId: string,
  command: VenueAccountCommand,
  context: CommandContext,
): Promise<CommandResult<VenueAccountState, VenueAccountEvent>> {
  return handleCommand(store, {
    streamId: venueAccountStreamId(venueId),
    decider: venueAccountDecider,
    command,
    context,
    maxAttempts: VENUE_ACCOUNT_ATTEMPTS,
  });
}

export async function loadVenueAccount(store: EventStore, venueId: string): Promise<VenueAccountState> {
  return (await loadAggregate(store, venueAccountStreamId(venueId), venueAccountDecider)).state;
}
