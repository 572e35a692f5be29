import { TesseraError } from '../errors.js';
import { percentOf } from './money.js';

/**
 * The payout rules every payee meets (seed 003 #12), venues, resale sellers and royalty holders
 * alike: at least $100, at most what is payable and $50,000 a UTC day, standard (free, 1-2
 * business days) or instant (1% fee half-up, taken out of the amount so that all that is payable
 * can still be paid out).
 */
export const PAYOUT_MINIMUM = 10_000;
export const PAYOUT_DAILY_LIMIT = 5_000_000;
export const INSTANT_PAYOUT_FEE_BPS = 100;

export type PayoutType = 'standard' | 'instant';

export interface PayoutTerms {
  readonly type: PayoutType;
  readonly feeBps: number;
  readonly fee: number;
  readonly net: number;
  /** The UTC day the payout counts against the daily limit. */
  readonly day: string;
  readonly estimatedArrival: string;
}

/** The terms of a payout of `amount`, or the refusal: PAYOUT_BELOW_MINIMUM, INSUFFICIENT_FUNDS, PAYOUT_LIMIT_EXCEEDED. */
export function payoutTerms(input: { amount: number; instant: boolean; payable: number; paidOnDay: (day: string) => number; now: string }): PayoutTerms {
  const { amount, instant, payable, now } = input;
  if (!Number.isSafeInteger(amount) || amount < PAYOUT_MINIMUM) {
    throw new TesseraError('PAYOUT_BELOW_MINIMUM', `a payout must be at least ${PAYOUT_MINIMUM} cents`, { expose: { minimum: PAYOUT_MINIMUM } });
  }
  if (amount > payable) {
    throw new TesseraError('INSUFFICIENT_FUNDS', `payout of ${amount} exceeds the ${payable} payable`, { expose: { payable } });
  }
  const day = now.slice(0, 10);
  const today = input.paidOnDay(day);
  if (today + amount > PAYOUT_DAILY_LIMIT) {
    const remaining = PAYOUT_DAILY_LIMIT - today;
    throw new TesseraError('PAYOUT_LIMIT_EXCEEDED', `payouts are limited to ${PAYOUT_DAILY_LIMIT} cents a day; ${remaining} remain today`, {
      expose: { dailyLimit: PAYOUT_DAILY_LIMIT, remainingToday: remaining },
    });
  }
  const feeBps = instant ? INSTANT_PAYOUT_FEE_BPS : 0;
  const fee = percentOf(amount, feeBps);
  return {
    type: instant ? 'instant' : 'standard',
    feeBps,
    fee,
    net: amount - fee,
    day,
    estimatedArrival: instant ? '30 minutes' : '1-2 business days',
  };
}

/** Payouts wait until `heldUntil` after a change of payout account (issue 17). */
export function refuseWhileHeld(now: string, heldUntil: string | undefined, whose: string): void {
  if (heldUntil !== undefined && Date.parse(now) < Date.parse(heldUntil)) {
    throw new TesseraError('PAYOUT_ON_HOLD', `${whose} payout account changed recently: payouts are held until ${heldUntil}`, {
      expose: { holdUntil: heldUntil },
    });
  }
}

/** One payout as an account's state keeps it, whoever the payee. */
export interface PayoutRecord {
  readonly payoutId: string;
  readonly currency: string;
  readonly amount: number;
  readonly fee: number;
  readonly net: number;
  readonly type: PayoutType;
  readonly day: string;
  readonly status: 'requested' | 'sent' | 'failed';
  readonly gatewayReference?: string;
}

/**
 * An account's payouts and what each UTC day's count against the daily limit (per currency): the
 * part of a venue's and a payee's state the payout rules read, kept by the same steps for both.
 */
export interface PayoutBook<P extends PayoutRecord> {
  readonly dailyPayouts: Readonly<Record<string, number>>;
  readonly payouts: Readonly<Record<string, P>>;
}

const dayKey = (currency: string, day: string) => `${currency}:${day}`;

/** What was paid out in `currency` on a day, for payoutTerms' daily limit. */
export const paidOnDay =
  <P extends PayoutRecord>(book: PayoutBook<P>, currency: string) =>
  (day: string): number =>
    book.dailyPayouts[dayKey(currency, day)] ?? 0;

/** A payout requested: it counts against its day from now on. */
export function bookPayoutRequested<P extends PayoutRecord>(book: PayoutBook<P>, payout: P): PayoutBook<P> {
  const key = dayKey(payout.currency, payout.day);
  return {
    dailyPayouts: { ...book.dailyPayouts, [key]: (book.dailyPayouts[key] ?? 0) + payout.amount },
    payouts: { ...book.payouts, [payout.payoutId]: payout },
  };
}

export function bookPayoutSent<P extends PayoutRecord>(book: PayoutBook<P>, payout: P, gatewayReference: string): PayoutBook<P> {
  return { dailyPayouts: book.dailyPayouts, payouts: { ...book.payouts, [payout.payoutId]: { ...payout, status: 'sent', gatewayReference } } };
}

/** A payout the gateway refused: it no longer counts against its day. */
export function bookPayoutFailed<P extends PayoutRecord>(book: PayoutBook<P>, payout: P): PayoutBook<P> {
  const key = dayKey(payout.currency, payout.day);
  return {
    dailyPayouts: { ...book.dailyPayouts, [key]: (book.dailyPayouts[key] ?? 0) - payout.amount },
    payouts: { ...book.payouts, [payout.payoutId]: { ...payout, status: 'failed' } },
  };
}

/**
 * The payout an outcome is recorded for, or undefined when it already has that outcome (a
 * repeat: nothing to record). INVALID_STATE_TRANSITION when it is unknown or ended otherwise.
 */
export function payoutAwaiting<P extends PayoutRecord>(book: PayoutBook<P>, payoutId: string, outcome: 'sent' | 'failed'): P | undefined {
  const payout = book.payouts[payoutId];
  if (!payout) throw new TesseraError('INVALID_STATE_TRANSITION', `no payout ${payoutId}`);
  if (payout.status === outcome) return undefined;
  if (payout.status !== 'requested') throw new TesseraError('INVALID_STATE_TRANSITION', `payout ${payout.payoutId} is ${payout.status}`);
  return payout;
}
