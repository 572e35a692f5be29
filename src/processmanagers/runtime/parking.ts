import type { SqlExecutor } from '../../db/sql-client.js';

/**
 * Work a process manager, deadline or webhook gave up on after its retries: kept with its
 * error and attempt count until an operator retries it (`retryParked`), never dropped.
 */
export interface ParkedWork {
  readonly id: string;
  /** Who parked it: `pm:<name>`, `deadline`, `webhook:stripe`. */
  readonly source: string;
  readonly item: Readonly<Record<string, unknown>>;
  readonly error: string;
  readonly attempts: number;
  readonly parkedAt: Date;
  readonly retriedAt: Date | null;
  readonly resolvedAt: Date | null;
}

interface ParkedRow {
  id: string;
  source: string;
  item: Record<string, unknown>;
  error: string;
  attempts: number;
  parked_at: Date;
  retried_at: Date | null;
  resolved_at: Date | null;
}

const toParked = (row: ParkedRow): ParkedWork => ({
  id: row.id,
  source: row.source,
  item: row.item,
  error: row.error,
  attempts: row.attempts,
  parkedAt: new Date(row.parked_at),
  retriedAt: row.retried_at && new Date(row.retried_at),
  resolvedAt: row.resolved_at && new Date(row.resolved_at),
});

export interface Parking {
  park(work: { id: string; source: string; item: Record<string, unknown>; error: string; attempts: number; at: Date }): Promise<void>;
  list(options?: { includeResolved?: boolean; limit?: number }): Promise<ParkedWork[]>;
  get(id: string): Promise<ParkedWork | undefined>;
  /** Records a retry: resolved when it worked, or the new error when it did not. */
  recordRetry(id: string, at: Date, outcome: { ok: true } | { ok: false; error: string }): Promise<void>;
}

export function sqlParking(sql: SqlExecutor): Parking {
  return {
    async park(work) {
      // Parking again (the item failed again after a retry) reopens the row with the new error.
      await sql.query(
        `INSERT INTO tessera_parked_work (id, source, item, error, attempts, parked_at) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (id) DO UPDATE SET error = EXCLUDED.error, attempts = tessera_parked_work.attempts + EXCLUDED.attempts,
             parked_at = EXCLUDED.parked_at, resolved_at = NULL`,
        [work.id, work.source, JSON.stringify(work.item), work.error, work.attempts, work.at],
      );
    },
    async list(options = {}) {
      const { rows } = await sql.query<ParkedRow>(
        `SELECT * FROM tessera_parked_work WHERE $1::boolean OR resolved_at IS NULL ORDER BY parked_at, id LIMIT $2`,
        [options.includeResolved ?? false, options.limit ?? 100],
      );
      return rows.map(toParked);
    },
    async get(id) {
      const { rows } = await sql.query<ParkedRow>('SELECT * FROM tessera_parked_work WHERE id = $1', [id]);
      return rows[0] && toParked(rows[0]);
    },
    async recordRetry(id, at, outcome) {
      await sql.query(
        outcome.ok
          ? 'UPDATE tessera_parked_work SET retried_at = $2, resolved_at = $2 WHERE id = $1'
          : 'UPDATE tessera_parked_work SET retried_at = $2, attempts = attempts + 1, error = $3 WHERE id = $1',
        outcome.ok ? [id, at] : [id, at, outcome.error],
      );
    },
  };
}
