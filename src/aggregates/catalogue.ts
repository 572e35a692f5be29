import type { TicketLine } from '../domain/purchase-quote.js';
import { TesseraError } from '../errors.js';
import {
  isCatalogueEvent,
  type CatalogueEvent,
  type PurchaseLimits,
  type TicketTypeTerms,
  type WaitingRoomSettings,
} from '../events/catalogue.js';
import type { Decider } from './decider.js';

/**
 * An event's ticket catalogue at one venue: its ticket types and their prices. `SaveTicketType`
 * registers a ticket type or replaces its terms (PUT semantics); saving the same terms again
 * writes nothing. Purchases read it through `priceTicketLines`, so no price is the caller's.
 */
export interface CatalogueState {
  readonly ticketTypes: Readonly<Record<string, TicketTypeTerms>>;
  /** The event's own purchase limits; absent: the defaults apply (src/domain/purchase-limits.ts). */
  readonly limits?: PurchaseLimits;
  /** The event's waiting room as last configured; a purchase needs an access token while it is enabled. */
  readonly waitingRoom?: WaitingRoomSettings;
}

interface EventKey {
  readonly venueId: string;
  readonly eventId: string;
}

/**
 * A ticket type's terms as saved: every term is replaced, but an absent `capacity` keeps the one
 * registered (a price or sale window change, or a sync that knows nothing of capacity, must not
 * lift it); `null` removes it.
 */
export type TicketTypeSave = Omit<TicketTypeTerms, 'capacity'> & { readonly capacity?: number | null };

export type CatalogueCommand =
  | { readonly type: 'SaveTicketType'; readonly data: EventKey & { readonly ticketTypeId: string } & TicketTypeSave }
  | { readonly type: 'SetPurchaseLimits'; readonly data: EventKey & { readonly limits: PurchaseLimits } }
  | { readonly type: 'ConfigureWaitingRoom'; readonly data: EventKey & { readonly room: WaitingRoomSettings } };

const TERMS = ['name', 'price', 'currency', 'saleStartsAt', 'saleEndsAt', 'capacity'] as const satisfies readonly (keyof TicketTypeTerms)[];
const LIMITS = ['perUser', 'perPaymentMethod', 'perAddress', 'perOrder'] as const satisfies readonly (keyof PurchaseLimits)[];

export function evolveCatalogue(state: CatalogueState, event: CatalogueEvent): CatalogueState {
  switch (event.type) {
    case 'TicketTypeRegistered':
    case 'TicketTypeRevised':
      return { ...state, ticketTypes: { ...state.ticketTypes, [event.data.ticketTypeId]: termsOf(event.data) } };
    case 'PurchaseLimitsSet':
      return { ...state, limits: event.data.limits };
    case 'WaitingRoomConfigured':
      return { ...state, waitingRoom: event.data.room };
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled catalogue event ${JSON.stringify(unhandled)}`);
    }
  }
}

export function decideCatalogue(command: CatalogueCommand, state: CatalogueState): CatalogueEvent[] {
  switch (command.type) {
    case 'SaveTicketType': {
      const { venueId, eventId, ticketTypeId, capacity: saved, ...rest } = command.data;
      const before = state.ticketTypes[ticketTypeId];
      const capacity = saved === undefined ? before?.capacity : (saved ?? undefined);
      const terms = termsOf({ ...rest, ...(capacity === undefined ? {} : { capacity }) });
      if (!Number.isSafeInteger(terms.price) || terms.price <= 0) throw invalid('price', 'must be a whole number of cents above zero');
      if (terms.saleStartsAt && terms.saleEndsAt && Date.parse(terms.saleEndsAt) <= Date.parse(terms.saleStartsAt)) {
        throw invalid('saleEndsAt', 'must be after saleStartsAt');
      }
      if (terms.capacity !== undefined && (!Number.isSafeInteger(terms.capacity) || terms.capacity < 0)) {
        throw invalid('capacity', 'must be a whole number of tickets, zero or more');
      }
      if (!before) return [{ type: 'TicketTypeRegistered', data: { venueId, eventId, ticketTypeId, ...terms } }];
      const changed = TERMS.filter((field) => before[field] !== terms[field]);
      if (changed.length === 0) return [];
      return [{ type: 'TicketTypeRevised', data: { venueId, eventId, ticketTypeId, ...terms, changed, previousPrice: before.price } }];
    }
    case 'SetPurchaseLimits': {
      const { venueId, eventId, limits } = command.data;
      for (const field of LIMITS) {
        if (!Number.isSafeInteger(limits[field]) || limits[field] < 1) throw invalid(`limits.${field}`, 'must be a whole number of tickets, one or more');
      }
      const set = { perUser: limits.perUser, perPaymentMethod: limits.perPaymentMethod, perAddress: limits.perAddress, perOrder: limits.perOrder };
      if (state.limits && LIMITS.every((field) => state.limits![field] === set[field])) return [];
      return [{ type: 'PurchaseLimitsSet', data: { venueId, eventId, limits: set } }];
    }
    case 'ConfigureWaitingRoom': {
      const { venueId, eventId } = command.data;
      const room = roomOf(command.data.room);
      if (!Number.isSafeInteger(room.capacity) || room.capacity < 1) throw invalid('capacity', 'must be a whole number of buyers, one or more');
      if (!Number.isSafeInteger(room.releaseRate) || room.releaseRate < 1) throw invalid('releaseRate', 'must be a whole number of buyers a minute, one or more');
      if (room.order === 'draw' && !room.opensAt) throw invalid('opensAt', 'is required for a draw: those who join before it are drawn in random order');
      if (state.waitingRoom && JSON.stringify(roomOf(state.waitingRoom)) === JSON.stringify(room)) return [];
      return [{ type: 'WaitingRoomConfigured', data: { venueId, eventId, room } }];
    }
    default: {
      const unhandled: never = command;
      throw new Error(`unhandled catalogue command ${JSON.stringify(unhandled)}`);
    }
  }
}

/** A purchase's line as the caller sends it: the price is only what they expect to pay. */
export interface RequestedTicketLine {
  readonly ticketTypeId: string;
  readonly quantity: number;
  /** The price of one ticket the caller expects; a different registered price refuses the purchase. */
  readonly expectedPrice?: number;
  readonly seatNumbers?: readonly string[];
}

/**
 * Prices a purchase from the catalogue at `now`: every line's unit price is the registered one.
 * Refuses a ticket type the catalogue does not hold (TICKET_TYPE_NOT_FOUND), a sale not open
 * at `now` (TICKET_SALE_CLOSED) and an expected price other than the registered one
 * (PRICE_MISMATCH: the caller was shown an old price and must see the new one before paying).
 */
export function priceTicketLines(state: CatalogueState, lines: readonly RequestedTicketLine[], now: Date): TicketLine[] {
  return lines.map((line) => {
    const terms = state.ticketTypes[line.ticketTypeId];
    if (!terms) {
      throw new TesseraError('TICKET_TYPE_NOT_FOUND', `ticket type ${line.ticketTypeId} is not sold for this event at this venue`, {
        expose: { ticketTypeId: line.ticketTypeId },
      });
    }
    const opens = terms.saleStartsAt ? Date.parse(terms.saleStartsAt) : undefined;
    const closes = terms.saleEndsAt ? Date.parse(terms.saleEndsAt) : undefined;
    if ((opens !== undefined && now.getTime() < opens) || (closes !== undefined && now.getTime() >= closes)) {
      throw new TesseraError('TICKET_SALE_CLOSED', `ticket type ${line.ticketTypeId} is not on sale now`, {
        expose: {
          ticketTypeId: line.ticketTypeId,
          ...(terms.saleStartsAt ? { saleStartsAt: terms.saleStartsAt } : {}),
          ...(terms.saleEndsAt ? { saleEndsAt: terms.saleEndsAt } : {}),
        },
      });
    }
    if (line.expectedPrice !== undefined && line.expectedPrice !== terms.price) {
      throw new TesseraError('PRICE_MISMATCH', `ticket type ${line.ticketTypeId} costs ${terms.price} cents, not ${line.expectedPrice}`, {
        expose: { ticketTypeId: line.ticketTypeId, price: terms.price, expectedPrice: line.expectedPrice },
      });
    }
    return {
      ticketTypeId: line.ticketTypeId,
      quantity: line.quantity,
      unitPrice: terms.price,
      priceSource: 'catalogue',
      ...(line.seatNumbers ? { seatNumbers: line.seatNumbers } : {}),
    };
  });
}

/** The terms alone, in a fixed key order, without absent optionals. */
function termsOf(data: TicketTypeTerms): TicketTypeTerms {
  return {
    name: data.name,
    price: data.price,
    currency: data.currency,
    ...(data.saleStartsAt ? { saleStartsAt: data.saleStartsAt } : {}),
    ...(data.saleEndsAt ? { saleEndsAt: data.saleEndsAt } : {}),
    ...(data.capacity !== undefined ? { capacity: data.capacity } : {}),
  };
}

/** The settings alone, in a fixed key order, without an absent opening time. */
function roomOf(room: WaitingRoomSettings): WaitingRoomSettings {
  return {
    enabled: room.enabled,
    capacity: room.capacity,
    releaseRate: room.releaseRate,
    order: room.order,
    ...(room.opensAt ? { opensAt: room.opensAt } : {}),
  };
}

const invalid = (field: string, message: string) => new TesseraError('VALIDATION_ERROR', 'Validation failed', { errors: [{ field, message }] });

export const catalogueDecider: Decider<CatalogueState, CatalogueCommand, CatalogueEvent> = {
  initialState: () => ({ ticketTypes: {} }),
  evolve: evolveCatalogue,
  decide: decideCatalogue,
  isEvent: isCatalogueEvent,
};
