import { percentOf, sumMinor } from './money.js';

/**
 * Tessera's fee schedule, kept as data. A purchase records the schedule's version, the tier it
 * chose and why, so a replay years later needs no current configuration.
 */
export const FEE_SCHEDULE_VERSION = '2025-01';

export type VenueTier = 'starter' | 'pro' | 'enterprise';

export interface TierRule {
  readonly tier: VenueTier;
  readonly rateBps: number;
  /** Trailing-30-day volume in USD cents from which the tier applies (inclusive). */
  readonly fromVolume: number;
  /** Volume up to which it applies (inclusive); null for no upper bound. */
  readonly toVolume: number | null;
}

/**
 * Seed 003: Starter 8.2% under $10k, Pro 7.9% from $10k to $100k, Enterprise 7.5% above $100k.
 * At the exact boundaries the seed's words decide: $10,000.00 is not "under $10k", so Pro;
 * $100,000.00 is not "above $100k", so still Pro; $100,000.01 is Enterprise.
 */
export const VENUE_TIERS: readonly TierRule[] = [
  { tier: 'starter', rateBps: 820, fromVolume: 0, toVolume: 999_999 },
  { tier: 'pro', rateBps: 790, fromVolume: 1_000_000, toVolume: 10_000_000 },
  { tier: 'enterprise', rateBps: 750, fromVolume: 10_000_001, toVolume: null },
];

export function tierRule(tier: VenueTier): TierRule {
  const rule = VENUE_TIERS.find((r) => r.tier === tier);
  if (!rule) throw new RangeError(`unknown tier ${tier}`);
  return rule;
}

/** The tier a trailing-30-day volume (USD cents, net of refunds, never below 0) earns. */
export function tierForVolume(volume: number): TierRule {
  const v = Math.max(0, volume);
  const rule = VENUE_TIERS.find((r) => v >= r.fromVolume && (r.toVolume === null || v <= r.toVolume));
  return rule ?? VENUE_TIERS[0]!;
}

export type Chain = 'polygon' | 'solana';

export interface GasRule {
  readonly chain: Chain;
  /** What the buyer pays per minted ticket, in cents. */
  readonly chargePerTicket: number;
}

/**
 * Minting is charged per ticket. The seed's only charged figures are "50 cents" for its $100
 * example and 100 for two tickets, i.e. 50 cents a ticket; its per-chain network costs (5c on
 * Solana, half a cent on Polygon) are what the chain takes, below a cent and volatile, so the
 * buyer pays the flat per-ticket charge on either chain and the margin funds congestion spikes
 * and retries (booked to platform:gas). Polygon is the default, the seed's recommendation.
 */
export const GAS_SCHEDULE: Readonly<Record<Chain, GasRule>> = {
  polygon: { chain: 'polygon', chargePerTicket: 50 },
  solana: { chain: 'solana', chargePerTicket: 50 },
};

export const DEFAULT_CHAIN: Chain = 'polygon';

export const isChain = (value: string): value is Chain => Object.hasOwn(GAS_SCHEDULE, value);

export interface GasCharge {
  readonly chain: Chain;
  readonly perTicket: number;
  readonly ticketCount: number;
  readonly amount: number;
}

export function gasCharge(chain: Chain, ticketCount: number): GasCharge {
  const perTicket = GAS_SCHEDULE[chain].chargePerTicket;
  return { chain, perTicket, ticketCount, amount: perTicket * ticketCount };
}

/**
 * What the card network charges us for taking a payment (2.9% + 30c of the amount charged).
 * It is a platform cost, booked to the platform, never added to the buyer's total.
 */
export const CARD_PROCESSING = { rateBps: 290, fixed: 30 } as const;

export interface ProcessingCost {
  readonly rateBps: number;
  readonly fixed: number;
  readonly amount: number;
}

export function cardProcessingCost(charged: number): ProcessingCost {
  return { ...CARD_PROCESSING, amount: sumMinor([percentOf(charged, CARD_PROCESSING.rateBps), CARD_PROCESSING.fixed]) };
}

export interface PlatformFee {
  readonly scheduleVersion: string;
  readonly tier: VenueTier;
  readonly rateBps: number;
  /** Why this tier: the venue's trailing volume, or an override on its profile. */
  readonly tierSource: 'volume' | 'override';
  readonly trailingVolume: number;
  readonly amount: number;
}

export function platformFee(ticketPrice: number, trailingVolume: number, tierOverride?: VenueTier): PlatformFee {
  const rule = tierOverride ? tierRule(tierOverride) : tierForVolume(trailingVolume);
  return {
    scheduleVersion: FEE_SCHEDULE_VERSION,
    tier: rule.tier,
    rateBps: rule.rateBps,
    tierSource: tierOverride ? 'override' : 'volume',
    trailingVolume,
    amount: percentOf(ticketPrice, rule.rateBps),
  };
}
