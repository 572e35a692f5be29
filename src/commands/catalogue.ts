import { catalogueDecider, priceTicketLines, type CatalogueState, type RequestedTicketLine } from '../aggregates/catalogue.js';
import type { Chain } from '../domain/fees.js';
import { ticketPriceOf, type PurchaseQuote, type TicketLine } from '../domain/purchase-quote.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import { catalogueStreamId, type TicketTypeTerms } from '../events/catalogue.js';
import type { VenueVolume } from '../projections/venue-volume.js';
import { quoteAtVenue } from './fees.js';
import { commandHandler, type CommandContext } from './handle-command.js';
import { requireVenueProfile } from './venue.js';

export interface TicketTypeKey {
  readonly venueId: string;
  readonly eventId: string;
  readonly ticketTypeId: string;
}

/** The Catalogue aggregate's command handler: one stream per venue and event. */
export const catalogueHandler = commandHandler(catalogueDecider, ({ venueId, eventId }: { venueId: string; eventId: string }) => catalogueStreamId(venueId, eventId));

export interface SaveTicketTypeResult {
  readonly ticketType: TicketTypeKey & TicketTypeTerms;
  /** True when this call registered the ticket type; false when it revised (or left) it. */
  readonly created: boolean;
  readonly changed: boolean;
  readonly position: Position | null;
}

/**
 * `PUT .../events/:eventId/ticket-types/:ticketTypeId`: registers a ticket type in the event's
 * catalogue at a registered venue (VENUE_NOT_FOUND otherwise), or replaces its terms. Who may
 * is decided before (src/domain/access.ts).
 */
export async function saveTicketType(store: EventStore, input: TicketTypeKey & TicketTypeTerms, context: CommandContext): Promise<SaveTicketTypeResult> {
  const { venueId, eventId, ticketTypeId } = input;
  await requireVenueProfile(store, venueId);
  const result = await catalogueHandler.handle(store, { venueId, eventId }, { type: 'SaveTicketType', data: input }, context);
  return {
    ticketType: { venueId, eventId, ticketTypeId, ...result.state.ticketTypes[ticketTypeId]! },
    created: result.events.some((e) => e.type === 'TicketTypeRegistered'),
    changed: result.events.length > 0,
    position: result.position,
  };
}

/**
 * The event's catalogue at the venue, read from its stream (empty when nothing is registered),
 * or as this process last saw it: a price change racing a purchase may land either side of it.
 */
export async function loadCatalogue(store: EventStore, venueId: string, eventId: string): Promise<CatalogueState> {
  return (await catalogueHandler.loadRecent(store, { venueId, eventId })).state;
}

/**
 * A purchase's lines priced from the catalogue of its venue and event as it stands now: the
 * stream, not a read model, so a price changed a moment ago already counts.
 */
export async function priceFromCatalogue(
  store: EventStore,
  purchase: { readonly venueId: string; readonly eventId: string; readonly tickets: readonly RequestedTicketLine[] },
  now: Date,
): Promise<TicketLine[]> {
  return priceTicketLines(await loadCatalogue(store, purchase.venueId, purchase.eventId), purchase.tickets, now);
}

/**
 * A purchase priced now: its lines from the catalogue and its quote at the venue (VENUE_NOT_FOUND
 * first, for an unknown venue). A retried request whose purchase was already recorded
 * (`recorded` answers its lines) is priced as it was, whatever the catalogue says now: its command
 * then finds its earlier events and answers as the first time.
 */
export async function pricePurchase(
  deps: { readonly store: EventStore; readonly volume: VenueVolume },
  purchase: { readonly venueId: string; readonly eventId: string; readonly tickets: readonly RequestedTicketLine[]; readonly chain: Chain },
  now: Date,
  recorded: () => Promise<readonly TicketLine[] | undefined>,
): Promise<{ tickets: readonly TicketLine[]; quote: PurchaseQuote }> {
  const venue = await requireVenueProfile(deps.store, purchase.venueId);
  const tickets = await priceFromCatalogue(deps.store, purchase, now).catch(async (error: unknown) => {
    const earlier = await recorded();
    if (earlier) return earlier;
    throw error;
  });
  const { ticketPrice, ticketCount } = ticketPriceOf(tickets);
  const quote = await quoteAtVenue(deps, venue, { venueId: purchase.venueId, ticketPrice, ticketCount, chain: purchase.chain }, now);
  return { tickets, quote };
}

/** What the catalogue routes call. */
export interface CatalogueCommands {
  saveTicketType(input: TicketTypeKey & TicketTypeTerms, context: CommandContext): Promise<SaveTicketTypeResult>;
  getCatalogue(venueId: string, eventId: string): Promise<CatalogueState>;
}

export const catalogueCommands = (store: EventStore): CatalogueCommands => ({
  saveTicketType: (input, context) => saveTicketType(store, input, context),
  getCatalogue: (venueId, eventId) => loadCatalogue(store, venueId, eventId),
});
