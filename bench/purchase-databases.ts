/**
 * The two databases of bench/purchase.ts (and bench/fraud.ts), one for the real server and one for the bare appends,
 * on the store BENCH_STORE names: fresh PostgreSQL databases on a server, or fresh embedded PGlite
 * data folders in a temp folder (what `npm start` opens without DATABASE_URL).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectPostgres, openPglite, type SqlClient } from '../src/db/sql-client.js';
import { dropDatabase, freshDatabase } from './harness.js';

export type BenchStore = 'postgres' | 'pglite';
export type PurchaseDatabase = 'http' | 'bare';

export interface PurchaseDatabases {
  readonly store: BenchStore;
  /** The server settings that select this database for `http` (DATABASE_URL, or DATA_DIR). */
  readonly serverEnv: Readonly<Record<string, string>>;
  /** A client of `database`; `poolSize` connections on PostgreSQL (PGlite has one session). */
  open(database: PurchaseDatabase, poolSize: number): Promise<SqlClient>;
  /** Drops the databases, or removes the temp folder. */
  dispose(): Promise<void>;
}

/** `name` names the server's database; the bare appends' is `<name>_bare`. */
export async function postgresDatabases(serverUrl: string, poolSize: number, name = 'tessera_bench_purchase'): Promise<PurchaseDatabases> {
  const DATABASES = { http: name, bare: `${name}_bare` };
  const urls = { http: await freshDatabase(serverUrl, DATABASES.http), bare: await freshDatabase(serverUrl, DATABASES.bare) };
  return {
    store: 'postgres',
    serverEnv: { DATABASE_URL: urls.http, DATABASE_POOL_SIZE: String(poolSize) },
    open: (database, size) => Promise.resolve(connectPostgres({ url: urls[database], poolSize: size })),
    async dispose() {
      await dropDatabase(serverUrl, DATABASES.http);
      await dropDatabase(serverUrl, DATABASES.bare);
    },
  };
}

export function pgliteDatabases(): PurchaseDatabases {
  const folder = mkdtempSync(join(tmpdir(), 'tessera-bench-purchase-'));
  const dataDirs = { http: join(folder, 'http'), bare: join(folder, 'bare') };
  return {
    store: 'pglite',
    serverEnv: { DATA_DIR: dataDirs.http },
    // openPglite locks the folder: one client at a time, as one server process at a time.
    open: (database) => openPglite({ dataDir: dataDirs[database] }),
    dispose: () => Promise.resolve(rmSync(folder, { recursive: true, force: true })),
  };
}
