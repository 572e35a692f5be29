import { escrowDecider, type EscrowCommand, type EscrowState } from '../aggregates/escrow.js';
import { listingDecider, type ListingCommand, type ListingState } from '../aggregates/listing.js';
import { derivedId, uuidV5 } from '../domain/ids.js';
import type { EventStore } from '../eventstore/event-store.js';
import { escrowStreamId, type EscrowEvent } from '../events/escrow.js';
import { handleCommand, loadAggregate, type CommandContext, type CommandResult } from './handle-command.js';
import { listingStreamId, type ListingEvent } from '../events/listing.js';

export function executeEscrowCommand(
  store: EventStore,
  escrowId: string,
  command: EscrowCommand,
  context: CommandContext,
): Promise<CommandResult<EscrowState, EscrowEvent>> {
  return handleCommand(store, { streamId: escrowStreamId(escrowId), decider: escrowDecider, command, context });
}

export function executeListingCommand(
  store: EventStore,
  listingId: string,
  command: ListingCommand,
  context: CommandContext,
): Promise<CommandResult<ListingState, ListingEvent>> {
  return handleCommand(store, { streamId: listingStreamId(listingId), decider: listingDecider, command, context });
}

export const loadEscrow = (store: EventStore, escrowId: string) => loadAggregate(store, escrowStreamId(escrowId), escrowDecider);

export const loadListing = (store: EventStore, listingId: string) => loadAggregate(store, listingStreamId(listingId), listingDecider);

/**
 * A ticket's listing id: one per owner in turn (the ticket's resale count), so listing the same
 * ticket twice lands on the same stream and is refused there, with no lookup table to race.
 */
export const listingIdFor = (ticketId: string, resales: number): string => uuidV5(`listing:${ticketId.toLowerCase()}:${resales}`);

/** A purchase's escrow id, from the command id: a retried request finds its escrow. */
export const escrowIdFor = (commandId: string): string => derivedId(commandId, 'escrow');
