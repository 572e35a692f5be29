/**
 * The rate-limit port: fixed-window counters. A window opens at a bucket's first hit and lasts
 * `windowMs`; every hit in it counts, and the request that makes the count exceed `max` is
 * refused (seed 003: "Global: 100 req/min, Per user: 60 req/min, Per endpoint: 10-20 req/min").
 *
 * Adapters: memory-rate-limit-store.ts (one process) and redis-rate-limit-store.ts (shared by
 * every instance). Both pass test/api/rate-limit/rate-limit-store.contract.ts.
 */
export interface RateLimitBucket {
  readonly key: string;
  readonly max: number;
  readonly windowMs: number;
}

export interface BucketCount {
  /** Hits in the current window, this one included. */
  readonly count: number;
  /** Milliseconds until the window closes and the count starts again. */
  readonly resetInMs: number;
}

export interface RateLimitStore {
  readonly kind: 'memory' | 'redis';
  /** Counts one hit against each bucket and answers their counts, in the order given. */
  hit(buckets: readonly RateLimitBucket[]): Promise<BucketCount[]>;
}
