import type { ObservedCounts, RiskFeatureStore, RiskObservation, VelocityLimits } from '../commands/risk.js';
import type { SqlClient } from '../db/sql-client.js';

interface CountsRow {
  readonly counts: Omit<ObservedCounts, 'userFirstSeen'> & { readonly userFirstSeen: string | null; readonly recorded: boolean; readonly known: boolean };
}

/** The limits in the order `tessera_risk_observe` reads them (migrations/0012_risk_observations.sql). */
export const limitArray = (l: VelocityLimits): number[] => [l.userHour, l.userDay, l.userWeek, l.ipMinute, l.ipHour, l.cardDay, l.cardUsers, l.eventTickets];

/**
 * The risk features in the SQL store (no Redis configured): one statement per purchase, the
 * plpgsql function that locks, counts and records (exact under concurrency, see the migration).
 * Rows are kept until `purge`, which folds them into per-user history and per-event tickets.
 */
export function createSqlRiskFeatureStore(sql: SqlClient): RiskFeatureStore {
  return {
    kind: 'sql',
    async observe(o: RiskObservation, limits: VelocityLimits) {
      const { rows } = await sql.query<CountsRow>(
        'SELECT tessera_risk_observe($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::bigint[]) AS counts',
        [o.id, o.at, o.userId, o.ip ?? null, o.card, o.device ?? null, o.eventId, o.tickets, o.amount, limitArray(limits)],
      );
      const { recorded, known, userFirstSeen, ...counts } = rows[0]!.counts;
      return { recorded, known, counts: { ...counts, userFirstSeen: userFirstSeen === null ? null : new Date(userFirstSeen) } };
    },
    async forget(id) {
      await sql.query('DELETE FROM tessera_risk_observations WHERE id = $1', [id]);
    },
    async releaseTickets(id) {
      await sql.query('UPDATE tessera_risk_observations SET tickets_released = true WHERE id = $1', [id]);
    },
    async purge(olderThan) {
      // bigint: a string from pg, a number from PGlite.
      const { rows } = await sql.query<{ purged: string | number }>('SELECT tessera_risk_purge($1) AS purged', [olderThan]);
      return Number(rows[0]!.purged);
    },
  };
}
