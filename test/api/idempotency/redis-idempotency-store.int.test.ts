import { describe } from 'vitest';
import { createRedisIdempotencyStore } from '../../../src/api/idempotency/redis-idempotency-store.js';
import { env } from '../../support/databases.js';
import { testRedis } from '../../support/redis.js';
import { idempotencyStoreContract } from './idempotency-store.contract.js';

const url = env.redisUrl;
if (url) {
  idempotencyStoreContract('redis', async () => {
    const redis = await testRedis(url);
    return { store: createRedisIdempotencyStore(redis.redis, redis.prefix), close: () => redis.cleanup() };
  });
} else {
  describe.skip('idempotency store contract: redis (set REDIS_URL)', () => undefined);
}
