import { randomBytes } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import { quoteIdentifier } from '../db/sql-client.js';
import type { Projection } from './projection.js';

/**
 * A scratch schema holds empty copies of some projections' tables (CREATE TABLE ... LIKE, so
 * columns, defaults, constraints and indexes match) and a checkpoints table of its own. A
 * transaction that puts the scratch schema first on its search_path runs a projection's
 * unchanged handler against the copies: that is how rebuild and verify replay history beside
 * the live tables.
 *
 * Copies are filled as a bulk load: they are UNLOGGED (no write-ahead log while replaying; a
 * crash loses only the scratch work), and the indexes a projection lists in
 * `indexesBuiltAfterReplay` are built once at the end instead of maintained row by row.
 * `finishScratch` makes the copies durable and complete before they are swapped in.
 */
export interface ScratchSchema {
  readonly schema: string;
  readonly tables: readonly ScratchTable[];
  /** The live checkpoints table, schema-qualified and quoted. */
  readonly liveCheckpoints: string;
}

export interface ScratchTable {
  readonly name: string;
  readonly liveSchema: string;
  /** Schema-qualified, quoted names of the live table and of its copy. */
  readonly live: string;
  readonly copy: string;
  /** Statements that build the copy's indexes left out until the replay is done. */
  readonly deferredIndexes: readonly string[];
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
 * answering the statements that build them again.
 */
async function deferIndexes(trx: Transaction<object>, schema: string, copy: string, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const { rows } = await sql<{ name: string; index_def: string; constraint_def: string | null }>`
    SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS index_def, pg_get_constraintdef(k.oid) AS constraint_def
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid
     WHERE i.indrelid = ${copy}::regclass AND c.relname = ANY (${names}::text[])`.execute(trx);
  const builds: string[] = [];
  for (const { name, index_def, constraint_def } of rows) {
    if (constraint_def === null) {
      builds.push(index_def);
      await sql.raw(`DROP INDEX ${qualified(schema, name)}`).execute(trx);
    } else {
      builds.push(`ALTER TABLE ${copy} ADD CONSTRAINT ${quoteIdentifier(name)} ${constraint_def}`);
      await sql.raw(`ALTER TABLE ${copy} DROP CONSTRAINT ${quoteIdentifier(name)}`).execute(trx);
    }
  }
  return builds;
}

async function indexNames(trx: Transaction<object>, table: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE i.indrelid = ${table}::regclass ORDER BY c.relname`.execute(trx);
  return rows.map((row) => row.name);
}

/** Creates the scratch schema with empty copies of every table the projections own. */
export async function createScratchSchema(db: Kysely<object>, projections: readonly Projection[], purpose: string): Promise<ScratchSchema> {
  return db.transaction().execute(async (trx) => {
    const checkpointsSchema = await liveSchemaOf(trx, 'tessera_checkpoints');
    const schema = `${checkpointsSchema.slice(0, 30)}_${purpose}_${randomBytes(4).toString('hex')}`;
    await sql.raw(`CREATE SCHEMA ${quoteIdentifier(schema)}`).execute(trx);
    const liveCheckpoints = qualified(checkpointsSchema, 'tessera_checkpoints');
    await sql.raw(`CREATE UNLOGGED TABLE ${qualified(schema, 'tessera_checkpoints')} (LIKE ${liveCheckpoints} INCLUDING ALL)`).execute(trx);
    const tables: ScratchTable[] = [];
    for (const projection of projections) {
      const deferred: string[] = [];
      for (const name of projection.tables) {
        const liveSchema = await liveSchemaOf(trx, name);
        const [live, copy] = [qualified(liveSchema, name), qualified(schema, name)];
        const problems = await copyProblems(trx, live);
        if (problems.length > 0) {
          throw new ProjectionTableError(`table ${name} cannot be rebuilt beside itself: it has ${problems.join(', ')}`);
        }
        await sql.raw(`CREATE UNLOGGED TABLE ${copy} (LIKE ${live} INCLUDING ALL)`).execute(trx);
        const [liveIndexes, copyIndexes] = [await indexNames(trx, live), await indexNames(trx, copy)];
        if (liveIndexes.join() !== copyIndexes.join()) {
          throw new ProjectionTableError(
            `table ${name}: indexes [${liveIndexes.join(', ')}] must carry PostgreSQL's default names ` +
              `[${copyIndexes.join(', ')}] so a swapped-in copy keeps them`,
          );
        }
        const deferredIndexes = await deferIndexes(trx, schema, copy, projection.indexesBuiltAfterReplay);
        deferred.push(...deferredIndexes);
        tables.push({ name, liveSchema, live, copy, deferredIndexes });
      }
      const unknown = projection.indexesBuiltAfterReplay.length - deferred.length;
      if (unknown > 0) {
        throw new ProjectionTableError(`projection ${projection.name}: indexesBuiltAfterReplay names ${unknown} index(es) its tables do not have`);
      }
    }
    return { schema, tables, liveCheckpoints };
  });
}

/**
 * Makes `trx` read and write the scratch copies (and their checkpoints) first, until the
 * returned function puts the search_path back (or the transaction ends).
 */
export async function redirectToScratch(trx: Transaction<object>, scratch: ScratchSchema): Promise<() => Promise<void>> {
  const { rows } = await sql<{ previous: string }>`
    SELECT s.previous, set_config('search_path', ${quoteIdentifier(scratch.schema)} || ', ' || s.previous, true)
      FROM (SELECT current_setting('search_path') AS previous) s`.execute(trx);
  const previous = rows[0]!.previous;
  return async () => void (await sql`SELECT set_config('search_path', ${previous}, true)`.execute(trx));
}

/** Sort memory for building a copy's deferred indexes on PostgreSQL (its default is 64 MB). */
const INDEX_BUILD_MEMORY = '256MB';

/**
 * Readies the copies to go live: written to the write-ahead log (SET LOGGED), their deferred
 * indexes built, and fresh planner statistics, so queries plan well from the moment of the swap.
 * On PostgreSQL each table is readied in a transaction of its own, all at once on separate
 * connections (the server then works on several cores), with more sort memory for its indexes;
 * PGlite has one connection, and its memory is the process's, so there they go one by one.
 */
export async function finishScratch(db: Kysely<object>, scratch: ScratchSchema, dialect: 'postgres' | 'pglite'): Promise<void> {
  const finish = (table: ScratchTable) =>
    db.transaction().execute(async (trx) => {
      if (dialect === 'postgres') await sql`SELECT set_config('maintenance_work_mem', ${INDEX_BUILD_MEMORY}, true)`.execute(trx);
      await sql.raw(`ALTER TABLE ${table.copy} SET LOGGED`).execute(trx);
      for (const definition of table.deferredIndexes) await sql.raw(definition).execute(trx);
      await sql.raw(`ANALYZE ${table.copy}`).execute(trx);
    });
  if (dialect === 'postgres') await Promise.all(scratch.tables.map(finish));
  else for (const table of scratch.tables) await finish(table);
}

/**
 * Replaces the live tables with their copies in `trx`: drops each live table and moves its copy
 * into the live schema, where it keeps the index names. Queries running on the old tables finish
 * first (the swap waits for their locks) and later ones see only the new tables, never a mix.
 */
export async function swapInScratch(trx: Transaction<object>, scratch: ScratchSchema, lockTimeoutMs: number): Promise<void> {
  // A long query on a live table must not queue every other query behind the swap for long:
  // the swap gives up (SQLSTATE 55P03) and the rebuild tries again.
  await sql`SELECT set_config('lock_timeout', ${`${lockTimeoutMs}ms`}, true)`.execute(trx);
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
