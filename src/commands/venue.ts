import { venueDecider, type VenueProfileState } from '../aggregates/venue.js';
import { TesseraError } from '../errors.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import { venueStreamId, type VenueProfileData } from '../events/venue.js';
import { commandHandler, type CommandContext } from './handle-command.js';

export interface SaveVenueProfileResult {
  readonly venueId: string;
  readonly profile: VenueProfileData;
  /** True when this call registered the venue; false when it updated (or left) it. */
  readonly created: boolean;
  readonly changed: boolean;
  readonly position: Position | null;
}

export interface VenueProfileSettings {
  /** How long a venue's payouts wait after its payout account changes (PAYOUT_ACCOUNT_CHANGE_HOLD_MS). */
  readonly payoutAccountHoldMs: number;
}


/** The VenueProfile aggregate's command handler (`venue-<id>` streams). */
export const venueHandler = commandHandler(venueDecider, venueStreamId);

/**
 * `PUT /api/v1/venues/:venueId`: registers the venue or replaces its profile; a change of an
 * existing payout account is recorded with the context's actor and holds the venue's payouts.
 */
export async function saveVenueProfile(
  store: EventStore,
  input: { readonly venueId: string } & VenueProfileData,
  context: CommandContext,
  settings: VenueProfileSettings,
): Promise<SaveVenueProfileResult> {
  const result = await venueHandler.handle(
    store,
    input.venueId,
    {
      type: 'SaveVenueProfile',
      data: { ...input, changedBy: context.actor, now: context.now.toISOString(), payoutAccountHoldMs: settings.payoutAccountHoldMs },
    },
    context,
  );
  return {
    venueId: input.venueId,
    profile: result.state.profile!,
    created: result.events.some((e) => e.type === 'VenueRegistered'),
    changed: result.events.length > 0,
    position: result.position,
  };
}

export async function findVenueProfile(store: EventStore, venueId: string): Promise<VenueProfileData | undefined> {
  return (await loadVenue(store, venueId)).profile;
}

/**
 * Where a venue's payouts go and until when they wait after a change of payout account, read
 * from the venue's stream (never from a read model, which may lag behind a change).
 */
export async function venuePayoutTerms(store: EventStore, venueId: string): Promise<{ destination?: string; heldUntil?: string }> {
  const { profile, payoutHold } = await loadVenue(store, venueId);
  return {
    ...(profile?.payoutAccount !== undefined ? { destination: profile.payoutAccount } : {}),
    ...(payoutHold ? { heldUntil: payoutHold.until } : {}),
  };
}

async function loadVenue(store: EventStore, venueId: string): Promise<VenueProfileState> {
  return (await venueHandler.load(store, venueId)).state;
}

/**
 * The venue's profile for pricing a purchase (its tier, its address for taxes): as this process
 * last saw it, else read from the stream. Payouts and the profile routes read it fresh
 * (venuePayoutTerms, findVenueProfile).
 */
export async function requireVenueProfile(store: EventStore, venueId: string): Promise<VenueProfileData> {
  const profile = (await venueHandler.loadRecent(store, venueId)).state.profile;
  if (!profile) throw new TesseraError('VENUE_NOT_FOUND', `venue ${venueId} is not registered`, { venueId });
  return profile;
}

/** What the venue profile routes call. */
export interface VenueProfileCommands {
  saveProfile(input: { venueId: string } & VenueProfileData, context: CommandContext): Promise<SaveVenueProfileResult>;
  /** The venue's profile; VENUE_NOT_FOUND when it was never registered. */
  getProfile(venueId: string): Promise<VenueProfileData>;
}

export function venueProfileCommands(store: EventStore, settings: VenueProfileSettings): VenueProfileCommands {
  return {
    saveProfile: (input, context) => saveVenueProfile(store, input, context, settings),
    async getProfile(venueId) {
      const profile = await findVenueProfile(store, venueId);
      if (!profile) throw new TesseraError('VENUE_NOT_FOUND', `venue ${venueId} is not registered`, { venueId });
      return profile;
    },
  };
}
