import type { TicketLine } from '../domain/purchase-quote.js';
import { TesseraError } from '../errors.js';
import { isCatalogueEvent, type CatalogueEvent, type TicketTypeTerms } from '../events/catalogue.js';
import type { Decider } from './decider.js';

/**
 * An event's ticket catalogue at one venue: its ticket types and their prices. `SaveTicketType`
 * registers a ticket type or replaces its terms (PUT semantics); saving the same terms again
 * writes nothing. Purchases read it through `priceTicketLines`, so no price is the caller's.
 */
export interface CatalogueState {
  readonly ticketTypes: Readonly<Record<string, TicketTypeTerms>>;
}

export type CatalogueCommand = {
  readonly type: 'SaveTicketType';
  readonly data: { readonly venueId: string; readonly eventId: string; readonly ticketTypeId: string } & TicketTypeTerms;
};

const TERMS = ['name', 'price', 'currency', 'saleStartsAt', 'saleEndsAt'] as const satisfies readonly (keyof TicketTypeTerms)[];

export function evolveCatalogue(state: CatalogueState, event: CatalogueEvent): CatalogueState {
  switch (event.type) {
    case 'TicketTypeRegistered':
    case 'TicketTypeRevised':
      return { ticketTypes: { ...state.ticketTypes, [event.data.ticketTypeId]: termsOf(event.data) } };
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled catalogue event ${JSON.stringify(unhandled)}`);
    }
  }
}

export function decideCatalogue(command: CatalogueCommand, state: CatalogueState): CatalogueEvent[] {
  switch (command.type) {
    case 'SaveTicketType': {
      const { venueId, eventId, ticketTypeId } = command.data;
      const terms = termsOf(command.data);
      if (!Number.isSafeInteger(terms.price) || terms.price <= 0) throw invalid('price', 'must be a whole number of cents above zero');
      if (terms.saleStartsAt && terms.saleEndsAt && Date.parse(terms.saleEndsAt) <= Date.parse(terms.saleStartsAt)) {
        throw invalid('saleEndsAt', 'must be after saleStartsAt');
      }
      const before = state.ticketTypes[ticketTypeId];
      if (!before) return [{ type: 'TicketTypeRegistered', data: { venueId, eventId, ticketTypeId, ...terms } }];
      const changed = TERMS.filter((field) => before[field] !== terms[field]);
      if (changed.length === 0) return [];
      return [{ type: 'TicketTypeRevised', data: { venueId, eventId, ticketTypeId, ...terms, changed, previousPrice: before.price } }];
    }
    default: {
      const unhandled: never = command.type;
      throw new Error(`unhandled catalogue command ${String(unhandled)}`);
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
  };
}

const invalid = (field: string, message: string) => new TesseraError('VALIDATION_ERROR', 'Validation failed', { errors: [{ field, message }] });

export const catalogueDecider: Decider<CatalogueState, CatalogueCommand, CatalogueEvent> = {
  initialState: () => ({ ticketTypes: {} }),
  evolve: evolveCatalogue,
  decide: decideCatalogue,
  isEvent: isCatalogueEvent,
};
