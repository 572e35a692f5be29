import type { Redis } from 'ioredis';
import { createRedisIdempotencyStore } from './api/idempotency/redis-idempotency-store.js';
import { createSqlIdempotencyStore } from './api/idempotency/sql-idempotency-store.js';
import type { IdempotencyStore } from './api/idempotency/idempotency-store.js';
import type { NonceStore } from './api/auth/nonce-store.js';
import { createRedisNonceStore } from './api/auth/redis-nonce-store.js';
import { createSqlNonceStore } from './api/auth/sql-nonce-store.js';
import { createMemoryRateLimitStore } from './api/rate-limit/memory-rate-limit-store.js';
import { createRedisRateLimitStore } from './api/rate-limit/redis-rate-limit-store.js';
import type { RateLimitStore } from './api/rate-limit/rate-limit-store.js';
import { eventStoreKind, type Config } from './config.js';
import { migrate } from './db/migrate.js';
import { closeRedis, connectRedis } from './db/redis.js';
import { connectPostgres, openPglite, type SqlClient } from './db/sql-client.js';
import type { EventStore } from './eventstore/event-store.js';
import { createEventStoreDbEventStore } from './eventstore/eventstoredb.js';
import { createPgliteEventStore } from './eventstore/pglite.js';
import { createPostgresEventStore } from './eventstore/postgres.js';
import { UPCASTERS } from './events/upcasters.js';
import { createUpcast } from './eventstore/upcasting.js';

/** Every store Tessera opens raises old event shapes on read (src/events/upcasters.ts). */
const upcastEvents = createUpcast(UPCASTERS);
import type { Logger } from './logger.js';
import { createHmac } from 'node:crypto';
import type { WaitingRoomActivityLog, WaitingRoomStore } from './commands/waiting-room.js';
import { createRedisWaitingRoomStore } from './gateways/waiting-room-redis.js';
import { createSqlActivityLog, createSqlWaitingRoomStore } from './gateways/waiting-room-sql.js';

/**
 * The composition root's storage: the one place that picks adapters from the config.
 * `sql` holds read models, idempotency records and signature nonces (without Redis) and, in the
 * SQL modes, the events. `redis`, when REDIS_URL is set, holds idempotency records, signature
 * nonces and rate-limit counters.
 */
export interface Storage {
  readonly sql: SqlClient;
  readonly eventStore: EventStore;
  readonly redis?: Redis;
  close(): Promise<void>;
}

/** Where the HTTP edge keeps idempotency records, the nonces of signed calls and rate-limit counters. */
export interface EdgeStores {
  readonly idempotency: IdempotencyStore;
  readonly nonces: NonceStore;
  readonly rateLimits: RateLimitStore;
}

/** Redis when it is configured (shared by every instance); otherwise the SQL store and process memory. */
export function edgeStores(config: Config, storage: Storage): EdgeStores {
  return storage.redis
    ? {
        idempotency: createRedisIdempotencyStore(storage.redis, config.REDIS_KEY_PREFIX),
        nonces: createRedisNonceStore(storage.redis, config.REDIS_KEY_PREFIX),
        rateLimits: createRedisRateLimitStore(storage.redis, config.REDIS_KEY_PREFIX),
      }
    : {
        idempotency: createSqlIdempotencyStore(storage.sql),
        nonces: createSqlNonceStore(storage.sql),
        rateLimits: createMemoryRateLimitStore(),
      };
}

/**
 * Tessera's event store over its SQL database (PostgreSQL or PGlite), with the catalogue's
 * upcasters: every read raises old event shapes to the current ones.
 */
export function sqlEventStore(sql: SqlClient): EventStore {
  return sql.dialect === 'postgres'
    ? createPostgresEventStore(sql, { upcast: upcastEvents })
    : createPgliteEventStore(sql, { upcast: upcastEvents });
}

export async function openStorage(config: Config, logger: Logger): Promise<Storage> {
  const sql: SqlClient = config.DATABASE_URL
    ? connectPostgres({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE })
    : await openPglite({ dataDir: config.DATA_DIR });
  let redis: Redis | undefined;
  try {
    const { applied } = await migrate(sql);
    if (applied.length > 0) logger.info({ applied }, 'database migrated');
    redis = config.REDIS_URL ? await connectRedis(config.REDIS_URL, logger) : undefined;
    const kind = eventStoreKind(config);
    const eventStore =
      kind === 'eventstoredb'
        ? createEventStoreDbEventStore({ connectionString: config.EVENTSTORE_URL!, upcast: upcastEvents })
        : sqlEventStore(sql);
    logger.info(
      {
        eventStore: kind,
        readModels: sql.dialect,
        redis: redis !== undefined,
        ...(sql.dialect === 'pglite' ? { dataDir: config.DATA_DIR } : {}),
      },
      'storage open',
    );
    const openedRedis = redis;
    return {
      sql,
      eventStore,
      ...(openedRedis ? { redis: openedRedis } : {}),
      async close() {
        if (openedRedis) await closeRedis(openedRedis);
        await eventStore.close();
        await sql.close();
      },
    };
  } catch (error) {
    if (redis) await closeRedis(redis);
    await sql.close().catch(() => undefined);
    throw error;
  }
}

/** Waiting rooms in Redis when it is configured (shared by every instance), else in the SQL store; their activity in SQL. */
export function waitingRoomStores(config: Config, storage: Pick<Storage, 'sql' | 'redis'>): { rooms: WaitingRoomStore; activity: WaitingRoomActivityLog } {
  return {
    rooms: storage.redis ? createRedisWaitingRoomStore(storage.redis, config.REDIS_KEY_PREFIX) : createSqlWaitingRoomStore(storage.sql),
    activity: createSqlActivityLog(storage.sql),
  };
}

/** Only outside production (config requires WAITING_ROOM_SECRET there), with neither secret set. */
const DEVELOPMENT_WAITING_ROOM_SECRET = 'tessera-development-waiting-room-secret-not-for-production';

/**
 * The key access tokens are signed with. Every instance must agree on it, so outside production
 * an unset WAITING_ROOM_SECRET is derived from JWT_SECRET, or else is a fixed development key:
 * never random per process or per data folder.
 */
export function waitingRoomSecret(config: Pick<Config, 'WAITING_ROOM_SECRET' | 'JWT_SECRET'>, logger?: Pick<Logger, 'warn'>): string {
  if (config.WAITING_ROOM_SECRET) return config.WAITING_ROOM_SECRET;
  logger?.warn('no WAITING_ROOM_SECRET set: waiting room tokens are signed with a development key');
  return config.JWT_SECRET ? createHmac('sha256', config.JWT_SECRET).update('tessera:waiting-room').digest('hex') : DEVELOPMENT_WAITING_ROOM_SECRET;
}
