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
 * is one atomic script; the buckets of a request go in one pipeline (one round trip), and as
 * each script touches one key they work on Redis Cluster too.
 */
export function createRedisRateLimitStore(redis: Redis, keyPrefix: string): RateLimitStore {
  defineScripts(redis, { tesseraRateLimitHit: HIT });
  return {
    kind: 'redis',
    async hit(buckets) {
      const pipeline = redis.pipeline();
      for (const bucket of buckets) pipeline.tesseraRateLimitHit(`${keyPrefix}ratelimit:${bucket.key}`, bucket.windowMs);
      const replies = (await pipeline.exec()) ?? [];
      return replies.map(([error, reply]): BucketCount => {
        if (error) throw error;
        const [count, ttl] = reply as [number, number];
        return { count, resetInMs: ttl };
      });
    },
  };
}
