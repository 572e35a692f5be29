import { sql as kysql, type Kysely } from 'kysely';
import type { EscrowState } from '../aggregates/escrow.js';
import type { ListingStatus } from '../aggregates/listing.js';
import { escrowDecider } from '../aggregates/escrow.js';
import type { CommandContext } from '../commands/handle-command.js';
import { escrowIdFor, escrowHandler, listingHandler, listingIdFor } from '../commands/escrow.js';
import type { Config } from '../config.js';
import { asUser, authorize, type Actions, type Principal } from '../domain/access.js';
import { priceInfo, splitResale, type PriceInfo, type ResaleRules } from '../domain/resale.js';
import { TesseraError } from '../errors.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import { groupPaymentStreamId } from '../events/group-payment.js';
import { paymentStreamId } from '../events/payment.js';
import { escrowStreamId } from '../events/escrow.js';
import type { PaymentGateway } from '../gateways/gateway.js';
import { venueRoyaltyAccount } from '../projections/ledger/rules/escrow.js';
import { mintStatusOf } from '../processmanagers/minting.js';
import type { Minter } from '../gateways/minter.js';
import type { Deadlines } from '../processmanagers/runtime/deadlines.js';
import type { PaymentsModule } from '../payments/payments-module.js';
import {
  ESCROW_RELEASE,
  ESCROW_TRANSFER_CHECK,
  escrowProcess,
  escrowReleaseDeadlineHandler,
  transferCheckHandler,
} from '../processmanagers/escrow.js';
import type { ProcessManager } from '../processmanagers/runtime/process-manager.js';
import { findTicket } from '../projections/tickets.js';
import type { ListingTerms } from '../events/listing.js';

type ResaleConfig = Pick<
  Config,
  | 'RESALE_MAX_PRICE_BPS'
  | 'RESALE_MIN_PRICE_BPS'
  | 'RESALE_VENUE_ROYALTY_BPS'
  | 'RESALE_ARTIST_ROYALTY_BPS'
  | 'RESALE_PLATFORM_FEE_BPS'
  | 'RESALE_VENUE_RULES'
  | 'ESCROW_RELEASE_TIMEOUT_MS'
  | 'ESCROW_TRANSFER_CHECK_MS'
  | 'PAYMENT_WAIT_MS'
>;

export interface ResaleModuleDeps {
  readonly store: EventStore;
  /** The read models (tickets, ledger). */
  readonly readDb: Kysely<object>;
  readonly config: ResaleConfig;
  readonly gateway: PaymentGateway;
  readonly minter: Minter;
  readonly deadlines: Pick<Deadlines, 'schedule'>;
  /** The payments module's `extend`: it runs the escrow process manager and deadlines with its retries and parking. */
  readonly extend: PaymentsModule['extend'];
  readonly clock?: () => Date;
}

export interface Listing {
  readonly id: string;
  readonly ticketId: string;
  readonly sellerId: string;
  readonly price: number;
  readonly originalPrice: number;
  readonly status: ListingStatus;
}

export interface RoyaltyReport {
  readonly totalRoyalties: number;
  readonly transactionCount: number;
  readonly averageRoyalty: number;
  readonly byEvent: { eventId: string; eventName: string | null; royalties: number; transactions: number }[];
}

/**
 * Who asks: a user with a token (src/domain/access.ts decides). Tickets, listings and escrows
 * belong to the tenant whose user wrote their stream's first event (the ticket's payment, the
 * listing, the escrow).
 */
export type ResaleCaller = Principal;

/**
 * An escrow as a command left it, with the position of the last event its state folded (for
 * read-your-writes; null when the command wrote nothing).
 */
export interface EscrowAnswer {
  readonly state: EscrowState;
  readonly position: Position | null;
}

export interface ResaleServices {
  /**
   * The seller is the caller, who must own the ticket in its tenant. `position` is that of the listing's event (read-your-writes).
   */
  createListing(
    input: { ticketId: string; venueId: string; price: number },
    caller: ResaleCaller,
    context: CommandContext,
  ): Promise<{ listing: Listing; priceInfo: PriceInfo; position: Position | null }>;
  /**
   * Creates the escrow and waits (up to PAYMENT_WAIT_MS) for the charge's outcome; `position` is
   * that of the last escrow event the answer reflects (the funding, once the gateway answered).
   */
  purchaseListing(
    input: { listingId: string; paymentMethodId: string },
    caller: ResaleCaller,
    context: CommandContext,
    options?: { waitMs?: number },
  ): Promise<EscrowAnswer>;
  getEscrow(escrowId: string): Promise<EscrowState>;
  /** The escrow as its buyer or seller (in its tenant) or an admin may read it; anyone else is FORBIDDEN. */
  escrowFor(escrowId: string, caller: ResaleCaller): Promise<EscrowState>;
  /**
   * Buyer or seller (in the escrow's tenant) or an admin disputes a funded escrow: its money stays
   * held for an operator. `position` is that of the dispute's event (null when it wrote nothing).
   */
  disputeEscrow(input: { escrowId: string; reason: string }, caller: ResaleCaller, context: CommandContext): Promise<EscrowAnswer>;
  royaltyReport(venueId: string, range: { startDate?: Date; endDate?: Date }): Promise<RoyaltyReport>;
  /** The caps and split rates that apply at a venue (config, overridden per venue). */
  rulesFor(venueId: string): ResaleRules;
}

export interface ResaleModule {
  readonly services: ResaleServices;
  readonly process: ProcessManager;
}

export function createResaleModule(deps: ResaleModuleDeps): ResaleModule {
  const { store, config } = deps;
  const clock = deps.clock ?? (() => new Date());
  const sourcePaymentOf = async (ticketId: string) => (await findTicket(deps.readDb, ticketId))?.paymentId;
  const process = escrowProcess({
    sourcePaymentOf,
    store,
    gateway: deps.gateway,
    minter: deps.minter,
    deadlines: deps.deadlines,
    transferCheckMs: config.ESCROW_TRANSFER_CHECK_MS,
    clock,
  });
  deps.extend({
    processManagers: [process],
    deadlineHandlers: {
      [ESCROW_RELEASE]: escrowReleaseDeadlineHandler({ store, minter: deps.minter, deadlines: deps.deadlines, sourcePaymentOf, clock }),
      [ESCROW_TRANSFER_CHECK]: transferCheckHandler({ store, sourcePaymentOf, minter: deps.minter, deadlines: deps.deadlines, transferCheckMs: config.ESCROW_TRANSFER_CHECK_MS, clock }),
    },
  });

  function rulesFor(venueId: string): ResaleRules {
    const venue = config.RESALE_VENUE_RULES[venueId] ?? {};
    return {
      maxPriceBps: venue.maxPriceBps ?? config.RESALE_MAX_PRICE_BPS,
      minPriceBps: venue.minPriceBps ?? config.RESALE_MIN_PRICE_BPS,
      venueRoyaltyBps: venue.venueRoyaltyBps ?? config.RESALE_VENUE_ROYALTY_BPS,
      artistRoyaltyBps: venue.artistRoyaltyBps ?? config.RESALE_ARTIST_ROYALTY_BPS,
      platformFeeBps: config.RESALE_PLATFORM_FEE_BPS,
      ...(venue.artistId === undefined ? {} : { artistId: venue.artistId }),
    };
  }

  /** The tenant of a stream: that of its first event, written by a user's command. */
  async function tenantOfStream(streamId: string): Promise<string | undefined> {
    const [first] = await store.readStream(streamId, { maxCount: 1 });
    return first?.metadata.tenantId;
  }
  /** A ticket's tenant: its purchase's, a single payment or a group's (resales stay within the tenant). */
  const tenantOfTicket = async (paymentId: string) =>
    (await tenantOfStream(paymentStreamId(paymentId))) ?? (await tenantOfStream(groupPaymentStreamId(paymentId)));

  /** The escrow's buyer or seller in its tenant, or an admin. */
  async function loadEscrowFor(escrowId: string, caller: ResaleCaller, action: Actions['escrow']): Promise<EscrowState> {
    const { state, tenantId } = await escrowHandler.load(store, escrowId);
    if (state.status === 'none') throw new TesseraError('ESCROW_NOT_FOUND', `escrow ${escrowId} not found`, { escrowId });
    const { buyerId, sellerId } = state.terms!;
    authorize(asUser(caller), action, { kind: 'escrow', tenantId: tenantId ?? '', buyerId, sellerId });
    return state;
  }

  const services: ResaleServices = {
    rulesFor,
    async createListing(input, caller, context) {
      const ticket = await findTicket(deps.readDb, input.ticketId);
      if (!ticket || ticket.status === 'void') {
        throw new TesseraError('TICKET_NOT_FOUND', `ticket ${input.ticketId} not found`, { ticketId: input.ticketId });
      }
      authorize(asUser(caller), 'sell', { kind: 'ticket', tenantId: await tenantOfTicket(ticket.paymentId), ownerId: ticket.ownerId });
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
    },

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
        created = await escrowHandler.handle(
          store,
          escrowId,
          {
            type: 'CreateEscrow',
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
              releaseTimeoutMs: config.ESCROW_RELEASE_TIMEOUT_MS,
              createdAt: context.now.toISOString(),
            },
          },
          context,
        );
      }
      // The answer's position covers every event its state folded, so a query given it sees that state.
      const funding = await waitForFunding(store, escrowId, options?.waitMs ?? config.PAYMENT_WAIT_MS);
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

    royaltyReport: (venueId, range) => royaltyReport(deps.readDb, venueId, range),
  };

  return { services, process };
}

/**
 * Follows the escrow's stream until the charge has an outcome (funded or failed) or time runs
 * out; answers the state with the position of the last event it read (null if none).
 */
async function waitForFunding(store: EventStore, escrowId: string, timeoutMs: number): Promise<EscrowAnswer> {
  const deadline = Date.now() + timeoutMs;
  const stream = escrowStreamId(escrowId);
  let state = escrowDecider.initialState();
  let position: Position | null = null;
  let next = 0;
  for (;;) {
    for (const event of await store.readStream(stream, { fromRevision: next })) {
      if (escrowDecider.isEvent(event)) state = escrowDecider.evolve(state, event);
      next = event.revision + 1;
      position = event.position;
    }
    const left = deadline - Date.now();
    if (state.status !== 'created' || left <= 0) return { state, position };
    await store.waitForStream(stream, Math.min(left, 100));
  }
}

/** Half-up integer division of non-negative amounts. */
const divideHalfUp = (total: number, count: number): number => (count === 0 ? 0 : Math.floor((2 * total + count) / (2 * count)));

/**
 * The venue's resale royalties from the ledger: the credits to `royalty:venue:<id>` booked by
 * escrow releases in [startDate, endDate), by event. Tessera keeps no event names, so
 * `eventName` is null.
 */
async function royaltyReport(db: Kysely<object>, venueId: string, range: { startDate?: Date; endDate?: Date }): Promise<RoyaltyReport> {
  const from = range.startDate ? kysql`AND p.occurred_at >= ${range.startDate}` : kysql``;
  const to = range.endDate ? kysql`AND p.occurred_at < ${range.endDate}` : kysql``;
  const { rows } = await kysql<{ event_id: string; royalties: string; transactions: number }>`
    SELECT e.metadata->>'eventId' AS event_id, (-sum(p.amount))::text AS royalties, count(*)::int AS transactions
      FROM ledger_postings p JOIN ledger_entries e ON e.entry_id = p.entry_id
     WHERE p.account = ${venueRoyaltyAccount(venueId)} AND p.amount < 0 ${from} ${to}
     GROUP BY 1 ORDER BY sum(p.amount), 1`.execute(db);
  const byEvent = rows.map((row) => ({ eventId: row.event_id, eventName: null, royalties: Number(row.royalties), transactions: row.transactions }));
  const totalRoyalties = byEvent.reduce((sum, e) => sum + e.royalties, 0);
  const transactionCount = byEvent.reduce((sum, e) => sum + e.transactions, 0);
  return { totalRoyalties, transactionCount, averageRoyalty: divideHalfUp(totalRoyalties, transactionCount), byEvent };
}
