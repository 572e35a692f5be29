import { sql, type QueryExecutorProvider } from 'kysely';
import type { SeedFees } from '../../domain/purchase-quote.js';
import { readRefunds, readSummary } from './projection.js';
import type { PaymentSummary, RefundRow, SaleKind } from './rows.js';
import { bucketOf, salesRevenue, salesTotals, type StatsBucket } from './sales.js';
import { sumByKey } from '../engine/sum-by-key.js';
import type { TaxMovement } from '../tax-collections.js';

/** Columns of a payment's row the view regroups (as `fees` and `failure`) or leaves out (the fold's bookkeeping). */
type Regrouped = 'ticketPrice' | 'platformFee' | 'gas' | 'stateTax' | 'localTax' | 'failureReason' | 'failureCode' | 'declineCode' | 'disputeOpen' | 'requestedAt' | 'revision';

/** A payment as the queries answer it. Amounts are integer minor units. */
export type PaymentView = Omit<PaymentSummary, Regrouped> & {
  readonly fees: SeedFees;
  readonly failure: { readonly reason: string; readonly code: string; readonly declineCode: string | null } | null;
};

/** A payment as the read model holds it, or null when it has no row (unknown, or not projected yet). */
export async function findPayment(db: QueryExecutorProvider, paymentId: string): Promise<PaymentView | null> {
  const summary = await readSummary(db, paymentId);
  return summary ? paymentView(summary) : null;
}

function paymentView(summary: PaymentSummary): PaymentView {
  const { ticketPrice, platformFee, gas, stateTax, localTax, failureReason, failureCode, declineCode, disputeOpen: _disputeOpen, requestedAt: _requestedAt, revision: _revision, ...row } = summary;
  return {
    ...row,
    fees: { ticketPrice, platformFee, gasEstimate: gas, stateTax, localTax, total: row.amount },
    failure: failureReason === null ? null : { reason: failureReason, code: failureCode ?? '', declineCode },
  };
}

/** A payment's refunds, oldest first. */
export const refundsOf = (db: QueryExecutorProvider, paymentId: string): Promise<RefundRow[]> => readRefunds(db, [paymentId]);

/**
 * Seed 003's `last24Hours` (GET /admin/stats), over the sales created in [since, until): card
 * purchases, group purchases and resales, each counted once by its own status (sales.ts).
 */
export interface RecentStats {
  readonly total_payments: number;
  readonly successful: number;
  readonly failed: number;
  readonly pending: number;
  readonly expired: number;
  readonly cancelled: number;
  /** Captured, in the platform currency (USD), of the successful sales. */
  readonly total_revenue: number;
  /** Refunds paid and chargebacks, in the platform currency, of those sales. */
  readonly refunded: number;
  /** Captured per currency: over all time, what the ledger's `gateway:clearing` debits are. */
  readonly revenue_by_currency: Readonly<Record<string, number>>;
  /** The same per kind of sale: purchase (a card purchase), group, resale. */
  readonly revenue_by_kind: Readonly<Record<SaleKind, Readonly<Record<string, number>>>>;
}

export async function recentStats(db: QueryExecutorProvider, since: Date, until: Date, platformCurrency = 'USD'): Promise<RecentStats> {
  const totals = await salesTotals(db, { since, until });
  const count = (bucket: StatsBucket) => totals.filter((t) => bucketOf(t.kind, t.status) === bucket).reduce((n, t) => n + t.count, 0);
  const revenue = perCurrency(salesRevenue(totals));
  const revenueOfKind = (kind: SaleKind) => perCurrency(salesRevenue(totals.filter((t) => t.kind === kind)));
  const refunded = totals
    .filter((t) => t.currency === platformCurrency && bucketOf(t.kind, t.status) === 'successful')
    .reduce((n, t) => n + Number(t.refunded), 0);
  return {
    total_payments: totals.reduce((n, t) => n + t.count, 0),
    successful: count('successful'),
    failed: count('failed'),
    pending: count('pending'),
    expired: count('expired'),
    cancelled: count('cancelled'),
    total_revenue: revenue[platformCurrency] ?? 0,
    refunded,
    revenue_by_currency: revenue,
    revenue_by_kind: { purchase: revenueOfKind('purchase'), group: revenueOfKind('group'), resale: revenueOfKind('resale') },
  };
}

const perCurrency = (amounts: ReadonlyMap<string, bigint>): Record<string, number> =>
  Object.fromEntries([...amounts].map(([currency, amount]) => [currency, Number(amount)]));

/** Seed 001's payment metrics over the outcomes recorded in a period. */
export interface PaymentMetricsReport {
  readonly from: string;
  readonly to: string;
  readonly requested: number;
  readonly outcomes: { readonly completed: number; readonly failed: number; readonly expired: number; readonly cancelled: number };
  /** completed / (completed + failed + expired + cancelled); null when nothing ended in the period. */
  readonly successRate: number | null;
  readonly failureRate: number | null;
  readonly failuresByReason: readonly { readonly reason: string; readonly count: number; readonly rate: number }[];
  /** Mean time from request to the gateway's definite answer (captured or failed). */
  readonly averageProcessingMs: number | null;
  readonly revenue: readonly { readonly currency: string; readonly captured: number; readonly refunded: number; readonly chargedBack: number; readonly net: number }[];
}

interface StatsRow {
  currency: string;
  outcome: string;
  reason: string;
  count: string;
  amount: string;
  processing_ms: string;
  processing_count: string;
}

/**
 * Sums the hourly outcome counts of the hours that start in [from, to): of every kind of sale
 * (so its revenue is what the ledger took in), or of one.
 */
export async function paymentMetrics(db: QueryExecutorProvider, from: Date, to: Date, kind?: SaleKind): Promise<PaymentMetricsReport> {
  const ofKind = kind === undefined ? sql`` : sql`AND kind = ${kind}`;
  const { rows } = await sql<StatsRow>`
    SELECT currency, outcome, reason, sum(count)::text AS count, sum(amount)::text AS amount,
           sum(processing_ms)::text AS processing_ms, sum(processing_count)::text AS processing_count
      FROM payment_stats_hourly
     WHERE hour >= ${from.toISOString()}::timestamptz AND hour < ${to.toISOString()}::timestamptz ${ofKind}
     GROUP BY currency, outcome, reason ORDER BY currency, outcome, reason`.execute(db);
  const total = (outcome: string) => rows.filter((r) => r.outcome === outcome).reduce((n, r) => n + Number(r.count), 0);
  const outcomes = { completed: total('completed'), failed: total('failed'), expired: total('expired'), cancelled: total('cancelled') };
  const ended = outcomes.completed + outcomes.failed + outcomes.expired + outcomes.cancelled;
  const rate = (n: number) => (ended === 0 ? null : round4(n / ended));
  // Every way a payment ends unpaid has a reason, so the reasons' rates add up to failureRate: a
  // decline's code, or `expired` or `cancelled`.
  const reasons = new Map<string, number>();
  for (const row of rows) {
    const reason = failureReason(row);
    if (reason !== undefined) reasons.set(reason, (reasons.get(reason) ?? 0) + Number(row.count));
  }
  const timed = rows.reduce((acc, r) => ({ ms: acc.ms + Number(r.processing_ms), n: acc.n + Number(r.processing_count) }), { ms: 0, n: 0 });
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    requested: total('requested'),
    outcomes,
    successRate: rate(outcomes.completed),
    failureRate: rate(outcomes.failed + outcomes.expired + outcomes.cancelled),
    failuresByReason: [...reasons]
      .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
      .map(([reason, count]) => ({ reason, count, rate: round4(count / ended) })),
    averageProcessingMs: timed.n === 0 ? null : Math.round(timed.ms / timed.n),
    revenue: revenueOf(rows),
  };
}

function failureReason(row: StatsRow): string | undefined {
  if (row.outcome === 'expired' || row.outcome === 'cancelled') return row.outcome;
  if (row.outcome === 'failed') return row.reason === '' ? 'unknown' : row.reason;
  return undefined;
}

function revenueOf(rows: readonly StatsRow[]): PaymentMetricsReport['revenue'] {
  const currencies = [...new Set(rows.map((r) => r.currency))].sort();
  return currencies.map((currency) => {
    const sum = (outcome: string) => rows.filter((r) => r.currency === currency && r.outcome === outcome).reduce((n, r) => n + Number(r.amount), 0);
    const captured = sum('completed');
    const refunded = sum('refunded');
    const chargedBack = sum('charged_back');
    return { currency, captured, refunded, chargedBack, net: captured - refunded - chargedBack };
  });
}

const round4 = (x: number) => Math.round(x * 10_000) / 10_000;

/** A day's tax_collections row, with its net: collected - refunded. */
export interface TaxCollectionLine extends Omit<TaxMovement, 'day'> {
  readonly date: string;
  readonly net: number;
}

export interface TaxCollectionsReport {
  readonly days: readonly TaxCollectionLine[];
  /** Per jurisdiction, kind and currency over the whole period. */
  readonly totals: readonly Omit<TaxCollectionLine, 'date'>[];
}

/** Tax collected per day between two dates (inclusive), of one jurisdiction or all. */
export async function taxCollectionsBetween(
  db: QueryExecutorProvider,
  options: { readonly startDate: string; readonly endDate: string; readonly jurisdiction?: string },
): Promise<TaxCollectionsReport> {
  const where = options.jurisdiction === undefined ? sql`` : sql`AND jurisdiction = ${options.jurisdiction}`;
  const { rows } = await sql<{ day: string; jurisdiction: string; kind: string; currency: string; taxable: string; collected: string; refunded: string; transactions: string }>`
    SELECT to_char(day, 'YYYY-MM-DD') AS day, jurisdiction, kind, currency, taxable::text AS taxable, collected::text AS collected,
           refunded::text AS refunded, transactions::text AS transactions
      FROM tax_collections
     WHERE day >= ${options.startDate}::date AND day <= ${options.endDate}::date ${where}
     ORDER BY day, jurisdiction, kind, currency`.execute(db);
  const days = rows.map((r) => ({
    date: r.day,
    jurisdiction: r.jurisdiction,
    kind: r.kind,
    currency: r.currency,
    taxable: Number(r.taxable),
    collected: Number(r.collected),
    refunded: Number(r.refunded),
    net: Number(r.collected) - Number(r.refunded),
    transactions: Number(r.transactions),
  }));
  const totals = sumByKey(
    days.map(({ date: _, ...line }) => line),
    (line) => [line.jurisdiction, line.kind, line.currency],
    ['taxable', 'collected', 'refunded', 'net', 'transactions'],
  );
  const order = (a: Omit<TaxCollectionLine, 'date'>, b: Omit<TaxCollectionLine, 'date'>) =>
    compareText(a.jurisdiction, b.jurisdiction) || compareText(a.kind, b.kind) || compareText(a.currency, b.currency);
  return { days, totals: totals.sort(order) };
}

function compareText(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
