import type { PGlite, QueryOptions, Results, Transaction as PgliteTransaction } from '@electric-sql/pglite';
import {
  type ColumnType,
  CompiledQuery,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type pg from 'pg';
import type { BinaryCopyWriter } from './binary-copy.js';
import { copyFromStdin, CopyPayload, copyStatement } from './copy.js';
import { quoteIdentifier, type SqlClient, type SqlExecutor } from './sql-client.js';

/**
 * Kysely over our SqlClient, for read models and their queries (the event store keeps its own
 * hand-written SQL on the hot path). Both dialects hand back the same JavaScript values:
 * `bigint` and `numeric` columns arrive as strings, as node-postgres returns them, so money never
 * passes through a float and code need not care which database it runs on.
 *
 * The Kysely instance borrows the client's connections: destroying it leaves the pool or the
 * PGlite database open, and closing the SqlClient is what releases them. Both dialects are our
 * own so that `copyInto` can bulk-load over the very connection of a transaction.
 */
export function createKysely<DB>(sql: SqlClient): Kysely<DB> {
  if (sql.dialect === 'pglite') return new Kysely<DB>({ dialect: new PgliteDialect(sql.db) });
  return new Kysely<DB>({ dialect: new PostgresPoolDialect(sql.pool) });
}

/**
 * Appends rows to `table` with COPY, in `db`'s transaction when it is one; answers how many.
 * `rows` holds them in binary COPY format, each row's fields in `columns` order
 * (src/db/binary-copy.ts); it is finished here.
 */
export async function copyInto(db: QueryRunner, table: string, columns: readonly string[], rows: BinaryCopyWriter): Promise<number> {
  if (rows.rows === 0) return 0;
  const result = await db.executeQuery(CompiledQuery.raw(copyStatement(table, columns), [new CopyPayload(rows.finish())]));
  return Number(result.numAffectedRows ?? 0n);
}

/** The COPY payload of a query, when it is a `copyInto`. */
function copyPayloadOf(query: CompiledQuery): CopyPayload | undefined {
  const [first] = query.parameters;
  return query.parameters.length === 1 && first instanceof CopyPayload ? first : undefined;
}

/** What a Kysely instance or transaction offers for running compiled SQL. */
export interface QueryRunner {
  executeQuery<R>(query: CompiledQuery<R>): Promise<QueryResult<R>>;
}

/** A bigint column as both dialects return it (a string); written from a string, number or bigint. */
export type Int8 = ColumnType<string, string | number | bigint, string | number | bigint>;

/** A timestamptz column: read as a Date, written from a Date or an ISO-8601 string. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;

/**
 * A SqlExecutor that runs on a Kysely instance or transaction, so code written against the
 * SqlClient (such as `sqlCheckpointStore`) can join a Kysely transaction. A statement without
 * parameters goes over the simple query protocol on both dialects, so `exec` may run a script.
 */
export function sqlExecutorOf(db: QueryRunner): SqlExecutor {
  return {
    async query<Row>(text: string, params: readonly unknown[] = []) {
      const result = await db.executeQuery<Row>(CompiledQuery.raw(text, [...params]));
      return { rows: result.rows, rowCount: Number(result.numAffectedRows ?? BigInt(result.rows.length)) };
    },
    async exec(script: string) {
      await db.executeQuery(CompiledQuery.raw(script));
    },
  };
}

/** Kysely over a node-postgres pool (what kysely's PostgresDialect does, plus COPY). */
class PostgresPoolDialect implements Dialect {
  constructor(private readonly pool: pg.Pool) {}

  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PostgresPoolDriver(this.pool);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
}

class PostgresPoolDriver implements Driver {
  constructor(private readonly pool: pg.Pool) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new PostgresPoolConnection(await this.pool.connect());
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const mode = [
      settings.isolationLevel && `isolation level ${settings.isolationLevel}`,
      settings.accessMode,
    ].filter(Boolean);
    await connection.executeQuery(CompiledQuery.raw(mode.length > 0 ? `start transaction ${mode.join(', ')}` : 'begin'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdentifier(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdentifier(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdentifier(name)}`));
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as PostgresPoolConnection).release();
    return Promise.resolve();
  }

  /** The pool belongs to the SqlClient, which closes it. */
  async destroy(): Promise<void> {}
}

const ROW_COUNTING = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE', 'COPY']);

class PostgresPoolConnection implements DatabaseConnection {
  constructor(private readonly client: pg.PoolClient) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const copy = copyPayloadOf(query);
    try {
      if (copy) return { rows: [], numAffectedRows: BigInt(await copyFromStdin(this.client, query.sql, copy.data)) };
      const { command, rowCount, rows } = await this.client.query<R & pg.QueryResultRow>(query.sql, [...query.parameters]);
      return {
        rows: rows ?? [],
        ...(ROW_COUNTING.has(command) && rowCount !== null ? { numAffectedRows: BigInt(rowCount) } : {}),
      };
    } catch (error) {
      // node-postgres errors carry the socket's stack; add the caller's, as kysely's own dialect does.
      if (error instanceof Error) error.stack = `${error.stack ?? error.message}\n${new Error().stack?.split('\n').slice(1).join('\n') ?? ''}`;
      throw error;
    }
  }

  /** Refused, as on PGlite: page with LIMIT and a keyset. */
  streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported; page with LIMIT and a keyset instead');
  }

  release(): void {
    this.client.release();
  }
}

/** node-postgres returns int8 and numeric as strings; PGlite turns int8 into numbers. Align. */
const INT8 = 20;
const INT8_ARRAY = 1016;
const asText = (value: string) => value;

/** A one-dimensional int8[] (`{1,-2,NULL}`) as node-postgres hands it back: strings and nulls. */
function int8ArrayAsText(value: string): (string | null)[] {
  if (value.startsWith('{{')) throw new Error('multi-dimensional int8 arrays are not supported');
  const inner = value.slice(1, -1);
  return inner === '' ? [] : inner.split(',').map((item) => (item === 'NULL' ? null : item));
}
const PG_COMPATIBLE: QueryOptions = {
  parsers: {
    [INT8]: asText,
    [INT8_ARRAY]: int8ArrayAsText,
  },
};

/**
 * A Kysely dialect over one embedded PGlite database. PGlite has a single session and queues
 * every query behind any open transaction, so a Kysely transaction is a PGlite transaction held
 * open from `begin` to `commit`: other work waits for it, never interleaves with it. (Inside a
 * transaction, use the transaction: a query on the outer instance would wait for it forever.)
 */
export class PgliteDialect implements Dialect {
  constructor(private readonly db: PGlite) {}

  createAdapter() {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PgliteDriver(this.db);
  }
  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Kysely<unknown>) {
    return new PostgresIntrospector(db);
  }
}

class PgliteDriver implements Driver {
  constructor(private readonly db: PGlite) {}

  async init(): Promise<void> {}

  acquireConnection(): Promise<DatabaseConnection> {
    return Promise.resolve(new PgliteConnection(this.db));
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return (connection as PgliteConnection).begin(settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return (connection as PgliteConnection).commit();
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return (connection as PgliteConnection).rollback();
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`SAVEPOINT ${quoteIdentifier(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`ROLLBACK TO SAVEPOINT ${quoteIdentifier(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`RELEASE SAVEPOINT ${quoteIdentifier(name)}`));
  }

  async releaseConnection(): Promise<void> {}

  /** The PGlite database belongs to the SqlClient, which closes it. */
  async destroy(): Promise<void> {}
}

/** Thrown inside PGlite's transaction callback to make it roll back; never escapes. */
class Rollback extends Error {}

class PgliteConnection implements DatabaseConnection {
  #tx: PgliteTransaction | undefined;
  #finish: ((outcome: 'commit' | 'rollback') => void) | undefined;
  #settled: Promise<void> | undefined;

  constructor(private readonly db: PGlite) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const target = this.#tx ?? this.db;
    const copy = copyPayloadOf(query);
    if (copy) {
      // PGlite reads COPY data from the virtual file /dev/blob, filled from the query's blob.
      const statement = query.sql.replace(/ FROM STDIN/, " FROM '/dev/blob'");
      const copied = await target.query(statement, [], { ...PG_COMPATIBLE, blob: new Blob([copy.data]) });
      return { rows: [], numAffectedRows: BigInt(copied.affectedRows ?? 0) };
    }
    const result: Results<R> | undefined =
      query.parameters.length === 0
        ? ((await target.exec(query.sql, PG_COMPATIBLE)).at(-1) as Results<R> | undefined)
        : await target.query<R>(query.sql, [...query.parameters], PG_COMPATIBLE);
    return {
      rows: result?.rows ?? [],
      ...(result?.affectedRows === undefined ? {} : { numAffectedRows: BigInt(result.affectedRows) }),
    };
  }

  /** Refused, as kysely's own pg driver refuses without a cursor: page with LIMIT and a keyset. */
  streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming queries are not supported on PGlite; page with LIMIT and a keyset instead');
  }

  begin(settings: TransactionSettings): Promise<void> {
    return new Promise((started, failed) => {
      let running = false;
      this.#settled = this.db
        .transaction(async (tx) => {
          const mode = [
            settings.isolationLevel && `ISOLATION LEVEL ${settings.isolationLevel.toUpperCase()}`,
            settings.accessMode?.toUpperCase(),
          ].filter(Boolean);
          if (mode.length > 0) await tx.exec(`SET TRANSACTION ${mode.join(', ')}`);
          this.#tx = tx;
          running = true;
          const outcome = new Promise<'commit' | 'rollback'>((resolve) => (this.#finish = resolve));
          started();
          if ((await outcome) === 'rollback') throw new Rollback();
        })
        .catch((error: unknown) => {
          if (!running) failed(error instanceof Error ? error : new Error(String(error)));
          else if (!(error instanceof Rollback)) throw error;
        })
        .finally(() => {
          this.#tx = undefined;
          this.#finish = undefined;
        });
    });
  }

  /** Resolves once PGlite has committed; rejects if COMMIT failed (the transaction is then rolled back). */
  async commit(): Promise<void> {
    this.#finish?.('commit');
    await this.#settled;
  }

  async rollback(): Promise<void> {
    this.#finish?.('rollback');
    await this.#settled;
  }
}
