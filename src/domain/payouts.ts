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
