import { bookPayoutFailed, bookPayoutRequested, bookPayoutSent, paidOnDay, payoutAwaiting, payoutTerms, refuseWhileHeld, type PayoutRecord } from '../domain/payouts.js';
import { TesseraError } from '../errors.js';
import {
  isPayeeAccountEvent,
  type Payee,
  type PayeeAccountEvent,
  type PayeeKind,
  type PayeePayoutRequested,
} from '../events/payee-account.js';
import type { Decider } from './decider.js';

/**
 * What the platform owes one resale seller or royalty holder, and their payouts: the venue
 * payout rules (src/domain/payouts.ts: minimum, daily limit, instant fee) against what released
 * resales credited. A payout needs a payout account and none may have changed within the hold;
 * it records the account it was decided for, so a later change cannot divert it.
 *
 * Invariant: per currency, payable >= 0 and the day's requested (not failed) payouts stay within
 * the daily limit. Both hold under concurrency because every payout is decided against the
 * stream revision it read.
 */
export interface PayeePayoutRecord extends PayoutRecord {
  readonly destination: string;
}

export interface PayeeBalance {
  /** Owed and not yet taken by a payout. */
  readonly payable: number;
  /** Payouts requested and not yet paid by the gateway. */
  readonly inTransit: number;
  readonly paidOut: number;
}

export interface PayeeAccountState {
  readonly payee?: Payee;
  readonly credits: Readonly<Record<string, true>>;
  readonly balances: Readonly<Record<string, PayeeBalance>>;
  readonly payoutAccount: string | null;
  readonly holdUntil?: string;
  /** Requested (not failed) payout amounts by `<currency>:<day>`. */
  readonly dailyPayouts: Readonly<Record<string, number>>;
  readonly payouts: Readonly<Record<string, PayeePayoutRecord>>;
}

export type PayeeAccountCommand =
  | { readonly type: 'CreditProceeds'; readonly data: { readonly payee: Payee; readonly creditId: string; readonly currency: string; readonly amount: number } }
  | {
      readonly type: 'SetPayoutAccount';
      readonly data: { readonly payee: Payee; readonly payoutAccount: string | null; readonly changedBy: string; readonly now: string; readonly holdMs: number };
    }
  | {
      readonly type: 'RequestPayout';
      readonly data: {
        readonly payee: Payee;
        readonly payoutId: string;
        readonly currency: string;
        readonly amount: number;
        readonly instant: boolean;
        readonly requestedBy: string;
        readonly now: string;
        /**
         * Where the payout goes and until when payouts wait, when another stream says so (a
         * venue's royalties go to the venue's payout account): read from it right before.
         * Otherwise the payee's own account and hold.
         */
        readonly terms?: { readonly destination: string | null; readonly heldUntil?: string };
      };
    }
  | { readonly type: 'RecordPayoutSent'; readonly data: { readonly payoutId: string; readonly gateway: string; readonly gatewayReference: string } }
  | { readonly type: 'RecordPayoutFailed'; readonly data: { readonly payoutId: string; readonly code: string; readonly reason: string } };

const EMPTY: PayeeBalance = { payable: 0, inTransit: 0, paidOut: 0 };

export const initialPayeeAccountState = (): PayeeAccountState => ({ credits: {}, balances: {}, payoutAccount: null, dailyPayouts: {}, payouts: {} });

export const payeeBalanceOf = (state: PayeeAccountState, currency: string): PayeeBalance => state.balances[currency] ?? EMPTY;


const payeeOf = (data: { kind: PayeeKind; payeeId: string }): Payee => ({ kind: data.kind, id: data.payeeId });

function adjust(state: PayeeAccountState, payee: Payee, currency: string, change: (b: PayeeBalance) => PayeeBalance): PayeeAccountState {
  return { ...state, payee, balances: { ...state.balances, [currency]: change(payeeBalanceOf(state, currency)) } };
}

export function evolvePayeeAccount(state: PayeeAccountState, event: PayeeAccountEvent): PayeeAccountState {
  switch (event.type) {
    case 'PayeeProceedsCredited': {
      const { creditId, currency, amount } = event.data;
      const next = adjust(state, payeeOf(event.data), currency, (b) => ({ ...b, payable: b.payable + amount }));
      return { ...next, credits: { ...state.credits, [creditId]: true } };
    }
    case 'PayeePayoutAccountChanged':
      return { ...state, payee: payeeOf(event.data), payoutAccount: event.data.payoutAccount, holdUntil: event.data.holdUntil };
    case 'PayeePayoutRequested': {
      const { payoutId, currency, amount, fee, net, type, day, destination } = event.data;
      const next = adjust(state, payeeOf(event.data), currency, (b) => ({ ...b, payable: b.payable - amount, inTransit: b.inTransit + net }));
      return { ...next, ...bookPayoutRequested(state, { payoutId, currency, amount, fee, net, type, day, destination, status: 'requested' }) };
    }
    case 'PayeePayoutSent': {
      const payout = state.payouts[event.data.payoutId]!;
      const next = adjust(state, payeeOf(event.data), payout.currency, (b) => ({ ...b, inTransit: b.inTransit - payout.net, paidOut: b.paidOut + payout.net }));
      return { ...next, ...bookPayoutSent(state, payout, event.data.gatewayReference) };
    }
    case 'PayeePayoutFailed': {
      const payout = state.payouts[event.data.payoutId]!;
      const next = adjust(state, payeeOf(event.data), payout.currency, (b) => ({ ...b, payable: b.payable + payout.amount, inTransit: b.inTransit - payout.net }));
      return { ...next, ...bookPayoutFailed(state, payout) };
    }
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled payee account event ${JSON.stringify(unhandled)}`);
    }
  }
}

export function decidePayeeAccount(command: PayeeAccountCommand, state: PayeeAccountState): PayeeAccountEvent[] {
  switch (command.type) {
    case 'CreditProceeds': {
      const { payee, creditId, currency, amount } = command.data;
      if (state.credits[creditId] || amount <= 0) return [];
      return [{ type: 'PayeeProceedsCredited', data: { kind: payee.kind, payeeId: payee.id, creditId, currency, amount } }];
    }
    case 'SetPayoutAccount': {
      const { payee, payoutAccount, changedBy, now, holdMs } = command.data;
      if (payoutAccount === state.payoutAccount) return [];
      const proposed = new Date(Date.parse(now) + holdMs).toISOString();
      // A later change extends the hold, never shortens it.
      const holdUntil = state.holdUntil !== undefined && Date.parse(state.holdUntil) > Date.parse(proposed) ? state.holdUntil : proposed;
      return [
        {
          type: 'PayeePayoutAccountChanged',
          data: { kind: payee.kind, payeeId: payee.id, payoutAccount, previousPayoutAccount: state.payoutAccount, changedBy, changedAt: now, holdUntil },
        },
      ];
    }
    case 'RequestPayout':
      return requestPayout(command.data, state);
    case 'RecordPayoutSent': {
      const payout = payoutAwaiting(state, command.data.payoutId, 'sent');
      if (!payout) return [];
      const { kind, id } = state.payee!;
      return [
        {
          type: 'PayeePayoutSent',
          data: { kind, payeeId: id, payoutId: payout.payoutId, currency: payout.currency, net: payout.net, gateway: command.data.gateway, gatewayReference: command.data.gatewayReference },
        },
      ];
    }
    case 'RecordPayoutFailed': {
      const payout = payoutAwaiting(state, command.data.payoutId, 'failed');
      if (!payout) return [];
      const { kind, id } = state.payee!;
      const { payoutId, currency, amount, fee, net } = payout;
      return [{ type: 'PayeePayoutFailed', data: { kind, payeeId: id, payoutId, currency, amount, fee, net, code: command.data.code, reason: command.data.reason } }];
    }
    default: {
      const unhandled: never = command;
      throw new Error(`unhandled payee account command ${JSON.stringify(unhandled)}`);
    }
  }
}

function requestPayout(data: Extract<PayeeAccountCommand, { type: 'RequestPayout' }>['data'], state: PayeeAccountState): PayeePayoutRequested[] {
  const { payee, payoutId, currency, amount, instant, requestedBy, now } = data;
  if (state.payouts[payoutId]) return [];
  const destination = data.terms ? data.terms.destination : state.payoutAccount;
  refuseWhileHeld(now, data.terms ? data.terms.heldUntil : state.holdUntil, 'the');
  // Without an account the gateway would pay the platform's default one: refused, nothing taken.
  if (destination === null) throw new TesseraError('PAYOUT_ACCOUNT_REQUIRED', 'no payout account is registered for this payee');
  const terms = payoutTerms({
    amount,
    instant,
    payable: payeeBalanceOf(state, currency).payable,
    paidOnDay: paidOnDay(state, currency),
    now,
  });
  return [{ type: 'PayeePayoutRequested', data: { kind: payee.kind, payeeId: payee.id, payoutId, currency, amount, ...terms, requestedBy, destination } }];
}

export const payeeAccountDecider: Decider<PayeeAccountState, PayeeAccountCommand, PayeeAccountEvent> = {
  initialState: initialPayeeAccountState,
  evolve: evolvePayeeAccount,
  decide: decidePayeeAccount,
  isEvent: isPayeeAccountEvent,
};
