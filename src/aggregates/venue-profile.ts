import { isKnownState } from '../domain/tax.js';
import { TesseraError } from '../errors.js';
import { isVenueEvent, type VenueEvent, type VenueProfileData } from '../events/venue-events.js';
import type { Decider } from './decider.js';

/**
 * A venue's profile: what fees and tax need (its address and tier override) and where payouts
 * go. `SaveVenueProfile` registers a venue or updates it (PUT semantics); saving the same
 * profile again changes nothing and writes nothing.
 */
export interface VenueProfileState {
  readonly venueId?: string;
  readonly profile?: VenueProfileData;
}

export type VenueCommand = {
  readonly type: 'SaveVenueProfile';
  readonly data: { readonly venueId: string } & VenueProfileData;
};

const FIELDS = ['name', 'address', 'tierOverride', 'payoutAccount'] as const satisfies readonly (keyof VenueProfileData)[];

export function evolveVenue(state: VenueProfileState, event: VenueEvent): VenueProfileState {
  switch (event.type) {
    case 'VenueRegistered':
    case 'VenueProfileUpdated':
      return { venueId: event.data.venueId, profile: profileOf(event.data) };
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
      return [{ type: 'VenueProfileUpdated', data: { venueId, changed, ...profile } }];
    }
    default: {
      const unhandled: never = command.type;
      throw new Error(`unhandled venue command ${String(unhandled)}`);
    }
  }
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
