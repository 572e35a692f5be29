import { describe } from 'vitest';
import { createRedisNonceStore } from '../../../src/api/auth/redis-nonce-store.js';
import { env } from '../../support/databases.js';
import { testRedis } from '../../support/redis.js';
import { nonceStoreContract } from './nonce-store.contract.js';

const url = env.redisUrl;
if (url) {
  nonceStoreContract('redis', async () => {
    const redis = await testRedis(url);
    return { store: createRedisNonceStore(redis.redis, redis.prefix), close: () => redis.cleanup() };
  });
} else {
  describe.skip('nonce store contract: redis (set REDIS_URL)', () => undefined);
}
