import { venueAccountDecider, type VenueAccountState } from '../aggregates/venue-account.js';
import { derivedId } from '../domain/ids.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import { venueAccountStreamId, type VenuePayoutRequested } from '../events/venue-account.js';
import { commandHandler, type CommandContext } from './handle-command.js';
import { venuePayoutTerms } from './venue.js';

/**
 * The VenueAccount aggregate's command handler (`venue-account-<id>` streams). Payouts race for
 * the same balance; each lost race reloads and decides again, so it allows more rounds than a
 * single payment's commands need before answering CONCURRENCY_CONFLICT.
 */
export const venueAccountHandler = commandHandler(venueAccountDecider, venueAccountStreamId, { maxAttempts: 50 });

export async function loadVenueAccount(store: EventStore, venueId: string): Promise<VenueAccountState> {
  return (await venueAccountHandler.load(store, venueId)).state;
}

export const payoutIdFor = (commandId: string): string => derivedId(commandId, 'payout');

export interface PayoutReceipt {
  readonly payout: VenuePayoutRequested['data'];
  readonly replayed: boolean;
  /** Where the payout request was written, for reading it back (read-your-writes). */
  readonly position: Position | null;
}

/** What the venue payout routes call. */
export interface VenueAccountCommands {
  requestPayout(
    input: { venueId: string; amount: number; instant: boolean; currency: string; requestedBy: string },
    context: CommandContext,
  ): Promise<PayoutReceipt>;
  /** The write side's view of a venue's account (its stream folded). */
  account(venueId: string): Promise<VenueAccountState>;
}

export function venueAccountCommands(store: EventStore): VenueAccountCommands {
  return {
    async requestPayout(input, context) {
      const payoutId = payoutIdFor(context.commandId);
      // From the venue's own stream right before deciding: a hold that began a moment ago counts.
      const { destination, heldUntil } = await venuePayoutTerms(store, input.venueId);
      const terms = { ...(destination !== undefined ? { destination } : {}), ...(heldUntil !== undefined ? { payoutsHeldUntil: heldUntil } : {}) };
      const result = await venueAccountHandler.handle(
        store,
        input.venueId,
        { type: 'RequestPayout', data: { ...input, payoutId, now: context.now.toISOString(), ...terms } },
        context,
      );
      const requested = result.events.find((e) => e.type === 'VenuePayoutRequested');
      if (requested?.type !== 'VenuePayoutRequested') throw new Error(`payout ${payoutId} was not recorded`);
      return { payout: requested.data, replayed: result.replayed, position: result.position };
    },
    account: (venueId) => loadVenueAccount(store, venueId),
  };
}
