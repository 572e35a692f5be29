import type { Config } from '../../config.js';
import type { Logger } from '../../logger.js';
import type { BucketCount, RateLimitBucket, RateLimitStore } from './rate-limit-store.js';

/**
 * The three levels of seed 003's limits, each a fixed window of RATE_LIMIT_WINDOW_MS:
 * - global: per client address, every route (RATE_LIMIT_GLOBAL_MAX, default 100/min);
 * - user: per authenticated user across routes (RATE_LIMIT_USER_MAX, default 60/min);
 * - route: per caller on one route (the route's own limit, or RATE_LIMIT_ROUTE_MAX, default
 *   20/min, on command routes).
 * A request counts against every bucket it falls in and is refused if any is over its max.
 */
export type LimitLevel = 'global' | 'user' | 'route';

export interface LimitedCall {
  readonly ip: string;
  /** `<tenant>:<user>` for a user, `service:<name>` for an internal caller; none when anonymous. */
  readonly caller?: string;
  /** Whether the global (per address) bucket applies; internal service calls skip it. */
  readonly perAddress: boolean;
  readonly route?: { readonly id: string; readonly max: number };
}

export interface RateLimitVerdict {
  /** The bucket closest to its limit (the one to report in x-ratelimit-* headers). */
  readonly limit: number;
  readonly remaining: number;
  readonly resetInMs: number;
  /** Set when the call is over a limit: the level whose window closes last. */
  readonly refusedBy?: LimitLevel;
}

export interface RateLimiter {
  /** Counts the call against its buckets; undefined when none applies or the store is down. */
  check(call: LimitedCall): Promise<RateLimitVerdict | undefined>;
}

export function createRateLimiter(
  store: RateLimitStore,
  config: Config,
  logger: Logger,
  onRefused: (level: LimitLevel) => void = () => undefined,
): RateLimiter {
  const windowMs = config.RATE_LIMIT_WINDOW_MS;
  let quietUntil = 0;
  const bucketsOf = (call: LimitedCall) => {
    const buckets: (RateLimitBucket & { level: LimitLevel })[] = [];
    if (call.perAddress) buckets.push({ level: 'global', key: `ip:${call.ip}`, max: config.RATE_LIMIT_GLOBAL_MAX, windowMs });
    if (call.caller && !call.caller.startsWith('service:')) {
      buckets.push({ level: 'user', key: `user:${call.caller}`, max: config.RATE_LIMIT_USER_MAX, windowMs });
    }
    if (call.route) {
      const who = call.caller ?? `ip:${call.ip}`;
      buckets.push({ level: 'route', key: `route:${call.route.id}:${who}`, max: call.route.max, windowMs });
    }
    return buckets;
  };

  return {
    async check(call) {
      const buckets = bucketsOf(call);
      if (buckets.length === 0) return undefined;
      let counts: BucketCount[];
      try {
        counts = await store.hit(buckets);
      } catch (error) {
        // Limits protect capacity; losing them for a while is better than refusing every request
        // (seed 003: without Redis the service "degrades but runs"). Idempotency fails closed.
        if (Date.now() >= quietUntil) logger.warn({ err: error }, 'rate-limit store unavailable; letting requests through');
        quietUntil = Date.now() + 10_000;
        return undefined;
      }
      const verdict = verdictOf(buckets, counts);
      if (verdict.refusedBy) onRefused(verdict.refusedBy);
      return verdict;
    },
  };
}

function verdictOf(buckets: readonly (RateLimitBucket & { level: LimitLevel })[], counts: readonly BucketCount[]): RateLimitVerdict {
  const states = buckets.map((bucket, index) => ({ level: bucket.level, limit: bucket.max, ...counts[index]! }));
  // Over several limits, the client must wait for the window that closes last.
  const over = states.filter((state) => state.count > state.limit).sort((a, b) => b.resetInMs - a.resetInMs)[0];
  if (over) return { limit: over.limit, remaining: 0, resetInMs: over.resetInMs, refusedBy: over.level };
  const tightest = states.reduce((a, b) => (b.limit - b.count < a.limit - a.count ? b : a));
  return { limit: tightest.limit, remaining: tightest.limit - tightest.count, resetInMs: tightest.resetInMs };
}
