import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { acquireDirectoryLock, type DirectoryLock } from './directory-lock.js';

/**
 * One way to talk SQL to either PostgreSQL (over `pg`) or the embedded PGlite, so the event
 * store, read models and idempotency tables share their SQL instead of keeping two copies.
 */
export interface SqlResult<Row> {
  readonly rows: Row[];
  readonly rowCount: number;
}

export interface SqlExecutor {
  /**
   * Runs one statement. `statementName` names a server-side prepared statement on PostgreSQL
   * (parsed and planned once per connection); PGlite ignores it.
   */
  query<Row = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    statementName?: string,
  ): Promise<SqlResult<Row>>;
  /** Runs a script of several statements, such as a migration. */
  exec(script: string): Promise<void>;
}

interface SqlClientBase extends SqlExecutor {
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface PostgresSqlClient extends SqlClientBase {
  readonly dialect: 'postgres';
  readonly pool: pg.Pool;
  /** Connection settings, for components that need a dedicated session (advisory locks). */
  readonly connection: pg.ClientConfig;
}

export interface PgliteSqlClient extends SqlClientBase {
  readonly dialect: 'pglite';
  readonly db: PGlite;
}

export type SqlClient = PostgresSqlClient | PgliteSqlClient;

export interface PostgresOptions {
  readonly url: string;
  readonly poolSize?: number;
  /** Schema to work in (search_path); tests give each suite its own. */
  readonly schema?: string;
  readonly applicationName?: string;
  /** How long an idle connection stays open (node-postgres' default, 10 s, when omitted; 0: for good). */
  readonly idleTimeoutMs?: number;
}

/**
 * The URL without its `options` parameter, and that parameter: the driver lets a URL's options
 * replace the explicit ones, so they are taken out of the URL and joined with ours instead.
 */
function splitOptions(url: string): { url: string; options: string } {
  try {
    const parsed = new URL(url);
    const options = parsed.searchParams.get('options') ?? '';
    if (!parsed.searchParams.has('options')) return { url, options };
    parsed.searchParams.delete('options');
    return { url: parsed.toString(), options };
  } catch {
    return { url, options: '' };
  }
}

export function connectPostgres(options: PostgresOptions): PostgresSqlClient {
  // JIT off for every session: Tessera's statements are short, and batch statements that unnest
  // arrays fool the planner into JIT-compiling them, which costs more than running them (0.8 s of
  // a 0.9 s ledger batch of 5,000 events in bench:replay). Set here, it costs no statement.
  // Settings the URL (`?options=-c search_path=…`) or PGOPTIONS carry are kept, as the driver
  // would read them had no option been given.
  const fromUrl = splitOptions(options.url);
  const settings = [fromUrl.options || (process.env.PGOPTIONS ?? ''), '-c jit=off', ...(options.schema ? [`-c search_path=${quoteIdentifier(options.schema)}`] : [])].filter(
    (setting) => setting !== '',
  );
  const connection: pg.ClientConfig = {
    connectionString: fromUrl.url,
    application_name: options.applicationName ?? 'tessera',
    options: settings.join(' '),
  };
  const pool = new pg.Pool({
    ...connection,
    max: options.poolSize ?? 20,
    ...(options.idleTimeoutMs === undefined ? {} : { idleTimeoutMillis: options.idleTimeoutMs }),
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);

  const query = async <Row>(
    executor: pg.Pool | pg.PoolClient,
    text: string,
    params?: readonly unknown[],
    statementName?: string,
  ): Promise<SqlResult<Row>> => {
    const result = await executor.query<Row & pg.QueryResultRow>({
      text,
      values: params as unknown[] | undefined,
      ...(statementName ? { name: statementName } : {}),
    });
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  };

  return {
    dialect: 'postgres',
    pool,
    connection,
    query: (text, params, statementName) => query(pool, text, params, statementName),
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work({
          query: (text, params, name) => query(client, text, params, name),
          exec: async (script) => void (await client.query(script)),
        });
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async exec(script) {
      await pool.query(script);
    },
    close: () => pool.end(),
  };
}

export interface PgliteOptions {
  /** A folder for the database files, or `memory://` for a throwaway in-memory database. */
  readonly dataDir: string;
  /** For `memory://`: start from this dump (PGlite's dumpDataDir) instead of an empty cluster. */
  readonly template?: Blob;
}

export async function openPglite(options: PgliteOptions): Promise<PgliteSqlClient> {
  let lock: DirectoryLock | undefined;
  let dataDir = options.dataDir;
  if (!dataDir.startsWith('memory://')) {
    dataDir = resolve(dataDir);
    mkdirSync(dataDir, { recursive: true });
    // PGlite is single-process: a second process on the same files would corrupt them.
    lock = acquireDirectoryLock(dataDir);
  }
  // Loaded only when asked for: the module alone is some 40 MB of a server's memory.
  const { PGlite } = await import('@electric-sql/pglite');
  const db = dataDir.startsWith('memory://')
    ? await PGlite.create(options.template ? { loadDataDir: options.template } : {})
    : await PGlite.create(`${dataDir}/pgdata`);
  const run = async <Row>(executor: Pick<PGlite, 'query'>, text: string, params?: readonly unknown[]) => {
    const result = await executor.query<Row>(text, params as unknown[] | undefined);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  };
  return {
    dialect: 'pglite',
    db,
    query: (text, params) => run(db, text, params),
    transaction: (work) =>
      db.transaction((tx) =>
        work({ query: (text, params) => run(tx, text, params), exec: async (script) => void (await tx.exec(script)) }),
      ),
    async exec(script) {
      await db.exec(script);
    },
    async close() {
      if (!db.closed) await db.close();
      lock?.release();
    },
  };
}

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A string literal, for the few statements that take no parameters (COMMENT ON). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** The SQLSTATE and constraint of a database error, whichever driver raised it. */
export function sqlErrorInfo(error: unknown): { code?: string; constraint?: string } {
  if (typeof error !== 'object' || error === null) return {};
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  return {
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof constraint === 'string' ? { constraint } : {}),
  };
}
