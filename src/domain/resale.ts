import { allocate, BPS_SCALE, percentOf } from './money.js';

/**
 * Resale rules (seed 003, "Marketplace endpoints"): a listing's price must lie between a minimum
 * and a maximum share of the ticket's face value, and a resale's price splits into the seller's
 * payout, the venue's royalty, the artist's royalty (when the venue names an artist) and the
 * platform's fee. Rates are basis points of the price; the split allocates every cent (largest
 * remainder), so the parts always sum to the price exactly.
 */
export interface ResaleRules {
  /** Highest price as a share of face value: 25_000 bps = 250% (a 150% markup). */
  readonly maxPriceBps: number;
  /** Lowest price as a share of face value: 5_000 bps = 50%. */
  readonly minPriceBps: number;
  readonly venueRoyaltyBps: number;
  readonly platformFeeBps: number;
  /** Paid only when `artistId` is set. */
  readonly artistRoyaltyBps: number;
  readonly artistId?: string;
}

export interface PriceInfo {
  readonly valid: boolean;
  readonly originalPrice: number;
  readonly maxAllowedPrice: number;
  readonly minAllowedPrice: number;
}

export function priceInfo(price: number, faceValue: number, rules: Pick<ResaleRules, 'maxPriceBps' | 'minPriceBps'>): PriceInfo {
  const maxAllowedPrice = percentOf(faceValue, rules.maxPriceBps);
  const minAllowedPrice = percentOf(faceValue, rules.minPriceBps);
  return { valid: price >= minAllowedPrice && price <= maxAllowedPrice, originalPrice: faceValue, maxAllowedPrice, minAllowedPrice };
}

export interface RoyaltySplit {
  readonly sellerPayout: number;
  readonly venueRoyalty: number;
  readonly artistRoyalty: number;
  readonly platformFee: number;
  readonly artistId?: string;
  /** The rates used, kept with the escrow so a replay needs no current config. */
  readonly rates: { readonly venueRoyaltyBps: number; readonly artistRoyaltyBps: number; readonly platformFeeBps: number };
}

export function splitResale(price: number, rules: ResaleRules): RoyaltySplit {
  const artistRoyaltyBps = rules.artistId === undefined ? 0 : rules.artistRoyaltyBps;
  if (rules.venueRoyaltyBps + artistRoyaltyBps + rules.platformFeeBps > BPS_SCALE) {
    throw new RangeError('royalties and fee take more than the whole price');
  }
  // Largest-remainder allocation over the rates and the seller's rest: every part is its exact
  // share rounded down, the leftover cents go to the largest remainders, and the parts sum to the price.
  const sellerBps = BPS_SCALE - rules.venueRoyaltyBps - artistRoyaltyBps - rules.platformFeeBps;
  const [venueRoyalty, artistRoyalty, platformFee, sellerPayout] = allocate(price, [
    rules.venueRoyaltyBps,
    artistRoyaltyBps,
    rules.platformFeeBps,
    sellerBps,
  ]) as [number, number, number, number];
  return {
    sellerPayout,
    venueRoyalty,
    artistRoyalty,
    platformFee,
    ...(rules.artistId === undefined ? {} : { artistId: rules.artistId }),
    rates: { venueRoyaltyBps: rules.venueRoyaltyBps, artistRoyaltyBps, platformFeeBps: rules.platformFeeBps },
  };
}
