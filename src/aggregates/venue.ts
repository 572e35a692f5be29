import { isKnownState } from '../domain/tax.js';
import { TesseraError } from '../errors.js';
import { isVenueEvent, type VenueEvent, type VenuePayoutAccountChanged, type VenueProfileData } from '../events/venue.js';
import type { Decider } from './decider.js';

/**
 * A venue's profile: what fees and tax need (its address and tier override) and where payouts
 * go. `SaveVenueProfile` registers a venue or updates it (PUT semantics); saving the same
 * profile again changes nothing and writes nothing.
 *
 * Any change of payout account after registration (a first one, a replacement, a removal) also
 * records VenuePayoutAccountChanged, which holds the venue's payouts for `payoutAccountHoldMs`
 * (the venue account's payout decision reads the hold from this stream). Only an account given
 * when the venue is registered, before it has sold anything, needs no hold: a venue's sales may
 * have been waiting in `available` for whoever first names where they go.
 */
export interface VenueProfileState {
  readonly venueId?: string;
  readonly profile?: VenueProfileData;
  /** The last change of payout account, and until when payouts wait because of it. */
  readonly payoutHold?: { readonly until: string; readonly changedBy: string; readonly changedAt: string };
}

export type VenueCommand = {
  readonly type: 'SaveVenueProfile';
  readonly data: { readonly venueId: string } & VenueProfileData & {
      /** The actor saving the profile (`admin:<id>`, `service:<name>`). */
      readonly changedBy: string;
      /** The command's time (ISO 8601). */
      readonly now: string;
      /** How long payouts wait after a change of payout account (PAYOUT_ACCOUNT_CHANGE_HOLD_MS). */
      readonly payoutAccountHoldMs: number;
    };
};

const FIELDS = ['name', 'address', 'tierOverride', 'payoutAccount'] as const satisfies readonly (keyof VenueProfileData)[];

export function evolveVenue(state: VenueProfileState, event: VenueEvent): VenueProfileState {
  switch (event.type) {
    case 'VenueRegistered':
    case 'VenueProfileUpdated': {
      return { ...state, venueId: event.data.venueId, profile: profileOf(event.data) };
    }
    case 'VenuePayoutAccountChanged': {
      const { holdUntil, changedBy, changedAt } = event.data;
      return { ...state, payoutHold: { until: holdUntil, changedBy, changedAt } };
    }
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled venue event ${JSON.stringify(unhandled)}`);
    }
  }
}

export function decideVenue(command: VenueCommand, state: VenueProfileState): VenueEvent[] {
  switch (command.type) {
    case 'SaveVenueProfile': {
      const { venueId } = command.data;
      const profile = profileOf(command.data);
      if (!profile.name.trim()) throw new TesseraError('VALIDATION_ERROR', 'a venue needs a name');
      if (!isKnownState(profile.address.state)) {
        throw new TesseraError('TAX_JURISDICTION_UNKNOWN', `no tax rules for state ${profile.address.state}`);
      }
      if (!state.profile) return [{ type: 'VenueRegistered', data: { venueId, ...profile } }];
      const changed = FIELDS.filter((field) => JSON.stringify(state.profile![field]) !== JSON.stringify(profile[field]));
      if (changed.length === 0) return [];
      const updated: VenueEvent = { type: 'VenueProfileUpdated', data: { venueId, changed, ...profile } };
      if (!changed.includes('payoutAccount')) return [updated];
      return [updated, payoutAccountChanged(command.data, state, profile)];
    }
    default: {
      const unhandled: never = command.type;
      throw new Error(`unhandled venue command ${String(unhandled)}`);
    }
  }
}

/** A change of payout account after registration; it never shortens a hold already running. */
function payoutAccountChanged(
  data: VenueCommand['data'],
  state: VenueProfileState,
  profile: VenueProfileData,
): VenuePayoutAccountChanged {
  const heldFor = new Date(Date.parse(data.now) + data.payoutAccountHoldMs).toISOString();
  const running = state.payoutHold?.until;
  const previous = state.profile?.payoutAccount;
  return {
    type: 'VenuePayoutAccountChanged',
    data: {
      venueId: data.venueId,
      ...(profile.payoutAccount !== undefined ? { payoutAccount: profile.payoutAccount } : {}),
      ...(previous !== undefined ? { previousPayoutAccount: previous } : {}),
      changedBy: data.changedBy,
      changedAt: data.now,
      holdUntil: running !== undefined && Date.parse(running) > Date.parse(heldFor) ? running : heldFor,
    },
  };
}

/** The profile fields alone, in a fixed key order, without absent optionals. */
function profileOf(data: VenueProfileData): VenueProfileData {
  const { street, city, state, zip } = data.address;
  return {
    name: data.name,
    address: { street, city, state: state.toUpperCase(), zip },
    ...(data.tierOverride ? { tierOverride: data.tierOverride } : {}),
    ...(data.payoutAccount ? { payoutAccount: data.payoutAccount } : {}),
  };
}

export const venueDecider: Decider<VenueProfileState, VenueCommand, VenueEvent> = {
  initialState: () => ({}),
  evolve: evolveVenue,
  decide: decideVenue,
  isEvent: isVenueEvent,
};
