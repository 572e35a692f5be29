import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/**
 * A Redis connection for request paths (idempotency keys, rate limits). Commands fail at once
 * while the connection is down instead of queueing, so a request answers 503 quickly rather than
 * hanging; the client keeps reconnecting in the background. Commands issued in the same tick by
 * concurrent requests share one write (auto-pipelining).
 */
export async function connectRedis(url: string, logger: Logger): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let healthy = false;
  // Log transitions only: a Redis outage would otherwise log every reconnect attempt.
  redis.on('ready', () => {
    if (!healthy) logger.info('redis connected');
    healthy = true;
  });
  redis.on('error', (error: Error) => {
    if (healthy) logger.warn({ err: error }, 'redis connection lost; reconnecting');
    healthy = false;
  });
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    throw new Error(`cannot connect to Redis (REDIS_URL): ${(error as Error).message}`);
  }
  return redis;
}

/** Closes the connection, waiting for replies in flight. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

/**
 * Registers single-key Lua scripts as commands on this connection (ioredis runs them by EVALSHA,
 * loading them on first use). Defining the same name twice on one connection is a no-op.
 */
export function defineScripts(redis: Redis, scripts: Readonly<Record<string, string>>): void {
  for (const [name, lua] of Object.entries(scripts)) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 1, lua });
  }
}

/** Deletes every key under `prefix`, scanning in batches so Redis is never blocked (as KEYS would). */
export async function deleteKeysUnder(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
