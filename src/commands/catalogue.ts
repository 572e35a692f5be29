import { catalogueDecider, priceTicketLines, type CatalogueState, type RequestedTicketLine, type TicketTypeSave } from '../aggregates/catalogue.js';
import type { Chain } from '../domain/fees.js';
import { ticketPriceOf, type PurchaseQuote, type TicketLine } from '../domain/purchase-quote.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import { catalogueStreamId, type PurchaseLimits, type TicketTypeTerms, type WaitingRoomSettings } from '../events/catalogue.js';
import type { VenueVolume } from '../projections/venue-volume.js';
import { quoteAtVenue } from './fees.js';
import { commandHandler, type CommandContext } from './handle-command.js';
import { requireVenueProfile } from './venue.js';
import { limitsOf, type TicketAvailability, type TicketInventory } from './ticket-inventory.js';

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
export async function saveTicketType(store: EventStore, input: TicketTypeKey & TicketTypeSave, context: CommandContext): Promise<SaveTicketTypeResult> {
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
 * A purchase priced now: its lines from the catalogue and its quote at the venue (VENUE_NOT_FOUND
 * first, for an unknown venue), with the catalogue it was priced from (capacities, limits, the
 * waiting room). A retried request whose purchase was already recorded
 * (`recorded` answers its lines) is priced as it was, whatever the catalogue says now: its command
 * then finds its earlier events and answers as the first time.
 */
export async function pricePurchase(
  deps: { readonly store: EventStore; readonly volume: VenueVolume },
  purchase: { readonly venueId: string; readonly eventId: string; readonly tickets: readonly RequestedTicketLine[]; readonly chain: Chain },
  now: Date,
  recorded: () => Promise<readonly TicketLine[] | undefined>,
): Promise<{ tickets: readonly TicketLine[]; quote: PurchaseQuote; catalogue: CatalogueState }> {
  const venue = await requireVenueProfile(deps.store, purchase.venueId);
  const catalogue = await loadCatalogue(deps.store, purchase.venueId, purchase.eventId);
  let tickets: readonly TicketLine[];
  try {
    tickets = priceTicketLines(catalogue, purchase.tickets, now);
  } catch (error) {
    const earlier = await recorded();
    if (!earlier) throw error;
    tickets = earlier;
  }
  const { ticketPrice, ticketCount } = ticketPriceOf(tickets);
  const quote = await quoteAtVenue(deps, venue, { venueId: purchase.venueId, ticketPrice, ticketCount, chain: purchase.chain }, now);
  return { tickets, quote, catalogue };
}

export interface EventSettingsResult<T> {
  readonly settings: T;
  readonly changed: boolean;
  readonly position: Position | null;
}

/** `PUT .../events/:eventId/purchase-limits`: the event's own limits at a registered venue. */
export async function setPurchaseLimits(
  store: EventStore,
  input: { readonly venueId: string; readonly eventId: string; readonly limits: PurchaseLimits },
  context: CommandContext,
): Promise<EventSettingsResult<PurchaseLimits>> {
  const { venueId, eventId } = input;
  await requireVenueProfile(store, venueId);
  const result = await catalogueHandler.handle(store, { venueId, eventId }, { type: 'SetPurchaseLimits', data: input }, context);
  return { settings: result.state.limits!, changed: result.events.length > 0, position: result.position };
}

/** `PUT .../events/:eventId/waiting-room`: switches the event's waiting room on, reconfigures it, or off. */
export async function configureWaitingRoom(
  store: EventStore,
  input: { readonly venueId: string; readonly eventId: string; readonly room: WaitingRoomSettings },
  context: CommandContext,
): Promise<EventSettingsResult<WaitingRoomSettings>> {
  const { venueId, eventId } = input;
  await requireVenueProfile(store, venueId);
  const result = await catalogueHandler.handle(store, { venueId, eventId }, { type: 'ConfigureWaitingRoom', data: input }, context);
  return { settings: result.state.waitingRoom!, changed: result.events.length > 0, position: result.position };
}

/** The limits an event's purchases are held to, and where they come from. */
export interface EffectiveLimits {
  readonly limits: PurchaseLimits | null;
  /** `event`: set for this event; `default`: seed 003's defaults (PURCHASE_LIMITS); `none`: unlimited. */
  readonly source: 'event' | 'default' | 'none';
}

/** What the catalogue routes call. */
export interface CatalogueCommands {
  saveTicketType(input: TicketTypeKey & TicketTypeSave, context: CommandContext): Promise<SaveTicketTypeResult>;
  getCatalogue(venueId: string, eventId: string): Promise<CatalogueState>;
  /** Each ticket type's capacity, sold, held and remaining tickets, counted now. */
  availability(venueId: string, eventId: string): Promise<readonly TicketAvailability[]>;
  setPurchaseLimits(input: { venueId: string; eventId: string; limits: PurchaseLimits }, context: CommandContext): Promise<EventSettingsResult<PurchaseLimits>>;
  purchaseLimits(venueId: string, eventId: string): Promise<EffectiveLimits>;
  configureWaitingRoom(input: { venueId: string; eventId: string; room: WaitingRoomSettings }, context: CommandContext): Promise<EventSettingsResult<WaitingRoomSettings>>;
}

export const catalogueCommands = (store: EventStore, inventory: Pick<TicketInventory, 'availability'>, defaultLimits: boolean): CatalogueCommands => ({
  saveTicketType: (input, context) => saveTicketType(store, input, context),
  getCatalogue: (venueId, eventId) => loadCatalogue(store, venueId, eventId),
  availability: async (venueId, eventId) => inventory.availability(venueId, eventId, (await catalogueHandler.load(store, { venueId, eventId })).state),
  setPurchaseLimits: (input, context) => setPurchaseLimits(store, input, context),
  async purchaseLimits(venueId, eventId) {
    const catalogue = (await catalogueHandler.load(store, { venueId, eventId })).state;
    const limits = limitsOf(catalogue, defaultLimits);
    return { limits: limits ?? null, source: catalogue.limits ? 'event' : limits ? 'default' : 'none' };
  },
  configureWaitingRoom: (input, context) => configureWaitingRoom(store, input, context),
});
