import type { Redis, Result } from 'ioredis';
import { defineScripts } from '../../db/redis.js';
import type { BucketCount, RateLimitStore } from './rate-limit-store.js';

// KEYS[1] the bucket; ARGV[1] the window in ms. The window opens with the first hit; a key that
// somehow lost its expiry gets it back rather than counting forever.
const HIT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) end
return {count, ttl}`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tesseraRateLimitHit(key: string, windowMs: number): Result<[number, number], Context>;
  }
}

/**
 * Counters in Redis at `<prefix>ratelimit:<bucket>`, shared by every API instance. Each bucket
 * is one atomic single-key script, so the store works on Redis Cluster too; the buckets of a
 * request are sent together (the connection auto-pipelines commands of the same tick), so a
 * request costs one round trip.
 */
export function createRedisRateLimitStore(redis: Redis, keyPrefix: string): RateLimitStore {
  defineScripts(redis, { tesseraRateLimitHit: HIT });
  return {
    kind: 'redis',
    hit: (buckets) =>
      Promise.all(
        buckets.map(async (bucket): Promise<BucketCount> => {
          const [count, ttl] = await redis.tesseraRateLimitHit(`${keyPrefix}ratelimit:${bucket.key}`, bucket.windowMs);
          return { count, resetInMs: ttl };
        }),
      ),
  };
}
