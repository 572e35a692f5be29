import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

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
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}
