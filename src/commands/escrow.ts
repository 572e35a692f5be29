import type { Kysely } from 'kysely';
import { escrowDecider, type EscrowState } from '../aggregates/escrow.js';
import { listingDecider } from '../aggregates/listing.js';
import { asUser, authorize, type Actions, type Principal } from '../domain/access.js';
import { derivedId, uuidV5 } from '../domain/ids.js';
import { splitResale, type ResaleRules } from '../domain/resale.js';
import { TesseraError } from '../errors.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import { escrowStreamId } from '../events/escrow.js';
import { listingStreamId } from '../events/listing.js';
import { findTicket } from '../projections/tickets.js';
import { followStream } from './follow-stream.js';
import { commandHandler, type CommandContext } from './handle-command.js';
import type { RiskAssessor, RiskSignals } from './risk.js';

/** How near the resale cap a price is: 0 at face value or below, 1 at the cap. */
export function markupShare(price: number, faceValue: number, maxPriceBps: number): number {
  const headroom = faceValue * (maxPriceBps / 10_000 - 1);
  if (faceValue <= 0 || headroom <= 0) return 0;
  return Math.min(1, Math.max(0, (price - faceValue) / headroom));
}

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

/**
 * An escrow as a command left it, with the position of the last event its state folded (for
 * read-your-writes; null when the command wrote nothing).
 */
export interface EscrowAnswer {
  readonly state: EscrowState;
  readonly position: Position | null;
}

/** What the marketplace's escrow routes call. */
export interface EscrowCommands {
  /**
   * Creates the escrow and waits (up to PAYMENT_WAIT_MS) for the charge's outcome; `position` is
   * that of the last escrow event the answer reflects (the funding, once the gateway answered).
   */
  purchaseListing(
    input: { listingId: string; paymentMethodId: string; signals?: RiskSignals },
    caller: Principal,
    context: CommandContext,
    options?: { waitMs?: number },
  ): Promise<EscrowAnswer>;
  getEscrow(escrowId: string): Promise<EscrowState>;
  /** The escrow as its buyer or seller (in its tenant) or an admin may read it; anyone else is FORBIDDEN. */
  escrowFor(escrowId: string, caller: Principal): Promise<EscrowState>;
  /**
   * Buyer or seller (in the escrow's tenant) or an admin disputes a funded escrow: its money stays
   * held for an operator. `position` is that of the dispute's event (null when it wrote nothing).
   */
  disputeEscrow(input: { escrowId: string; reason: string }, caller: Principal, context: CommandContext): Promise<EscrowAnswer>;
}

export interface EscrowCommandsDeps {
  readonly store: EventStore;
  readonly readDb: Kysely<object>;
  readonly rulesFor: (venueId: string) => ResaleRules;
  /** How long the escrow waits after funding for the NFT transfer (ESCROW_RELEASE_TIMEOUT_MS). */
  readonly releaseTimeoutMs: number;
  /** How long a purchase waits for the gateway (PAYMENT_WAIT_MS). */
  readonly waitMs: number;
  /** The risk assessment before the charge (absent: fraud checks off). */
  readonly risk?: RiskAssessor;
}

export function escrowCommands(deps: EscrowCommandsDeps): EscrowCommands {
  const { store, rulesFor } = deps;
  /** The escrow's buyer or seller in its tenant, or an admin. */
  async function loadEscrowFor(escrowId: string, caller: Principal, action: Actions['escrow']): Promise<EscrowState> {
    const { state, tenantId } = await escrowHandler.load(store, escrowId);
    if (state.status === 'none') throw new TesseraError('ESCROW_NOT_FOUND', `escrow ${escrowId} not found`, { escrowId });
    const { buyerId, sellerId } = state.terms!;
    authorize(asUser(caller), action, { kind: 'escrow', tenantId: tenantId ?? '', buyerId, sellerId });
    return state;
  }
  return {
    async purchaseListing(input, caller, context, options) {
      const escrowId = escrowIdFor(context.commandId);
      const existing = await escrowHandler.load(store, escrowId);
      let created: { position: Position | null } | undefined;
      if (existing.state.status === 'none') {
        const { state: listing, tenantId } = await listingHandler.load(store, input.listingId);
        const terms = listing.terms;
        if (!terms) throw new TesseraError('LISTING_NOT_FOUND', `listing ${input.listingId} not found`, { listingId: input.listingId });
        // The buyer becomes the ticket's owner in the listing's tenant: only a user of that tenant may buy (admins too).
        authorize(asUser(caller), 'buy', { kind: 'listing', tenantId });
        if (terms.sellerId === caller.userId) throw new TesseraError('CANNOT_BUY_OWN_LISTING', 'a seller cannot buy their own listing');
        if (listing.status !== 'active') {
          throw new TesseraError('LISTING_NOT_AVAILABLE', `listing is ${listing.status}`, { expose: { listingId: terms.listingId, status: listing.status } });
        }
        // The seller may have had the ticket refunded since listing it: such a ticket is not theirs to sell.
        const ticket = await findTicket(deps.readDb, terms.ticketId);
        if (!ticket || ticket.ownerId !== terms.sellerId || ticket.refunded > 0 || ticket.status !== 'active') {
          throw new TesseraError('TICKET_NOT_RESELLABLE', 'the listed ticket can no longer be sold', { expose: { listingId: terms.listingId } });
        }
        const assessed = await deps.risk?.assess(
          {
            paymentId: escrowId,
            subject: 'resale-purchase',
            userId: caller.userId,
            venueId: terms.venueId,
            eventId: terms.eventId,
            amount: terms.price,
            tickets: 1,
            paymentMethodId: input.paymentMethodId,
            signals: input.signals ?? {},
            resaleMarkup: markupShare(terms.price, ticket.faceValue, rulesFor(terms.venueId).maxPriceBps),
          },
          context,
        );
        created = await escrowHandler
          .handle(
          store,
          escrowId,
          {
            type: 'CreateEscrow',
            ...(assessed ? { assessment: assessed.assessment } : {}),
            data: {
              escrowId,
              listingId: terms.listingId,
              ticketId: terms.ticketId,
              buyerId: caller.userId,
              sellerId: terms.sellerId,
              venueId: terms.venueId,
              eventId: terms.eventId,
              chain: terms.chain,
              currency: terms.currency,
              amount: terms.price,
              split: splitResale(terms.price, rulesFor(terms.venueId)),
              paymentMethodId: input.paymentMethodId,
              releaseTimeoutMs: deps.releaseTimeoutMs,
              createdAt: context.now.toISOString(),
            },
          },
          context,
        )
          .catch(async (error: unknown) => {
            // Not written: the purchase must not count toward the buyer's limits.
            if (assessed?.newlyCounted) await deps.risk?.forget(escrowId);
            throw error;
          });
      }
      // The answer's position covers every event its state folded, so a query given it sees that state.
      const funding = await followStream(store, escrowStreamId(escrowId), escrowDecider, {
        until: (state) => state.status !== 'created',
        timeoutMs: options?.waitMs ?? deps.waitMs,
      });
      return { state: funding.state, position: funding.position ?? created?.position ?? null };
    },

    async getEscrow(escrowId) {
      const { state } = await escrowHandler.load(store, escrowId);
      if (state.status === 'none') throw new TesseraError('ESCROW_NOT_FOUND', `escrow ${escrowId} not found`, { escrowId });
      return state;
    },

    escrowFor: (escrowId, caller) => loadEscrowFor(escrowId, caller, 'read'),

    async disputeEscrow(input, caller, context) {
      await loadEscrowFor(input.escrowId, caller, 'dispute');
      const result = await escrowHandler.handle(
        store,
        input.escrowId,
        { type: 'DisputeEscrow', data: { reason: input.reason, raisedBy: context.actor } },
        context,
      );
      return { state: result.state, position: result.position };
    },
  };
}
