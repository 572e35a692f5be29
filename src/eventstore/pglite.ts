import type { PgliteSqlClient } from '../db/sql-client.js';
import type { EventStore } from './event-store.js';
import { InProcessLocks } from './locks.js';
import { createSqlEventStore } from './sql-event-store.js';
import type { Upcast } from './upcasting.js';

/**
 * The embedded event store: the same SQL as PostgreSQL, run by PGlite in this process. Only this
 * process can open the data folder (see openPglite), so subscription locks are held in memory.
 */
export function createPgliteEventStore(sql: PgliteSqlClient, options: { upcast?: Upcast } = {}): EventStore {
  return createSqlEventStore(sql, { locks: locksFor(sql), ...options });
}

// Every store opened over one database shares its locks, as PostgreSQL's advisory locks are shared.
const locksByDatabase = new WeakMap<PgliteSqlClient['db'], InProcessLocks>();

function locksFor(sql: PgliteSqlClient): InProcessLocks {
  let locks = locksByDatabase.get(sql.db);
  if (!locks) {
    locks = new InProcessLocks();
    locksByDatabase.set(sql.db, locks);
  }
  return locks;
}
