import { describe } from 'vitest';
import { createRedisRateLimitStore } from '../../../src/api/rate-limit/redis-rate-limit-store.js';
import { env } from '../../support/databases.js';
import { testRedis } from '../../support/redis.js';
import { rateLimitStoreContract } from './rate-limit-store.contract.js';

const url = env.redisUrl;
if (url) {
  rateLimitStoreContract('redis', async () => {
    const redis = await testRedis(url);
    return { store: createRedisRateLimitStore(redis.redis, redis.prefix), close: () => redis.cleanup() };
  });
} else {
  describe.skip('rate-limit store contract: redis (set REDIS_URL)', () => undefined);
}
