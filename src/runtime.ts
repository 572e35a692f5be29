import { eventStoreKind, type Config } from './config.js';
import { migrate } from './db/migrate.js';
import { connectPostgres, openPglite, type SqlClient } from './db/sql-client.js';
import type { EventStore } from './eventstore/event-store.js';
import { createEventStoreDbEventStore } from './eventstore/eventstoredb.js';
import { createPgliteEventStore } from './eventstore/pglite.js';
import { createPostgresEventStore } from './eventstore/postgres.js';
import type { Upcast } from './eventstore/upcasting.js';
import type { Logger } from './logger.js';

/**
 * The composition root's storage: the one place that picks adapters from the config.
 * `sql` holds read models, idempotency records and (in the SQL modes) the events themselves.
 */
export interface Storage {
  readonly sql: SqlClient;
  readonly eventStore: EventStore;
  close(): Promise<void>;
}

export async function openStorage(config: Config, logger: Logger, options: { upcast?: Upcast } = {}): Promise<Storage> {
  const sql: SqlClient = config.DATABASE_URL
    ? connectPostgres({ url: config.DATABASE_URL, poolSize: config.DATABASE_POOL_SIZE })
    : await openPglite({ dataDir: config.DATA_DIR });
  try {
    const { applied } = await migrate(sql);
    if (applied.length > 0) logger.info({ applied }, 'database migrated');
    const kind = eventStoreKind(config);
    const eventStore =
      kind === 'eventstoredb'
        ? createEventStoreDbEventStore({ connectionString: config.EVENTSTORE_URL!, ...options })
        : sql.dialect === 'postgres'
          ? createPostgresEventStore(sql, options)
          : createPgliteEventStore(sql, options);
    logger.info(
      { eventStore: kind, readModels: sql.dialect, ...(sql.dialect === 'pglite' ? { dataDir: config.DATA_DIR } : {}) },
      'storage open',
    );
    return {
      sql,
      eventStore,
      async close() {
        await eventStore.close();
        await sql.close();
      },
    };
  } catch (error) {
    await sql.close().catch(() => undefined);
    throw error;
  }
}
