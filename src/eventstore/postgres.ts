import type { PostgresSqlClient } from '../db/sql-client.js';
import type { EventStore } from './event-store.js';
import { PostgresAdvisoryLocks } from './locks.js';
import { createSqlEventStore } from './sql-event-store.js';
import type { Upcast } from './upcasting.js';

/** The production event store: PostgreSQL over `pg`, subscription locks as advisory locks. */
export function createPostgresEventStore(sql: PostgresSqlClient, options: { upcast?: Upcast } = {}): EventStore {
  const locks = new PostgresAdvisoryLocks(sql.connection);
  const store = createSqlEventStore(sql, { locks, ...options });
  return {
    ...store,
    async close() {
      await store.close();
      await locks.close();
    },
  };
}
