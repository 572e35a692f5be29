import { eventGuard } from './event-guard.js';

/**
 * The ticket catalogue (issue 17): the ticket types an event sells at a venue, with the price
 * every purchase path takes. One stream per venue and event, `catalogue-<venueId>-<eventId>`:
 * each venue names its own events, so a manager of one venue can neither register nor change
 * what another venue sells, even under the same event id.
 */
export const catalogueStreamId = (venueId: string, eventId: string): string => `catalogue-${venueId}-${eventId}`;

/** The currencies fees and taxes are defined for (src/domain/purchase-quote.ts prices in USD). */
export const CATALOGUE_CURRENCIES = ['USD'] as const;
export type CatalogueCurrency = (typeof CATALOGUE_CURRENCIES)[number];

/** A ticket type as registered: what one ticket costs and when it may be bought. */
export interface TicketTypeTerms {
  readonly name: string;
  /** Price of one ticket in minor units of `currency`. */
  readonly price: number;
  readonly currency: CatalogueCurrency;
  /** The sale opens at this time (ISO-8601); open from registration when absent. */
  readonly saleStartsAt?: string;
  /** The sale closes at this time (ISO-8601, exclusive); open-ended when absent. */
  readonly saleEndsAt?: string;
}

interface TicketTypeKey {
  readonly venueId: string;
  readonly eventId: string;
  readonly ticketTypeId: string;
}

export interface TicketTypeRegistered {
  readonly type: 'TicketTypeRegistered';
  readonly data: TicketTypeKey & TicketTypeTerms;
}

/** Carries the whole ticket type after the change, which fields changed, and the price before. */
export interface TicketTypeRevised {
  readonly type: 'TicketTypeRevised';
  readonly data: TicketTypeKey &
    TicketTypeTerms & { readonly changed: readonly (keyof TicketTypeTerms)[]; readonly previousPrice: number };
}

export type CatalogueEvent = TicketTypeRegistered | TicketTypeRevised;

/** Each event type's schema version as written now (src/events/versions.ts). */
export const CATALOGUE_EVENT_VERSIONS = {
  TicketTypeRegistered: 1,
  TicketTypeRevised: 1,
} as const satisfies Record<CatalogueEvent['type'], number>;

const catalogueEvents = eventGuard<CatalogueEvent>(CATALOGUE_EVENT_VERSIONS);

export const CATALOGUE_EVENT_TYPES = catalogueEvents.types;

export const isCatalogueEvent = catalogueEvents.is;
