import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { deleteKeysUnder } from '../../src/db/redis.js';

export interface TestRedis {
  readonly redis: Redis;
  /** A key prefix of this test's own; cleanup() deletes exactly the keys under it. */
  readonly prefix: string;
  cleanup(): Promise<void>;
}

/** A Redis connection with a unique key prefix, so tests sharing the server never meet. */
export async function testRedis(url: string): Promise<TestRedis> {
  // Auto-pipelining as in production (src/db/redis.ts).
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableAutoPipelining: true });
  await redis.connect();
  const prefix = `tessera-test:${randomBytes(6).toString('hex')}:`;
  return {
    redis,
    prefix,
    async cleanup() {
      await deleteKeysUnder(redis, prefix);
      redis.disconnect();
    },
  };
}
