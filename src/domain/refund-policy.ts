import { BPS_SCALE } from './money.js';

/**
 * A refund policy is a list of tiers: from `hoursBefore` hours before the event starts (or
 * earlier), a buyer may get back `refundBps` of what they paid. The tier with the largest
 * `hoursBefore` that the time left still reaches applies; past every tier, nothing.
 */
export interface RefundTier {
  readonly hoursBefore: number;
  readonly refundBps: number;
}

/** The platform's default (issue 7): in full until 7 days before, half until 48 hours, none after. */
export const DEFAULT_REFUND_TIERS: readonly RefundTier[] = [
  { hoursBefore: 168, refundBps: BPS_SCALE },
  { hoursBefore: 48, refundBps: 5_000 },
];

const HOUR_MS = 3_600_000;

/** The share (basis points) of the payment a buyer may have back at `now`. */
export function refundShareAt(tiers: readonly RefundTier[], startsAt: Date, now: Date): number {
  const hoursLeft = (startsAt.getTime() - now.getTime()) / HOUR_MS;
  const reached = tiers.filter((tier) => hoursLeft >= tier.hoursBefore).sort((a, b) => b.hoursBefore - a.hoursBefore);
  return reached[0]?.refundBps ?? 0;
}
