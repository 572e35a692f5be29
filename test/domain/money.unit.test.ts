import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocate, applyRate, formatMinor, partsPerMillionOf, percentOf, sumMinor } from '../../src/domain/money.js';

describe('money', () => {
  it('rounds basis points half-up as the seed does: 7% of 1050 is 74', () => {
    expect(percentOf(1050, 700)).toBe(74);
    expect(percentOf(10_000, 790)).toBe(790);
    expect(percentOf(1, 5_000)).toBe(1);
    expect(percentOf(1, 4_999)).toBe(0);
  });

  it('computes parts per million for rates finer than a basis point', () => {
    expect(partsPerMillionOf(10_000, 22_500)).toBe(225);
    expect(partsPerMillionOf(10_000, 68_750)).toBe(688);
  });

  it('stays exact for amounts beyond 2^53 / 10000', () => {
    expect(applyRate(Number.MAX_SAFE_INTEGER, 10_000, 10_000)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('refuses floats and negative amounts', () => {
    expect(() => percentOf(10.5, 700)).toThrow(RangeError);
    expect(() => percentOf(-1, 700)).toThrow(RangeError);
    expect(() => percentOf(100, 7.5)).toThrow(RangeError);
  });

  it('formats minor units with the currency exponent', () => {
    expect(formatMinor(11_765, 'USD')).toBe('117.65');
    expect(formatMinor(5, 'USD')).toBe('0.05');
    expect(formatMinor(500, 'JPY')).toBe('500');
    expect(formatMinor(1_234, 'KWD')).toBe('1.234');
  });

  it('rounds half-up exactly like the rational result (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 12 }), fc.integer({ min: 0, max: 100_000 }), (amount, bps) => {
        const exact = (BigInt(amount) * BigInt(bps) * 2n + 10_000n) / 20_000n;
        expect(percentOf(amount, bps)).toBe(Number(exact));
        const doubled = BigInt(amount) * BigInt(bps) * 2n;
        const result = BigInt(percentOf(amount, bps));
        // Within half a unit of the exact value, and ties go up.
        expect(doubled - result * 20_000n).toBeLessThan(10_000n);
        expect(doubled - result * 20_000n).toBeGreaterThanOrEqual(-10_000n);
      }),
    );
  });

  it('allocates every cent: parts always sum to the whole (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 9 }), fc.array(fc.integer({ min: 0, max: 10 ** 7 }), { minLength: 1, maxLength: 12 }), (total, weights) => {
        const parts = allocate(total, weights);
        expect(parts).toHaveLength(weights.length);
        expect(sumMinor(parts)).toBe(total);
        for (const part of parts) expect(Number.isInteger(part) && part >= 0).toBe(true);
      }),
    );
  });

  it('never gives a part more than its weight when the total fits (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10 ** 6 }), { minLength: 1, maxLength: 10 }), fc.double({ min: 0, max: 1, noNaN: true }), (weights, share) => {
        const total = Math.floor(sumMinor(weights) * share);
        allocate(total, weights).forEach((part, i) => expect(part).toBeLessThanOrEqual(weights[i]!));
      }),
    );
  });

  it('splits leftover cents to the largest remainders, earlier first on ties', () => {
    expect(allocate(100, [1, 1, 1])).toEqual([34, 33, 33]);
    expect(allocate(5, [0, 0])).toEqual([3, 2]);
    expect(allocate(10, [3, 7])).toEqual([3, 7]);
  });
});
