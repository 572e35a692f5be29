import { venueDecider, type VenueProfileState } from '../aggregates/venue-profile.js';
import { TesseraError } from '../errors.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import { venueStreamId, type VenueProfileData } from '../events/venue-events.js';
import { handleCommand, loadAggregate, type CommandContext } from './handle-command.js';

export interface SaveVenueProfileResult {
  readonly venueId: string;
  readonly profile: VenueProfileData;
  /** True when this call registered the venue; false when it updated (or left) it. */
  readonly created: boolean;
  readonly changed: boolean;
  readonly position: Position | null;
}

/** `PUT /api/v1/venues/:venueId`: registers the venue or replaces its profile. */
export async function saveVenueProfile(
  store: EventStore,
  input: { readonly venueId: string } & VenueProfileData,
  context: CommandContext,
): Promise<SaveVenueProfileResult> {
  const result = await handleCommand(store, {
    streamId: venueStreamId(input.venueId),
    decider: venueDecider,
    command: { type: 'SaveVenueProfile', data: input },
    context,
  });
  return {
    venueId: input.venueId,
    profile: result.state.profile!,
    created: result.events.some((e) => e.type === 'VenueRegistered'),
    changed: result.events.length > 0,
    position: result.position,
  };
}

export async function findVenueProfile(store: EventStore, venueId: string): Promise<VenueProfileData | undefined> {
  const { state }: { state: VenueProfileState } = await loadAggregate(store, venueStreamId(venueId), venueDecider);
  return state.profile;
}

export async function requireVenueProfile(store: EventStore, venueId: string): Promise<VenueProfileData> {
  const profile = await findVenueProfile(store, venueId);
  if (!profile) throw new TesseraError('VENUE_NOT_FOUND', `venue ${venueId} is not registered`, { venueId });
  return profile;
}
