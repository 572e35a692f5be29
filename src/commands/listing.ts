import type { ListingStatus } from '../aggregates/listing.js';
import { asUser, authorize, type Principal } from '../domain/access.js';
import { priceInfo, type PriceInfo, type ResaleRules } from '../domain/resale.js';
import { TesseraError } from '../errors.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import { groupPaymentStreamId } from '../events/group-payment.js';
import type { ListingTerms } from '../events/listing.js';
import { paymentStreamId } from '../events/payment.js';
import type { Kysely } from 'kysely';
import { mintStatusOf } from '../projections/mint-status.js';
import { findTicket } from '../projections/tickets.js';
import { listingHandler, listingIdFor } from './escrow.js';
import type { CommandContext } from './handle-command.js';

export interface Listing {
  readonly id: string;
  readonly ticketId: string;
  readonly sellerId: string;
  readonly price: number;
  readonly originalPrice: number;
  readonly status: ListingStatus;
}

/** What the listing route calls. */
export interface ListingCommands {
  /** The seller is the caller, who must own the ticket in its tenant. `position` is that of the listing's event (read-your-writes). */
  createListing(
    input: { ticketId: string; venueId: string; price: number },
    caller: Principal,
    context: CommandContext,
  ): Promise<{ listing: Listing; priceInfo: PriceInfo; position: Position | null }>;
}

export interface ResaleDeps {
  readonly store: EventStore;
  /** The read models the checks read: the tickets (who owns each), the mint status. */
  readonly readDb: Kysely<object>;
  /** The caps and split rates that apply at a venue. */
  readonly rulesFor: (venueId: string) => ResaleRules;
}

/** The tenant of a stream: that of its first event, written by a user's command. */
async function tenantOfStream(store: EventStore, streamId: string): Promise<string | undefined> {
  const [first] = await store.readStream(streamId, { maxCount: 1 });
  return first?.metadata.tenantId;
}

/** A ticket's tenant: its purchase's, a single payment or a group's (resales stay within the tenant). */
export const tenantOfTicket = async (store: EventStore, paymentId: string): Promise<string | undefined> =>
  (await tenantOfStream(store, paymentStreamId(paymentId))) ?? (await tenantOfStream(store, groupPaymentStreamId(paymentId)));

export function listingCommands(deps: ResaleDeps): ListingCommands {
  const { store, rulesFor } = deps;
  return {
    async createListing(input, caller, context) {
      const ticket = await findTicket(deps.readDb, input.ticketId);
      if (!ticket || ticket.status === 'void') {
        throw new TesseraError('TICKET_NOT_FOUND', `ticket ${input.ticketId} not found`, { ticketId: input.ticketId });
      }
      authorize(asUser(caller), 'sell', { kind: 'ticket', tenantId: await tenantOfTicket(store, ticket.paymentId), ownerId: ticket.ownerId });
      if (ticket.venueId !== input.venueId) {
        throw new TesseraError('VALIDATION_ERROR', 'Validation failed', { errors: [{ field: 'venueId', message: "is not the ticket's venue" }] });
      }
      if (ticket.status !== 'active' || ticket.refunded > 0) {
        throw new TesseraError('TICKET_NOT_RESELLABLE', 'only a paid ticket with no refund may be resold', {
          ticketId: ticket.ticketId,
          expose: { status: ticket.refunded > 0 ? 'refunded' : ticket.status },
        });
      }
      // The NFT must exist before it can change hands: a ticket listed before its mint would be minted to the seller.
      const mintStatus = await mintStatusOf(deps.readDb, ticket.ticketId);
      if (mintStatus !== 'minted') {
        throw new TesseraError('TICKET_NOT_MINTED', "the ticket's NFT is not minted yet; list it once minting completes", {
          ticketId: ticket.ticketId,
          expose: { ticketId: ticket.ticketId, mintStatus: mintStatus ?? 'not_queued' },
        });
      }
      const rules = rulesFor(input.venueId);
      const info = priceInfo(input.price, ticket.faceValue, rules);
      if (!info.valid) {
        throw new TesseraError('PRICE_OUTSIDE_LIMITS', `price must be between ${info.minAllowedPrice} and ${info.maxAllowedPrice} cents`, {
          expose: { price: input.price, originalPrice: info.originalPrice, minAllowedPrice: info.minAllowedPrice, maxAllowedPrice: info.maxAllowedPrice },
        });
      }
      const listingId = listingIdFor(ticket.ticketId, ticket.resales);
      const terms: ListingTerms = {
        listingId,
        ticketId: ticket.ticketId,
        sellerId: caller.userId,
        venueId: ticket.venueId,
        eventId: ticket.eventId,
        currency: ticket.currency,
        chain: ticket.chain,
        price: input.price,
        priceInfo: info,
      };
      const result = await listingHandler.handle(
        store,
        listingId,
        { type: 'CreateListing', data: { ...terms, listedAt: context.now.toISOString() } },
        context,
      );
      const listed = result.state.terms!;
      return {
        listing: {
          id: listingId,
          ticketId: listed.ticketId,
          sellerId: listed.sellerId,
          price: listed.price,
          originalPrice: listed.priceInfo.originalPrice,
          status: result.state.status as ListingStatus,
        },
        priceInfo: listed.priceInfo,
        position: result.position,
      };
    }
  };
}
