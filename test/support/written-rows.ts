import type { SqlClient } from '../../src/db/sql-client.js';

/** Rows a request can leave behind: events, Stripe webhooks, parked work and deadlines. */
export interface WrittenRows {
  readonly events: number;
  readonly webhooks: number;
  readonly parked: number;
  readonly deadlines: number;
}

/**
 * Counts them, so a test can check that a refused request wrote nothing. Meaningful only on an
 * app without background work, where nothing but the request itself writes.
 */
export async function writtenRows(sql: SqlClient): Promise<WrittenRows> {
  const { rows } = await sql.query<WrittenRows>(
    `SELECT (SELECT count(*) FROM tessera_events)::int AS events,
            (SELECT count(*) FROM tessera_stripe_webhooks)::int AS webhooks,
            (SELECT count(*) FROM tessera_parked_work)::int AS parked,
            (SELECT count(*) FROM tessera_deadlines)::int AS deadlines`,
  );
  return rows[0]!;
}
