import { sql, type Kysely } from 'kysely';
import { comparePositions, positionToString, type Position } from '../../eventstore/event-store.js';
import type { CheckResult } from '../engine/projection.js';
import { liveCheckpoints } from '../engine/registry.js';
import { salesRevenue, salesTotals } from './sales.js';

export const REVENUE_CHECK = "admin revenue equals the ledger's gateway:clearing debits in every currency";

const CLEARING = 'gateway:clearing';

/** One currency's two figures, as text (sums of bigints). */
interface Figures {
  readonly currency: string;
  readonly adminRevenue: string;
  readonly ledgerClearingDebits: string;
}

/**
 * Issue 23: what /admin/stats calls revenue (all time, per currency) must be what the ledger took
 * into `gateway:clearing`: every card purchase's, group purchase's and resale's capture is one
 * debit there, and nothing else debits it. `verify` runs this on the live tables, in the snapshot
 * it compares them in.
 *
 * The two read models may stand at different checkpoints (another process's runners go on while
 * verify reads). A ledger ahead of the payments read model is read up to the payments'
 * checkpoint, from its postings' positions: an exact comparison. A ledger behind it cannot be
 * wound forward here; since revenue only grows, the ledger's figure must then be at most the
 * payments': a smaller revenue is a difference all the same.
 */
export async function revenueAgreesWithLedger(db: Kysely<object>, projections: { readonly payments: string; readonly ledger: string }): Promise<CheckResult> {
  const checkpoints = await liveCheckpoints(db, 'tessera_checkpoints', [projections.payments, projections.ledger]);
  const paymentsAt = checkpoints.get(projections.payments) ?? null;
  const ledgerAt = checkpoints.get(projections.ledger) ?? null;
  const order = ledgerVersusPayments(ledgerAt, paymentsAt);
  const revenue = salesRevenue(await salesTotals(db));
  const debits = order > 0 ? await clearingDebitsUpTo(db, paymentsAt) : await clearingDebits(db);
  const figures: Figures[] = [...new Set([...revenue.keys(), ...debits.keys()])].sort().map((currency) => ({
    currency,
    adminRevenue: String(revenue.get(currency) ?? 0n),
    ledgerClearingDebits: String(debits.get(currency) ?? 0n),
  }));
  const differing = figures.filter(({ adminRevenue, ledgerClearingDebits }) =>
    order < 0 ? BigInt(adminRevenue) < BigInt(ledgerClearingDebits) : adminRevenue !== ledgerClearingDebits,
  );
  const at = { payments: paymentsAt && positionToString(paymentsAt), ledger: ledgerAt && positionToString(ledgerAt) };
  if (differing.length > 0) return { name: REVENUE_CHECK, ok: false, details: order < 0 ? differing.map((d) => ({ ...d, ledgerBehind: at })) : differing };
  return { name: REVENUE_CHECK, ok: true, details: { currencies: figures, comparison: order < 0 ? 'the ledger is behind: at most the revenue' : 'equal', at } };
}

/** -1 when the ledger is behind the payments read model, 0 level, 1 ahead (no checkpoint: before any event). */
function ledgerVersusPayments(ledger: Position | null, payments: Position | null): number {
  if (ledger === null) return payments === null ? 0 : -1;
  if (payments === null) return 1;
  return comparePositions(ledger, payments);
}

/** The debits to gateway:clearing per currency, as the ledger's balances hold them. */
async function clearingDebits(db: Kysely<object>): Promise<Map<string, bigint>> {
  const { rows } = await sql<{ currency: string; debits: string }>`
    SELECT currency, debits::text AS debits FROM ledger_balances WHERE account = ${CLEARING}`.execute(db);
  return new Map(rows.map((row) => [row.currency, BigInt(row.debits)]));
}

/** The same, from the postings of the entries booked by events up to `position` (none: nothing). */
async function clearingDebitsUpTo(db: Kysely<object>, position: Position | null): Promise<Map<string, bigint>> {
  if (position === null) return new Map();
  const { rows } = await sql<{ currency: string; debits: string }>`
    SELECT p.currency, sum(p.amount)::text AS debits
      FROM ledger_postings p JOIN ledger_entries e ON e.entry_id = p.entry_id
     WHERE p.account = ${CLEARING} AND p.amount > 0
       AND (e.commit_pos, e.prepare_pos) <= (${position.commit.toString()}::bigint, ${position.prepare.toString()}::bigint)
     GROUP BY p.currency`.execute(db);
  return new Map(rows.map((row) => [row.currency, BigInt(row.debits)]));
}
