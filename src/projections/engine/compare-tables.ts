import { sql, type Transaction } from 'kysely';
import type { ScratchTable } from './scratch-schema.js';

export type Row = Record<string, unknown>;

/** How a live table differs from the copy rebuilt from the events. */
export interface TableComparison {
  readonly table: string;
  /** The primary key's columns, by which differing rows are paired (none: whole rows). */
  readonly keyColumns: readonly string[];
  readonly liveRows: number;
  readonly rebuiltRows: number;
  readonly ok: boolean;
  /** Rows the events produce that the live table lacks. */
  readonly missing: readonly Row[];
  /** Live rows the events do not produce. */
  readonly extra: readonly Row[];
  /** Rows whose key is in both but whose values differ, with the columns that differ. */
  readonly differing: readonly { readonly key: Row; readonly columns: readonly string[]; readonly live: Row; readonly rebuilt: Row }[];
  /** Totals, which may exceed the rows listed above (at most `limit` of each are listed). */
  readonly counts: { readonly missing: number; readonly extra: number; readonly differing: number };
}

async function primaryKey(trx: Transaction<object>, table: string): Promise<string[]> {
  const { rows } = await sql<{ column: string }>`
    SELECT a.attname AS column FROM pg_index i
      JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = ${table}::regclass AND i.indisprimary
     ORDER BY array_position(i.indkey::int2[], a.attnum)`.execute(trx);
  return rows.map((row) => row.column);
}

interface DiffRow {
  live: Row | null;
  rebuilt: Row | null;
  missing: string;
  extra: string;
  total: string;
}

/**
 * Compares a live table with its rebuilt copy row by row, in any order: each row becomes jsonb,
 * so any column type compares, and `EXCEPT ALL` keeps duplicates honest. Rows left on either side
 * are paired by primary key into differing rows; the rest are missing or extra.
 */
export async function compareTable(trx: Transaction<object>, table: ScratchTable, limit: number): Promise<TableComparison> {
  const keyColumns = await primaryKey(trx, table.live);
  const sameKey = keyColumns.length === 0 ? sql`false` : sql.join(keyColumns.map((c) => sql`l.row -> ${c}::text = r.row -> ${c}::text`), sql` AND `);
  const live = sql.raw(table.live);
  const copy = sql.raw(table.copy);
  const { rows } = await sql<DiffRow>`
    WITH l AS (SELECT to_jsonb(t) AS row FROM ${live} t),
         r AS (SELECT to_jsonb(t) AS row FROM ${copy} t),
         only_live AS (SELECT row FROM l EXCEPT ALL SELECT row FROM r),
         only_rebuilt AS (SELECT row FROM r EXCEPT ALL SELECT row FROM l)
    SELECT l.row AS live, r.row AS rebuilt,
           (count(*) FILTER (WHERE l.row IS NULL) OVER ())::text AS missing,
           (count(*) FILTER (WHERE r.row IS NULL) OVER ())::text AS extra,
           (count(*) OVER ())::text AS total
      FROM only_live l FULL JOIN only_rebuilt r ON ${sameKey}
     ORDER BY coalesce(l.row, r.row)::text
     LIMIT ${limit * 3}`.execute(trx);
  const counts = await sql<{ live: string; rebuilt: string }>`
    SELECT (SELECT count(*) FROM ${live})::text AS live, (SELECT count(*) FROM ${copy})::text AS rebuilt`.execute(trx);
  const first = rows[0];
  const missing = Number(first?.missing ?? 0);
  const extra = Number(first?.extra ?? 0);
  const differing = Number(first?.total ?? 0) - missing - extra;
  const keyOf = (row: Row) => (keyColumns.length === 0 ? row : Object.fromEntries(keyColumns.map((c) => [c, row[c]])));
  return {
    table: table.name,
    keyColumns,
    liveRows: Number(counts.rows[0]?.live ?? 0),
    rebuiltRows: Number(counts.rows[0]?.rebuilt ?? 0),
    ok: missing + extra + differing === 0,
    missing: rows.flatMap((r) => (r.live === null && r.rebuilt ? [r.rebuilt] : [])).slice(0, limit),
    extra: rows.flatMap((r) => (r.rebuilt === null && r.live ? [r.live] : [])).slice(0, limit),
    differing: rows
      .flatMap(({ live, rebuilt }) =>
        live && rebuilt ? [{ key: keyOf(live), columns: changedColumns(live, rebuilt), live, rebuilt }] : [],
      )
      .slice(0, limit),
    counts: { missing, extra, differing },
  };
}

function changedColumns(live: Row, rebuilt: Row): string[] {
  return Object.keys(live).filter((column) => JSON.stringify(live[column]) !== JSON.stringify(rebuilt[column]));
}
