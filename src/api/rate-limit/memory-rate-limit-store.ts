import type { BucketCount, RateLimitBucket, RateLimitStore } from './rate-limit-store.js';

interface Window {
  count: number;
  endsAt: number;
}

// Closed windows are swept at most this often, so memory follows the number of active clients.
const SWEEP_EVERY_MS = 10_000;

/** Counters in this process's memory, for the embedded and single-instance shapes. */
export function createMemoryRateLimitStore(now: () => number = Date.now): RateLimitStore {
  const windows = new Map<string, Window>();
  let nextSweep = now() + SWEEP_EVERY_MS;

  const sweep = (at: number) => {
    for (const [key, window] of windows) if (window.endsAt <= at) windows.delete(key);
    nextSweep = at + SWEEP_EVERY_MS;
  };

  const hitOne = (bucket: RateLimitBucket, at: number): BucketCount => {
    let window = windows.get(bucket.key);
    if (!window || window.endsAt <= at) {
      window = { count: 0, endsAt: at + bucket.windowMs };
      windows.set(bucket.key, window);
    }
    window.count += 1;
    return { count: window.count, resetInMs: window.endsAt - at };
  };

  return {
    kind: 'memory',
    hit(buckets) {
      const at = now();
      if (at >= nextSweep) sweep(at);
      return Promise.resolve(buckets.map((bucket) => hitOne(bucket, at)));
    },
  };
}
