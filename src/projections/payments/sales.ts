import { sql, type QueryExecutorProvider } from 'kysely';
import type { SaleKind } from './rows.js';

/**
 * Every sale the payments read model holds, of each kind: card purchases (payment_summaries)
 * and group purchases and resales (payment_charges), as one set of rows. /admin/stats reads them
 * over its 24 hours and `tessera verify` over all time, through the same rule of what counts as
 * revenue, so the figure verify holds to the ledger is the one admins see.
 */

/** How /admin/stats buckets a sale by its status. */
export type StatsBucket = 'successful' | 'failed' | 'pending' | 'expired' | 'cancelled';

/**
 * Each kind's statuses. A sale is `successful` once its money was taken, whatever happened to it
 * afterwards (refunded, disputed, released to the seller): its capture stays in the ledger's
 * `gateway:clearing` debits, and what went back is counted apart.
 */
const BUCKETS: Readonly<Record<SaleKind, Readonly<Record<string, StatsBucket>>>> = {
  purchase: {
    completed: 'successful',
    partially_refunded: 'successful',
    refunded: 'successful',
    disputed: 'successful',
    failed: 'failed',
    pending: 'pending',
    processing: 'pending',
    expired: 'expired',
    cancelled: 'cancelled',
  },
  group: { completed: 'successful', collecting: 'pending', funded: 'pending', expired: 'expired', cancelled: 'cancelled' },
  resale: { funded: 'successful', released: 'successful', refunded: 'successful', disputed: 'successful', failed: 'failed', created: 'pending' },
};

export const bucketOf = (kind: SaleKind, status: string): StatsBucket | undefined => BUCKETS[kind][status];

/** Sales of one kind, status and currency. Amounts are text: sums of bigint columns. */
export interface SalesTotal {
  readonly kind: SaleKind;
  readonly status: string;
  readonly currency: string;
  readonly count: number;
  /** What these sales took into `gateway:clearing`. */
  readonly captured: string;
  /** What went back to the buyers: refunds paid and chargebacks. */
  readonly refunded: string;
}

/** The sales created in [since, until), or ever when no period is given, by kind, status and currency. */
export async function salesTotals(db: QueryExecutorProvider, period?: { readonly since: Date; readonly until: Date }): Promise<SalesTotal[]> {
  const within = period ? sql`WHERE created_at >= ${period.since.toISOString()}::timestamptz AND created_at < ${period.until.toISOString()}::timestamptz` : sql``;
  const { rows } = await sql<{ kind: SaleKind; status: string; currency: string; n: string; captured: string; refunded: string }>`
    SELECT kind, status, currency, count(*)::text AS n, sum(captured)::text AS captured, sum(refunded)::text AS refunded
      FROM (SELECT 'purchase' AS kind, status, currency, created_at, captured, refunded + charged_back AS refunded FROM payment_summaries
            UNION ALL
            SELECT kind, status, currency, created_at, captured, refunded FROM payment_charges) sales
      ${within}
     GROUP BY kind, status, currency
     ORDER BY kind, status, currency`.execute(db);
  return rows.map((row) => ({ kind: row.kind, status: row.status, currency: row.currency, count: Number(row.n), captured: row.captured, refunded: row.refunded }));
}

/** Revenue per currency: what the successful sales captured (the figure /admin/stats reports). */
export function salesRevenue(totals: readonly SalesTotal[]): Map<string, bigint> {
  const revenue = new Map<string, bigint>();
  for (const total of totals) {
    if (bucketOf(total.kind, total.status) !== 'successful') continue;
    revenue.set(total.currency, (revenue.get(total.currency) ?? 0n) + BigInt(total.captured));
  }
  return revenue;
}
