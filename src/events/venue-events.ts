import type { VenueTier } from '../domain/fees.js';

/** The VenueProfile stream's events (`venue-<uuid>`), schema version 1. */
export const VENUE_EVENT_SCHEMA_VERSION = 1;

export const venueStreamId = (venueId: string): string => `venue-${venueId}`;

export interface VenueAddress {
  readonly street: string;
  readonly city: string;
  readonly state: string;
  readonly zip: string;
}

export interface VenueProfileData {
  readonly name: string;
  readonly address: VenueAddress;
  /** Pins the fee tier regardless of volume (negotiated contracts). */
  readonly tierOverride?: VenueTier;
  /** Where payouts go: a gateway account reference, never bank details. */
  readonly payoutAccount?: string;
}

export interface VenueRegistered {
  readonly type: 'VenueRegistered';
  readonly data: { readonly venueId: string } & VenueProfileData;
}

/** Carries the whole profile after the change, and which fields changed. */
export interface VenueProfileUpdated {
  readonly type: 'VenueProfileUpdated';
  readonly data: { readonly venueId: string; readonly changed: readonly (keyof VenueProfileData)[] } & VenueProfileData;
}

export type VenueEvent = VenueRegistered | VenueProfileUpdated;

export const VENUE_EVENT_TYPES = ['VenueRegistered', 'VenueProfileUpdated'] as const satisfies readonly VenueEvent['type'][];

const venueEventTypes = new Set<string>(VENUE_EVENT_TYPES);

export const isVenueEvent = (event: { type: string; data: unknown }): event is VenueEvent => venueEventTypes.has(event.type);
