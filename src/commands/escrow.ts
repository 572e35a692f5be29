import { escrowDecider } from '../aggregates/escrow.js';
import { listingDecider } from '../aggregates/listing.js';
import { derivedId, uuidV5 } from '../domain/ids.js';
import { escrowStreamId } from '../events/escrow.js';
import { commandHandler } from './handle-command.js';
import { listingStreamId } from '../events/listing.js';

/** The Escrow aggregate's command handler (`escrow-<id>` streams). */
export const escrowHandler = commandHandler(escrowDecider, escrowStreamId);

/** The Listing aggregate's command handler (`listing-<id>` streams). */
export const listingHandler = commandHandler(listingDecider, listingStreamId);

/**
 * A ticket's listing id: one per owner in turn (the ticket's resale count), so listing the same
 * ticket twice lands on the same stream and is refused there, with no lookup table to race.
 */
export const listingIdFor = (ticketId: string, resales: number): string => uuidV5(`listing:${ticketId.toLowerCase()}:${resales}`);

/** A purchase's escrow id, from the command id: a retried request finds its escrow. */
export const escrowIdFor = (commandId: string): string => derivedId(commandId, 'escrow');
