import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { priceInfo, splitResale } from '../../src/domain/resale.js';

const defaults = { maxPriceBps: 25_000, minPriceBps: 5_000, venueRoyaltyBps: 1_000, platformFeeBps: 500, artistRoyaltyBps: 250 };

describe('Resale price caps', () => {
  it("answers the seed's priceInfo for a $150 listing of a $100 ticket", () => {
    expect(priceInfo(15_000, 10_000, defaults)).toEqual({ valid: true, originalPrice: 10_000, maxAllowedPrice: 25_000, minAllowedPrice: 5_000 });
  });

  it('accepts the caps themselves and refuses a cent beyond either', () => {
    expect(priceInfo(25_000, 10_000, defaults).valid).toBe(true);
    expect(priceInfo(5_000, 10_000, defaults).valid).toBe(true);
    expect(priceInfo(25_001, 10_000, defaults).valid).toBe(false);
    expect(priceInfo(4_999, 10_000, defaults).valid).toBe(false);
  });
});

describe('Resale split', () => {
  it('gives the venue 10% and the platform 5% of $150, the seller the rest, and no artist share without an artist', () => {
    expect(splitResale(15_000, defaults)).toMatchObject({ sellerPayout: 12_750, venueRoyalty: 1_500, artistRoyalty: 0, platformFee: 750 });
  });

  it("pays the venue's artist when one is named", () => {
    expect(splitResale(15_000, { ...defaults, artistId: 'artist-1' })).toMatchObject({
      sellerPayout: 12_375,
      venueRoyalty: 1_500,
      artistRoyalty: 375,
      platformFee: 750,
      artistId: 'artist-1',
    });
  });

  it('allocates every cent: the parts sum to the price for any price and rates', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000_000 }),
        fc.integer({ min: 0, max: 4_000 }),
        fc.integer({ min: 0, max: 3_000 }),
        fc.integer({ min: 0, max: 3_000 }),
        (price, venueRoyaltyBps, artistRoyaltyBps, platformFeeBps) => {
          const split = splitResale(price, { ...defaults, venueRoyaltyBps, artistRoyaltyBps, platformFeeBps, artistId: 'a' });
          const parts = [split.sellerPayout, split.venueRoyalty, split.artistRoyalty, split.platformFee];
          expect(parts.every((p) => Number.isSafeInteger(p) && p >= 0)).toBe(true);
          expect(parts.reduce((a, b) => a + b, 0)).toBe(price);
        },
      ),
    );
  });

  it('refuses rates that take more than the whole price', () => {
    expect(() => splitResale(100, { ...defaults, venueRoyaltyBps: 6_000, platformFeeBps: 5_000 })).toThrow(RangeError);
  });
});
