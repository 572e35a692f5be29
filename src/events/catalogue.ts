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
  /**
   * How many tickets of this type may be sold at most (issue 21): tickets sold plus tickets held
   * by pending purchases and open groups never exceed it. Unbounded when absent.
   */
  readonly capacity?: number;
}

/**
 * Seed 003's `event_purchase_limits`, in tickets: across every order of the event at the venue
 * by one user, one payment method, one address (the buyer's IP: IPv4, or IPv6 /64), and in one
 * order. Refunded and failed orders give their tickets back.
 */
export interface PurchaseLimits {
  readonly perUser: number;
  readonly perPaymentMethod: number;
  readonly perAddress: number;
  readonly perOrder: number;
}

/**
 * An event's waiting room (issue 21), as Cloudflare's Waiting Room configures one: at most
 * `capacity` buyers hold a live access token at a time, and at most `releaseRate` new ones are
 * admitted a minute. `first_come` admits in join order; `draw` admits those who joined before
 * `opensAt` in a random order, then everyone else in join order.
 */
export interface WaitingRoomSettings {
  readonly enabled: boolean;
  /** Active buyers: admitted, with a token neither used nor expired. */
  readonly capacity: number;
  /** New buyers admitted per minute. */
  readonly releaseRate: number;
  readonly order: 'first_come' | 'draw';
  /** When the sale opens (ISO-8601); nobody is admitted before it. Required for `draw`. */
  readonly opensAt?: string;
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

/** The event's purchase limits at the venue, replacing the defaults (or the limits set before). */
export interface PurchaseLimitsSet {
  readonly type: 'PurchaseLimitsSet';
  readonly data: { readonly venueId: string; readonly eventId: string; readonly limits: PurchaseLimits };
}

/** The event's waiting room switched on, reconfigured or switched off (`enabled: false`). */
export interface WaitingRoomConfigured {
  readonly type: 'WaitingRoomConfigured';
  readonly data: { readonly venueId: string; readonly eventId: string; readonly room: WaitingRoomSettings };
}

export type CatalogueEvent = TicketTypeRegistered | TicketTypeRevised | PurchaseLimitsSet | WaitingRoomConfigured;

/** Each event type's schema version as written now (src/events/versions.ts). */
export const CATALOGUE_EVENT_VERSIONS = {
  TicketTypeRegistered: 1,
  TicketTypeRevised: 1,
  PurchaseLimitsSet: 1,
  WaitingRoomConfigured: 1,
} as const satisfies Record<CatalogueEvent['type'], number>;

const catalogueEvents = eventGuard<CatalogueEvent>(CATALOGUE_EVENT_VERSIONS);

export const CATALOGUE_EVENT_TYPES = catalogueEvents.types;

export const isCatalogueEvent = catalogueEvents.is;
