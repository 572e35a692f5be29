import { payeeAccountDecider, type PayeeAccountState } from '../aggregates/payee-account.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import { payeeAccountStreamId, type Payee, type PayeePayoutAccountChanged, type PayeePayoutRequested } from '../events/payee-account.js';
import { commandHandler, type CommandContext } from './handle-command.js';
import { venuePayoutTerms } from './venue.js';
import { payoutIdFor } from './venue-account.js';

/**
 * The PayeeAccount aggregate's command handler (`payee-account-<kind>-<id>` streams). Payouts
 * race for the same balance as a venue's do, so it allows as many rounds.
 */
export const payeeAccountHandler = commandHandler(payeeAccountDecider, payeeAccountStreamId, { maxAttempts: 50 });

export async function loadPayeeAccount(store: EventStore, payee: Payee): Promise<PayeeAccountState> {
  return (await payeeAccountHandler.load(store, payee)).state;
}

export interface PayeePayoutReceipt {
  readonly payout: PayeePayoutRequested['data'];
  /** Where the payout request was written, for reading it back (read-your-writes). */
  readonly position: Position | null;
}

export interface PayoutAccountReceipt {
  /** The change, or undefined when the account was already this one. */
  readonly change?: PayeePayoutAccountChanged['data'];
  readonly payoutAccount: string | null;
  readonly holdUntil: string | null;
  readonly position: Position | null;
}

/** What the seller and royalty payout routes call. */
export interface PayeeAccountCommands {
  requestPayout(
    input: { payee: Payee; amount: number; instant: boolean; currency: string; requestedBy: string },
    context: CommandContext,
  ): Promise<PayeePayoutReceipt>;
  /** A seller's or artist's own payout account; a venue's royalties go to the venue's (its profile). */
  setPayoutAccount(input: { payee: Payee; payoutAccount: string | null; changedBy: string }, context: CommandContext): Promise<PayoutAccountReceipt>;
  /** The write side's view of a payee's account (its stream folded). */
  account(payee: Payee): Promise<PayeeAccountState>;
}

export function payeeAccountCommands(store: EventStore, settings: { payoutAccountHoldMs: number }): PayeeAccountCommands {
  return {
    async requestPayout(input, context) {
      const payoutId = payoutIdFor(context.commandId);
      const terms = input.payee.kind === 'venue' ? await venueTerms(store, input.payee.id) : undefined;
      const result = await payeeAccountHandler.handle(
        store,
        input.payee,
        { type: 'RequestPayout', data: { ...input, payoutId, now: context.now.toISOString(), ...(terms ? { terms } : {}) } },
        context,
      );
      const requested = result.events.find((e) => e.type === 'PayeePayoutRequested');
      if (requested?.type !== 'PayeePayoutRequested') throw new Error(`payout ${payoutId} was not recorded`);
      return { payout: requested.data, position: result.position };
    },
    async setPayoutAccount(input, context) {
      const result = await payeeAccountHandler.handle(
        store,
        input.payee,
        { type: 'SetPayoutAccount', data: { ...input, now: context.now.toISOString(), holdMs: settings.payoutAccountHoldMs } },
        context,
      );
      const changed = result.events.find((e) => e.type === 'PayeePayoutAccountChanged');
      return {
        ...(changed?.type === 'PayeePayoutAccountChanged' ? { change: changed.data } : {}),
        payoutAccount: result.state.payoutAccount,
        holdUntil: result.state.holdUntil ?? null,
        position: result.position,
      };
    },
    account: (payee) => loadPayeeAccount(store, payee),
  };
}

/** A venue's royalties are paid to the venue's payout account, under the venue's hold: read from its stream right before. */
async function venueTerms(store: EventStore, venueId: string): Promise<{ destination: string | null; heldUntil?: string }> {
  const { destination, heldUntil } = await venuePayoutTerms(store, venueId);
  return { destination: destination ?? null, ...(heldUntil !== undefined ? { heldUntil } : {}) };
}
