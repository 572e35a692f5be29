import type { VenueTier } from '../domain/fees.js';
import { eventGuard } from './event-guard.js';

/** The VenueProfile stream's events (`venue-<uuid>`). */
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

/**
 * A venue that had a payout account got another one, or lost it: who changed it, when, and until
 * when its payouts wait (a bank-account change hold, as payment platforms keep). Written after the
 * VenueProfileUpdated that carries the new profile. `holdUntil` is what was decided then (from
 * PAYOUT_ACCOUNT_CHANGE_HOLD_MS), so a replay needs no configuration. A venue's first payout
 * account is set by VenueRegistered or VenueProfileUpdated alone: it holds nothing.
 */
export interface VenuePayoutAccountChanged {
  readonly type: 'VenuePayoutAccountChanged';
  readonly data: {
    readonly venueId: string;
    /** The new account; absent when the account was removed. */
    readonly payoutAccount?: string;
    /** The account it replaced; absent when the venue had none at the time (removed earlier). */
    readonly previousPayoutAccount?: string;
    /** The actor of the change: `admin:<id>`, `service:<name>`... */
    readonly changedBy: string;
    readonly changedAt: string;
    /** Payouts are refused until then (ISO 8601). */
    readonly holdUntil: string;
  };
}

export type VenueEvent = VenueRegistered | VenueProfileUpdated | VenuePayoutAccountChanged;

/** Each event type's schema version as written now (src/events/versions.ts). */
export const VENUE_EVENT_VERSIONS = {
  VenueRegistered: 1,
  VenueProfileUpdated: 1,
  VenuePayoutAccountChanged: 1,
} as const satisfies Record<VenueEvent['type'], number>;

const venueEvents = eventGuard<VenueEvent>(VENUE_EVENT_VERSIONS);

export const VENUE_EVENT_TYPES = venueEvents.types;

export const isVenueEvent = venueEvents.is;
