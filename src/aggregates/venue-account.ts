import { percentOf } from '../domain/money.js';
import { bookPayoutFailed, bookPayoutRequested, bookPayoutSent, paidOnDay, payoutAwaiting, payoutTerms, refuseWhileHeld, type PayoutRecord } from '../domain/payouts.js';
import { TesseraError } from '../errors.js';
import {
  isVenueAccountEvent,
  type SaleSource,
  type VenueAccountEvent,
  type VenuePayoutRequested,
} from '../events/venue-account.js';
import type { Decider } from './decider.js';

/**
 * A venue's account (seed 003 "Venue endpoints"): settled sales make money available, less a
 * reserve held for a while against refunds and chargebacks; payouts take from available.
 * Payouts (seed 003 #12): at least $100, at most what is available (payable) and $50,000 a UTC
 * day, standard (free, 1-2 business days) or instant (1% fee, about 30 minutes); none while a
 * change of the venue's payout account holds them (PAYOUT_ON_HOLD). A payout records the account
 * it was decided for, so a later change of account cannot divert it.
 *
 * Invariant: per currency, available >= 0; the sum of payouts requested on a day, less those
 * that failed, is at most the daily limit. Both hold under concurrency because every payout is
 * decided against the stream revision it read.
 */

export type { PayoutRecord };

export interface CurrencyBalance {
  readonly available: number;
  readonly reserved: number;
  /** Payouts requested and not yet paid by the gateway. */
  readonly inTransit: number;
  readonly paidOut: number;
}

/** What the account knows of one sale: settled yet, what is left of its reserve, what was taken back. */
export interface SaleRecord {
  readonly settled: boolean;
  readonly reserveLeft: number;
  readonly takebacks: Readonly<Record<string, { readonly amount: number; readonly afterSettlement: boolean; readonly returned: boolean }>>;
}

export interface VenueAccountState {
  readonly venueId?: string;
  readonly sales: Readonly<Record<string, SaleRecord>>;
  readonly balances: Readonly<Record<string, CurrencyBalance>>;
  /** Requested (not failed) payout amounts by `<currency>:<day>`. */
  readonly dailyPayouts: Readonly<Record<string, number>>;
  readonly payouts: Readonly<Record<string, PayoutRecord>>;
}

export type VenueAccountCommand =
  | {
      readonly type: 'SettleSale';
      readonly data: {
        readonly venueId: string;
        readonly saleId: string;
        readonly source: SaleSource;
        readonly currency: string;
        /** The venue's proceeds as sold; what was taken back before settlement comes off. */
        readonly amount: number;
        readonly reserveBps: number;
        readonly reserveReleaseAt: string;
      };
    }
  | { readonly type: 'ReleaseReserve'; readonly data: { readonly venueId: string; readonly saleId: string; readonly currency: string } }
  | {
      readonly type: 'TakeBackProceeds';
      readonly data: { readonly venueId: string; readonly saleId: string; readonly takebackId: string; readonly currency: string; readonly amount: number };
    }
  | { readonly type: 'ReturnProceeds'; readonly data: { readonly venueId: string; readonly saleId: string; readonly takebackId: string; readonly currency: string } }
  | {
      readonly type: 'RequestPayout';
      readonly data: {
        readonly venueId: string;
        readonly payoutId: string;
        readonly currency: string;
        readonly amount: number;
        readonly instant: boolean;
        readonly requestedBy: string;
        readonly now: string;
        /** The venue's payout account, read from its profile's stream right before: where this payout goes. */
        readonly destination?: string;
        /** Until when the venue's payouts wait after a change of its payout account (from the same read). */
        readonly payoutsHeldUntil?: string;
      };
    }
  | { readonly type: 'RecordPayoutSent'; readonly data: { readonly payoutId: string; readonly gateway: string; readonly gatewayReference: string } }
  | { readonly type: 'RecordPayoutFailed'; readonly data: { readonly payoutId: string; readonly code: string; readonly reason: string } };

const EMPTY: CurrencyBalance = { available: 0, reserved: 0, inTransit: 0, paidOut: 0 };

export const initialVenueAccountState = (): VenueAccountState => ({ sales: {}, balances: {}, dailyPayouts: {}, payouts: {} });

const NEW_SALE: SaleRecord = { settled: false, reserveLeft: 0, takebacks: {} };

const saleOf = (state: VenueAccountState, saleId: string): SaleRecord => state.sales[saleId] ?? NEW_SALE;

function withSale(state: VenueAccountState, saleId: string, change: (sale: SaleRecord) => SaleRecord): VenueAccountState {
  return { ...state, sales: { ...state.sales, [saleId]: change(saleOf(state, saleId)) } };
}

/** Taken back before settlement and not returned: what settlement moves less of. */
const takenBeforeSettlement = (sale: SaleRecord): number =>
  Object.values(sale.takebacks).reduce((sum, t) => sum + (!t.afterSettlement && !t.returned ? t.amount : 0), 0);

export const balanceOf = (state: VenueAccountState, currency: string): CurrencyBalance => state.balances[currency] ?? EMPTY;


function adjust(state: VenueAccountState, venueId: string, currency: string, change: (b: CurrencyBalance) => CurrencyBalance): VenueAccountState {
  return { ...state, venueId, balances: { ...state.balances, [currency]: change(balanceOf(state, currency)) } };
}

export function evolveVenueAccount(state: VenueAccountState, event: VenueAccountEvent): VenueAccountState {
  switch (event.type) {
    case 'VenueSaleSettled': {
      const { venueId, saleId, currency, available, reserve } = event.data;
      const next = withSale(state, saleId, (sale) => ({ ...sale, settled: true, reserveLeft: reserve }));
      return adjust(next, venueId, currency, (b) => ({ ...b, available: b.available + available, reserved: b.reserved + reserve }));
    }
    case 'VenueReserveReleased': {
      const { venueId, saleId, currency, amount } = event.data;
      const next = withSale(state, saleId, (sale) => ({ ...sale, reserveLeft: sale.reserveLeft - amount }));
      return adjust(next, venueId, currency, (b) => ({ ...b, available: b.available + amount, reserved: b.reserved - amount }));
    }
    case 'VenueProceedsTakenBack': {
      const { venueId, saleId, takebackId, currency, amount, afterSettlement, fromReserve, fromAvailable } = event.data;
      const next = withSale(state, saleId, (sale) => ({
        ...sale,
        reserveLeft: sale.reserveLeft - fromReserve,
        takebacks: { ...sale.takebacks, [takebackId]: { amount, afterSettlement, returned: false } },
      }));
      return adjust(next, venueId, currency, (b) => ({ ...b, reserved: b.reserved - fromReserve, available: b.available - fromAvailable }));
    }
    case 'VenueProceedsReturned': {
      const { venueId, saleId, takebackId, currency, amount, afterSettlement } = event.data;
      const next = withSale(state, saleId, (sale) => ({
        ...sale,
        takebacks: { ...sale.takebacks, [takebackId]: { ...sale.takebacks[takebackId]!, returned: true } },
      }));
      return afterSettlement ? adjust(next, venueId, currency, (b) => ({ ...b, available: b.available + amount })) : { ...next, venueId };
    }
    case 'VenuePayoutRequested': {
      const { venueId, payoutId, currency, amount, fee, net, type, day } = event.data;
      const next = adjust(state, venueId, currency, (b) => ({ ...b, available: b.available - amount, inTransit: b.inTransit + net }));
      return { ...next, ...bookPayoutRequested(state, { payoutId, currency, amount, fee, net, type, day, status: 'requested' }) };
    }
    case 'VenuePayoutSent': {
      const payout = state.payouts[event.data.payoutId]!;
      const next = adjust(state, event.data.venueId, payout.currency, (b) => ({ ...b, inTransit: b.inTransit - payout.net, paidOut: b.paidOut + payout.net }));
      return { ...next, ...bookPayoutSent(state, payout, event.data.gatewayReference) };
    }
    case 'VenuePayoutFailed': {
      const payout = state.payouts[event.data.payoutId]!;
      const next = adjust(state, event.data.venueId, payout.currency, (b) => ({ ...b, available: b.available + payout.amount, inTransit: b.inTransit - payout.net }));
      return { ...next, ...bookPayoutFailed(state, payout) };
    }
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled venue account event ${JSON.stringify(unhandled)}`);
    }
  }
}

export function decideVenueAccount(command: VenueAccountCommand, state: VenueAccountState): VenueAccountEvent[] {
  switch (command.type) {
    case 'SettleSale': {
      const sale = saleOf(state, command.data.saleId);
      if (sale.settled) return [];
      // Settled even when nothing is left, so a refund refused later finds the sale settled.
      const amount = Math.max(command.data.amount - takenBeforeSettlement(sale), 0);
      const reserve = percentOf(amount, command.data.reserveBps);
      return [{ type: 'VenueSaleSettled', data: { ...command.data, amount, reserve, available: amount - reserve } }];
    }
    case 'ReleaseReserve': {
      const amount = saleOf(state, command.data.saleId).reserveLeft;
      if (amount <= 0) return [];
      return [{ type: 'VenueReserveReleased', data: { ...command.data, amount } }];
    }
    case 'TakeBackProceeds': {
      const sale = saleOf(state, command.data.saleId);
      if (sale.takebacks[command.data.takebackId] || command.data.amount <= 0) return [];
      const fromReserve = sale.settled ? Math.min(sale.reserveLeft, command.data.amount) : 0;
      const fromAvailable = sale.settled ? command.data.amount - fromReserve : 0;
      return [{ type: 'VenueProceedsTakenBack', data: { ...command.data, afterSettlement: sale.settled, fromReserve, fromAvailable } }];
    }
    case 'ReturnProceeds': {
      const sale = saleOf(state, command.data.saleId);
      const takeback = sale.takebacks[command.data.takebackId];
      if (!takeback) throw new TesseraError('INVALID_STATE_TRANSITION', `nothing taken back as ${command.data.takebackId}`, { retryable: true });
      if (takeback.returned) return [];
      return [{ type: 'VenueProceedsReturned', data: { ...command.data, amount: takeback.amount, afterSettlement: sale.settled } }];
    }
    case 'RequestPayout':
      return requestPayout(command.data, state);
    case 'RecordPayoutSent': {
      const payout = payoutAwaiting(state, command.data.payoutId, 'sent');
      if (!payout) return [];
      return [{ type: 'VenuePayoutSent', data: { venueId: state.venueId!, payoutId: payout.payoutId, currency: payout.currency, net: payout.net, gateway: command.data.gateway, gatewayReference: command.data.gatewayReference } }];
    }
    case 'RecordPayoutFailed': {
      const payout = payoutAwaiting(state, command.data.payoutId, 'failed');
      if (!payout) return [];
      const { payoutId, currency, amount, fee, net } = payout;
      return [{ type: 'VenuePayoutFailed', data: { venueId: state.venueId!, payoutId, currency, amount, fee, net, code: command.data.code, reason: command.data.reason } }];
    }
    default: {
      const unhandled: never = command;
      throw new Error(`unhandled venue account command ${JSON.stringify(unhandled)}`);
    }
  }
}

function requestPayout(data: Extract<VenueAccountCommand, { type: 'RequestPayout' }>['data'], state: VenueAccountState): VenuePayoutRequested[] {
  const { venueId, payoutId, currency, amount, instant, requestedBy, now, destination, payoutsHeldUntil } = data;
  if (state.payouts[payoutId]) return [];
  refuseWhileHeld(now, payoutsHeldUntil, "the venue's");
  const terms = payoutTerms({
    amount,
    instant,
    payable: balanceOf(state, currency).available,
    paidOnDay: paidOnDay(state, currency),
    now,
  });
  return [
    {
      type: 'VenuePayoutRequested',
      data: {
        venueId,
        payoutId,
        currency,
        amount,
        type: terms.type,
        feeBps: terms.feeBps,
        fee: terms.fee,
        net: terms.net,
        day: terms.day,
        requestedBy,
        estimatedArrival: terms.estimatedArrival,
        destination: destination ?? null,
      },
    },
  ];
}

export const venueAccountDecider: Decider<VenueAccountState, VenueAccountCommand, VenueAccountEvent> = {
  initialState: initialVenueAccountState,
  evolve: evolveVenueAccount,
  decide: decideVenueAccount,
  isEvent: isVenueAccountEvent,
};
