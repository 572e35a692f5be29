import type { Redis } from 'ioredis';
import type { NonceStore } from './nonce-store.js';

/**
 * Nonces in Redis, one key per nonce at `<prefix>internal-nonce:<service>:<nonce>`: SET NX
 * decides the claim atomically and PX lets Redis expire it on its own clock.
 */
export function createRedisNonceStore(redis: Redis, keyPrefix: string): NonceStore {
  return {
    kind: 'redis',
    async claim(id, ttlMs) {
      return (await redis.set(`${keyPrefix}internal-nonce:${id}`, '1', 'PX', ttlMs, 'NX')) === 'OK';
    },
    // Redis expires nonces itself.
    purgeExpired: () => Promise.resolve(0),
  };
}
