import { randomBytes } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import { quoteIdentifier, quoteLiteral } from '../../db/sql-client.js';
import type { Projection } from './projection.js';

/**
 * A scratch schema holds empty copies of some projections' tables (CREATE TABLE ... LIKE, so
 * columns, defaults, constraints and indexes match) and a checkpoints table of its own. A
 * transaction that puts the scratch schema first on its search_path runs a projection's
 * unchanged handler against the copies: that is how rebuild and verify replay history beside
 * the live tables.
 *
 * Copies are filled as a bulk load: a rebuild's are logged from the start (they go live; written
 * once, where SET LOGGED at the end would rewrite them), a verify's are UNLOGGED (thrown away),
 * and the indexes a projection lists in `indexesBuiltAfterReplay` are built once at the end
 * instead of maintained row by row. `finishScratch` makes the copies complete (and durable,
 * when unlogged) before they are swapped in.
 */
export interface ScratchSchema {
  readonly schema: string;
  readonly tables: readonly ScratchTable[];
  /** The live checkpoints table, schema-qualified and quoted. */
  readonly liveCheckpoints: string;
  /**
   * Copies written to the write-ahead log as they are filled (a rebuild's, which go live), or
   * unlogged (a verify's, which are thrown away) and made logged only if they are to go live.
   */
  readonly logged: boolean;
}

export interface ScratchTable {
  readonly name: string;
  readonly liveSchema: string;
  /** Schema-qualified, quoted names of the live table and of its copy. */
  readonly live: string;
  readonly copy: string;
  /** The copy's indexes left out until the replay is done, and how to build them. */
  readonly deferredIndexes: readonly DeferredIndex[];
  /** The columns that lead the indexes the copy keeps while replaying (quoted): what lookups use. */
  readonly lookupColumns: readonly string[];
  /** The columns planner statistics are gathered for (quoted): all but JSON documents; none listed: all. */
  readonly statisticsColumns: readonly string[];
}

/**
 * An index a copy goes without while replaying. `build` creates it; `attach`, when the index
 * backs a primary key or unique constraint, turns it into that constraint afterwards (quick: the
 * index is there). Builds of one table can then run side by side, where ADD CONSTRAINT would
 * lock the table for each in turn.
 */
export interface DeferredIndex {
  readonly build: string;
  readonly attach?: string;
}

/** A projection's tables cannot be copied and swapped safely; the message says what to change. */
export class ProjectionTableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProjectionTableError';
  }
}

const qualified = (schema: string, table: string) => `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;

async function liveSchemaOf(trx: Transaction<object>, table: string): Promise<string> {
  const { rows } = await sql<{ schema: string }>`
    SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = to_regclass(${quoteIdentifier(table)})`.execute(trx);
  const schema = rows[0]?.schema;
  if (schema === undefined) throw new ProjectionTableError(`table ${table} does not exist (is its migration applied?)`);
  return schema;
}

/** What would make a copy differ from its table, or a swap break something that depends on it. */
async function copyProblems(trx: Transaction<object>, live: string): Promise<string[]> {
  const { rows } = await sql<{ problem: string }>`
    WITH t AS (SELECT ${live}::regclass AS oid)
    SELECT 'foreign key ' || c.conname AS problem FROM pg_constraint c, t
     WHERE c.contype = 'f' AND (c.conrelid = t.oid OR c.confrelid = t.oid)
    UNION ALL
    SELECT DISTINCT 'dependent view ' || v.relname FROM pg_depend d
      JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class, t
     WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = t.oid AND v.oid <> t.oid
    UNION ALL
    SELECT 'trigger ' || g.tgname FROM pg_trigger g, t WHERE g.tgrelid = t.oid AND NOT g.tgisinternal
    UNION ALL
    SELECT 'sequence default on column ' || a.attname FROM pg_attrdef d
      JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum, t
     WHERE d.adrelid = t.oid AND pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%'`.execute(trx);
  return rows.map((row) => row.problem);
}

/**
 * Drops the named indexes of a copy (and the primary key or unique constraint an index backs),
 * answering how to build them again.
 */
async function deferIndexes(trx: Transaction<object>, schema: string, copy: string, names: readonly string[]): Promise<DeferredIndex[]> {
  if (names.length === 0) return [];
  const { rows } = await sql<{ name: string; index_def: string; constraint_def: string | null; kind: string | null; deferrable: boolean | null }>`
    SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS index_def, pg_get_constraintdef(k.oid) AS constraint_def,
           k.contype::text AS kind, k.condeferrable AS deferrable
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid
     WHERE i.indrelid = ${copy}::regclass AND c.relname = ANY (${names}::text[])`.execute(trx);
  const deferred: DeferredIndex[] = [];
  for (const { name, index_def, constraint_def, kind, deferrable } of rows) {
    const constraint = quoteIdentifier(name);
    if (constraint_def === null) {
      deferred.push({ build: index_def });
      await sql.raw(`DROP INDEX ${qualified(schema, name)}`).execute(trx);
      continue;
    }
    const attachable = !deferrable && (kind === 'p' || kind === 'u');
    deferred.push(
      attachable
        ? { build: index_def, attach: `ALTER TABLE ${copy} ADD CONSTRAINT ${constraint} ${kind === 'p' ? 'PRIMARY KEY' : 'UNIQUE'} USING INDEX ${constraint}` }
        : { build: `ALTER TABLE ${copy} ADD CONSTRAINT ${constraint} ${constraint_def}` },
    );
    await sql.raw(`ALTER TABLE ${copy} DROP CONSTRAINT ${constraint}`).execute(trx);
  }
  return deferred;
}

async function leadingColumns(trx: Transaction<object>, table: string): Promise<string[]> {
  const { rows } = await sql<{ column: string }>`
    SELECT DISTINCT a.attname AS column FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
     WHERE i.indrelid = ${table}::regclass ORDER BY 1`.execute(trx);
  return rows.map((row) => quoteIdentifier(row.column));
}

/**
 * Every column but JSON documents: no query plans on what is inside them, and their statistics
 * cost the most to gather (ANALYZE of ledger_entries took seconds for its metadata).
 */
async function statisticsColumns(trx: Transaction<object>, table: string): Promise<string[]> {
  // An expression index's statistics are gathered only by an ANALYZE of the whole table.
  const expressions = await sql`SELECT 1 FROM pg_index WHERE indrelid = ${table}::regclass AND indexprs IS NOT NULL`.execute(trx);
  if (expressions.rows.length > 0) return [];
  const { rows } = await sql<{ column: string }>`
    SELECT attname AS column FROM pg_attribute
     WHERE attrelid = ${table}::regclass AND attnum > 0 AND NOT attisdropped AND atttypid NOT IN ('json'::regtype, 'jsonb'::regtype)
     ORDER BY attnum`.execute(trx);
  return rows.map((row) => quoteIdentifier(row.column));
}

async function indexNames(trx: Transaction<object>, table: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE i.indrelid = ${table}::regclass ORDER BY c.relname`.execute(trx);
  return rows.map((row) => row.name);
}

/**
 * What a scratch schema's comment says: whose it is. Its name holds only the first 30 characters
 * of the installation's schema, which two installations may share, so the comment is what tells
 * one installation's leftovers from another's.
 */
const scratchOwner = (liveSchema: string) => `tessera scratch schema of ${liveSchema}`;

/**
 * Drops scratch schemas that a rebuild or verify left behind when its process died (a crash, kill
 * -9): its `finally` never ran, and the copies, logged for a rebuild, would hold their disk space
 * for good. Call it holding the maintenance locks of `projections`: a scratch schema with a copy
 * of any of their tables then belongs to no live rebuild or verify (one would hold that lock too),
 * so it is dropped; schemas of other projections are left alone. Answers the schemas dropped.
 */
export async function dropLeftoverScratchSchemas(db: Kysely<object>, projections: readonly Projection[]): Promise<string[]> {
  const live = await db.transaction().execute((trx) => liveSchemaOf(trx, 'tessera_checkpoints'));
  const tables = projections.flatMap((p) => p.tables);
  const { rows } = await sql<{ schema: string }>`
    SELECT DISTINCT n.nspname AS schema FROM pg_namespace n JOIN pg_class c ON c.relnamespace = n.oid AND c.relkind = 'r'
     WHERE obj_description(n.oid, 'pg_namespace') = ${scratchOwner(live)} AND c.relname = ANY (${tables}::text[])
     ORDER BY 1`.execute(db);
  const leftovers = rows.map((row) => row.schema);
  for (const schema of leftovers) await sql.raw(`DROP SCHEMA IF EXISTS ${quoteIdentifier(schema)} CASCADE`).execute(db);
  return leftovers;
}

/** Creates the scratch schema with empty copies of every table the projections own. */
export async function createScratchSchema(
  db: Kysely<object>,
  projections: readonly Projection[],
  purpose: string,
  options: { readonly logged?: boolean } = {},
): Promise<ScratchSchema> {
  const logged = options.logged ?? false;
  return db.transaction().execute(async (trx) => {
    const checkpointsSchema = await liveSchemaOf(trx, 'tessera_checkpoints');
    const schema = `${checkpointsSchema.slice(0, 30)}_${purpose}_${randomBytes(4).toString('hex')}`;
    await sql.raw(`CREATE SCHEMA ${quoteIdentifier(schema)}`).execute(trx);
    await sql.raw(`COMMENT ON SCHEMA ${quoteIdentifier(schema)} IS ${quoteLiteral(scratchOwner(checkpointsSchema))}`).execute(trx);
    const liveCheckpoints = qualified(checkpointsSchema, 'tessera_checkpoints');
    await sql.raw(`CREATE UNLOGGED TABLE ${qualified(schema, 'tessera_checkpoints')} (LIKE ${liveCheckpoints} INCLUDING ALL)`).execute(trx);
    const tables: ScratchTable[] = [];
    for (const projection of projections) {
      const deferred: DeferredIndex[] = [];
      for (const name of projection.tables) {
        const liveSchema = await liveSchemaOf(trx, name);
        const [live, copy] = [qualified(liveSchema, name), qualified(schema, name)];
        const problems = await copyProblems(trx, live);
        if (problems.length > 0) {
          throw new ProjectionTableError(`table ${name} cannot be rebuilt beside itself: it has ${problems.join(', ')}`);
        }
        await sql.raw(`CREATE ${logged ? '' : 'UNLOGGED '}TABLE ${copy} (LIKE ${live} INCLUDING ALL)`).execute(trx);
        const [liveIndexes, copyIndexes] = [await indexNames(trx, live), await indexNames(trx, copy)];
        if (liveIndexes.join() !== copyIndexes.join()) {
          throw new ProjectionTableError(
            `table ${name}: indexes [${liveIndexes.join(', ')}] must carry PostgreSQL's default names ` +
              `[${copyIndexes.join(', ')}] so a swapped-in copy keeps them`,
          );
        }
        const deferredIndexes = await deferIndexes(trx, schema, copy, projection.indexesBuiltAfterReplay);
        deferred.push(...deferredIndexes);
        tables.push({
          name,
          liveSchema,
          live,
          copy,
          deferredIndexes,
          lookupColumns: await leadingColumns(trx, copy),
          statisticsColumns: await statisticsColumns(trx, copy),
        });
      }
      const unknown = projection.indexesBuiltAfterReplay.length - deferred.length;
      if (unknown > 0) {
        throw new ProjectionTableError(`projection ${projection.name}: indexesBuiltAfterReplay names ${unknown} index(es) its tables do not have`);
      }
    }
    return { schema, tables, liveCheckpoints, logged };
  });
}

/** Sort memory for building a copy's deferred indexes on PostgreSQL (its default is 64 MB). */
const INDEX_BUILD_MEMORY = '256MB';

/** Index builds at once on PostgreSQL: each works one core, and the server has few. */
const INDEX_BUILDS_AT_ONCE = 3;

/**
 * Readies the copies to go live: written to the write-ahead log (SET LOGGED, unless they were
 * logged from the start), their deferred indexes built, and fresh planner statistics, so queries
 * plan well from the moment of the swap. Each table is readied on its own, its indexes side by
 * side (then its constraints attached to theirs), then analyzed; on PostgreSQL the tables go at
 * once, at most INDEX_BUILDS_AT_ONCE statements at a time on separate connections, index builds
 * with more sort memory. PGlite has one connection, and its memory is the process's, so there
 * everything goes one by one.
 */
export async function finishScratch(db: Kysely<object>, scratch: ScratchSchema, dialect: 'postgres' | 'pglite'): Promise<void> {
  const limit = limiter(dialect === 'postgres' ? INDEX_BUILDS_AT_ONCE : 1);
  const run = (statement: string, memory = false) =>
    limit(() =>
      db.transaction().execute(async (trx) => {
        if (memory && dialect === 'postgres') await sql`SELECT set_config('maintenance_work_mem', ${INDEX_BUILD_MEMORY}, true)`.execute(trx);
        await sql.raw(statement).execute(trx);
      }),
    );
  const ready = async (table: ScratchTable) => {
    if (!scratch.logged) await run(`ALTER TABLE ${table.copy} SET LOGGED`);
    await settleAll(table.deferredIndexes.map((index) => run(index.build, true)));
    for (const index of table.deferredIndexes) if (index.attach) await run(index.attach);
    const columns = table.statisticsColumns.length > 0 ? ` (${table.statisticsColumns.join(', ')})` : '';
    await run(`ANALYZE ${table.copy}${columns}`);
  };
  await settleAll(scratch.tables.map(ready));
}

/** Runs what it is given at most `slots` at a time, in the order given. */
function limiter(slots: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  return async (task) => {
    // A slot freed goes straight to the next in line, so none is taken twice.
    if (running < slots) running++;
    else await new Promise<void>((resolve) => queue.push(resolve));
    try {
      return await task();
    } finally {
      const next = queue.shift();
      if (next) next();
      else running--;
    }
  };
}

/** Waits for all; rejects with the first failure once every one has settled. */
async function settleAll(work: readonly Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Replaces the live tables with their copies in `trx`: drops each live table and moves its copy
 * into the live schema, where it keeps the index names. Queries running on the old tables finish
 * first (the swap waits for their locks) and later ones see only the new tables, never a mix.
 *
 * The live checkpoints of `subscriptions` are locked before the tables, as a live batch locks its
 * checkpoint before it writes: a runner elsewhere that is mid-batch finishes first (the caller
 * then replaces its checkpoint), and one that starts a batch waits for the swap, so the two do
 * not wait on each other (taking the tables first deadlocked with a batch that had written one
 * table and not yet the other).
 */
export async function swapInScratch(trx: Transaction<object>, scratch: ScratchSchema, subscriptions: readonly string[], lockTimeoutMs: number): Promise<void> {
  // A long query on a live table must not queue every other query behind the swap for long:
  // the swap gives up (SQLSTATE 55P03) and the rebuild tries again.
  await sql`SELECT set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, true)`.execute(trx);
  await sql`SELECT 1 FROM ${sql.raw(scratch.liveCheckpoints)} WHERE subscription = ANY (${[...subscriptions].sort()}::text[])
    ORDER BY subscription FOR UPDATE`.execute(trx);
  const live = scratch.tables.map((t) => t.live).sort();
  if (live.length > 0) await sql.raw(`LOCK TABLE ${live.join(', ')} IN ACCESS EXCLUSIVE MODE`).execute(trx);
  for (const table of scratch.tables) {
    await sql.raw(`DROP TABLE ${table.live}`).execute(trx);
    await sql.raw(`ALTER TABLE ${table.copy} SET SCHEMA ${quoteIdentifier(table.liveSchema)}`).execute(trx);
  }
}

export async function dropScratchSchema(db: Kysely<object>, scratch: ScratchSchema): Promise<void> {
  await sql.raw(`DROP SCHEMA IF EXISTS ${quoteIdentifier(scratch.schema)} CASCADE`).execute(db);
}
