import { describe } from 'vitest';
import type { SqlClient } from '../../src/db/sql-client.js';
import type { EventStore } from '../../src/eventstore/event-store.js';
import { createLogger } from '../../src/logger.js';
import { createReadSide, type ReadSide, type ReadSideOptions } from '../../src/projections/engine/read-side.js';
import { sqlEventStore } from '../../src/runtime.js';
import { env, freshPglite, freshPostgresSchema } from './databases.js';

/** One process's view of a database that holds both the events and the read models. */
export interface Node {
  readonly sql: SqlClient;
  readonly store: EventStore;
}

/** A fresh, migrated database, and as many "processes" over it as a test needs. */
export interface ReadModelDatabase extends Node {
  readonly dialect: 'pglite' | 'postgres';
  /** Another process over the same database: its own pool and lock session on PostgreSQL. */
  peer(): Node;
  /** A read side over `node` (default: the first), with short test timings; closed by close(). */
  readSide(options: Pick<ReadSideOptions, 'projections'> & Partial<ReadSideOptions>, node?: Node): ReadSide;
  close(): Promise<void>;
}

export const silentLogger = createLogger({ level: 'silent' });

const TEST_TIMINGS = { idleWaitMs: 20, standbyRetryMs: 30, retryInitialMs: 5, retryMaxMs: 50, batchSize: 50, rebuildBatchSize: 40 };

export type OpenDatabase = () => Promise<ReadModelDatabase>;

function around(dialect: 'pglite' | 'postgres', first: Node, peer: () => Node, closeAll: () => Promise<void>): ReadModelDatabase {
  const readSides: ReadSide[] = [];
  return {
    dialect,
    ...first,
    peer,
    readSide(options, node = first) {
      const readSide = createReadSide({ logger: silentLogger, ...TEST_TIMINGS, sql: node.sql, store: node.store, ...options });
      readSides.push(readSide);
      return readSide;
    },
    async close() {
      await Promise.all(readSides.map((r) => r.stop()));
      await closeAll();
    },
  };
}

export const openPgliteDatabase: OpenDatabase = async () => {
  const sql = await freshPglite();
  const stores: EventStore[] = [];
  const node = (): Node => {
    const store = sqlEventStore(sql);
    stores.push(store);
    return { sql, store };
  };
  return around('pglite', node(), node, async () => {
    for (const store of stores) await store.close();
    await sql.close();
  });
};

export const openPostgresDatabase: OpenDatabase = async () => {
  const schema = await freshPostgresSchema(env.databaseUrl!);
  const stores: EventStore[] = [];
  const node = (): Node => {
    const sql = schema.connect({ poolSize: 6 });
    const store = sqlEventStore(sql);
    stores.push(store);
    return { sql, store };
  };
  const first = node();
  return around('postgres', first, node, async () => {
    for (const store of stores) await store.close();
    // Scratch schemas are named after the live one; drop any a failed test left behind.
    const { rows } = await first.sql.query<{ name: string }>(
      "SELECT nspname AS name FROM pg_namespace WHERE starts_with(nspname, $1 || '_')",
      [schema.schema],
    );
    for (const { name } of rows) await first.sql.exec(`DROP SCHEMA "${name}" CASCADE`);
    await schema.drop();
  });
};

/** Runs `suite` once on PGlite and, when DATABASE_URL is set, once on PostgreSQL. */
export function onEveryDialect(name: string, suite: (open: OpenDatabase, dialect: 'pglite' | 'postgres') => void): void {
  describe(`${name} (PGlite)`, () => suite(openPgliteDatabase, 'pglite'));
  describe.runIf(env.databaseUrl)(`${name} (PostgreSQL)`, () => suite(openPostgresDatabase, 'postgres'));
}
