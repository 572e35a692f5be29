/**
 * Money is an integer count of a currency's minor units (cents for USD), never a float.
 * Percentages are integer basis points (1/100 of a percent) or, where a rate needs finer steps
 * (Minnesota's 6.875% sales tax is 687.5 bps), parts per million. Both round half-up, as the
 * seed's example requires: 7% of 1050 = 73.5 -> 74.
 */

/** ISO 4217 exponents: how many minor units a major unit has (10^exponent). */
export const CURRENCY_EXPONENTS = {
  USD: 2,
  EUR: 2,
  GBP: 2,
  CAD: 2,
  AUD: 2,
  JPY: 0,
  KRW: 0,
  KWD: 3,
  BHD: 3,
} as const satisfies Record<string, number>;

export type Currency = keyof typeof CURRENCY_EXPONENTS;

export const isCurrency = (code: string): code is Currency => Object.hasOwn(CURRENCY_EXPONENTS, code);

export const exponentOf = (currency: Currency): number => CURRENCY_EXPONENTS[currency];

/** True for an amount the ledger can hold: a non-negative safe integer of minor units. */
export const isMinorUnits = (amount: number): boolean => Number.isSafeInteger(amount) && amount >= 0;

export function assertMinorUnits(amount: number, what = 'amount'): number {
  if (!isMinorUnits(amount)) throw new RangeError(`${what} must be a non-negative integer of minor units, got ${amount}`);
  return amount;
}

/** Formats minor units as a decimal string of the major unit, e.g. 11765 USD -> "117.65". */
export function formatMinor(amount: number, currency: Currency): string {
  const exponent = exponentOf(currency);
  if (exponent === 0) return String(amount);
  const digits = String(Math.abs(amount)).padStart(exponent + 1, '0');
  return `${amount < 0 ? '-' : ''}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

export const BPS_SCALE = 10_000;
export const PPM_SCALE = 1_000_000;

/**
 * amount * rate / scale, rounded half-up. BigInt keeps the product exact for any safe amount,
 * where `amount * rate` in floating point could lose the last cent above 2^53.
 */
export function applyRate(amount: number, rate: number, scale: number): number {
  assertMinorUnits(amount);
  if (!Number.isSafeInteger(rate) || rate < 0) throw new RangeError(`rate must be a non-negative integer, got ${rate}`);
  const product = BigInt(amount) * BigInt(rate);
  const big = BigInt(scale);
  const rounded = (product * 2n + big) / (big * 2n);
  return Number(rounded);
}

/** `bps` basis points of `amount`, half-up: percentOf(1050, 700) = 74. */
export const percentOf = (amount: number, bps: number): number => applyRate(amount, bps, BPS_SCALE);

/** `ppm` parts per million of `amount`, half-up: partsPerMillionOf(10000, 22_500) = 225. */
export const partsPerMillionOf = (amount: number, ppm: number): number => applyRate(amount, ppm, PPM_SCALE);

export const sumMinor = (amounts: readonly number[]): number => amounts.reduce((total, amount) => total + amount, 0);

/**
 * Splits `total` in proportion to `weights` so that the parts always sum to `total`: each part
 * gets the floor of its exact share, and the cents left over go one each to the largest
 * remainders (ties to the earlier weight), so the result is deterministic. When every weight is
 * zero the split is even. A part never exceeds its weight when total <= sum(weights).
 */
export function allocate(total: number, weights: readonly number[]): number[] {
  assertMinorUnits(total, 'total');
  if (weights.length === 0) {
    if (total === 0) return [];
    throw new RangeError('cannot allocate a non-zero total over no parts');
  }
  for (const weight of weights) assertMinorUnits(weight, 'weight');
  const effective = weights.every((w) => w === 0) ? weights.map(() => 1) : weights;
  const sum = BigInt(sumMinor(effective));
  const big = BigInt(total);
  const parts = effective.map((w) => (big * BigInt(w)) / sum);
  const remainders = effective.map((w, index) => ({ index, remainder: (big * BigInt(w)) % sum }));
  let left = Number(big - parts.reduce((a, b) => a + b, 0n));
  remainders.sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  for (const { index } of remainders) {
    if (left === 0) break;
    parts[index] = parts[index]! + 1n;
    left--;
  }
  return parts.map(Number);
}
