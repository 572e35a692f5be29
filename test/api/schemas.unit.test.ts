import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cents, idempotencyKey, positiveCents } from '../../src/api/schemas.js';

describe('shared schemas', () => {
  it('accepts every safe non-negative integer as cents, unchanged', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), (amount) => {
        expect(cents.parse(amount)).toBe(amount);
      }),
    );
  });

  it('refuses every negative amount', () => {
    fc.assert(fc.property(fc.integer({ max: -1 }), (amount) => !cents.safeParse(amount).success));
  });

  it('refuses every amount with a fraction, never rounding it', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e12, max: 1e12, noNaN: true }).filter((value) => !Number.isInteger(value)),
        (amount) => !cents.safeParse(amount).success,
      ),
    );
  });

  it('refuses amounts past 2^53 - 1, where integers stop being exact', () => {
    expect(cents.safeParse(Number.MAX_SAFE_INTEGER).success).toBe(true);
    expect(cents.safeParse(Number.MAX_SAFE_INTEGER + 1).success).toBe(false);
  });

  it('refuses numbers written as strings and non-numbers', () => {
    for (const value of ['100', '', null, true, [100], { amount: 100 }, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(cents.safeParse(value).success).toBe(false);
    }
  });

  it('says why in words a client can show', () => {
    expect(cents.safeParse(10.5).error?.issues[0]?.message).toMatch(/whole number of cents/);
    expect(cents.safeParse(-5).error?.issues[0]?.message).toBe('must not be negative');
    expect(positiveCents.safeParse(0).error?.issues[0]?.message).toBe('must be more than zero');
  });

  it('takes any UUID version as an Idempotency-Key but not the nil UUID', () => {
    expect(idempotencyKey.safeParse('6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b').success).toBe(true);
    expect(idempotencyKey.safeParse('0190f6a4-6b7e-7c3e-9a3d-1f2e3d4c5b6a').success).toBe(true);
    expect(idempotencyKey.safeParse('00000000-0000-0000-0000-000000000000').success).toBe(false);
    expect(idempotencyKey.safeParse('6ec0bd7f11c043da975e2a8ad9ebae0b').success).toBe(false);
  });
});
