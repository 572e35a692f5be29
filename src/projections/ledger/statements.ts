import { sql, type QueryExecutorProvider } from 'kysely';
import { accountEntries, type AccountEntry } from './queries.js';

/**
 * A payee's statement (a resale seller, a royalty holder): what the ledger owes it at the start
 * and the end of a period, and each entry that moved its payable account in between (sales
 * credited, payouts taken, payouts returned), oldest first, a page at a time. Amounts are what is
 * owed: a credit to the payee positive. `fee` is the platform's leg of the entry (a resale's
 * platform fee, a payout's instant fee).
 */
export interface StatementLine {
  readonly entryId: string;
  readonly entryType: string;
  readonly description: string;
  readonly occurredAt: Date;
  readonly amount: number;
  readonly fee: number;
  readonly escrowId: string | null;
  readonly payoutId: string | null;
}

export interface PayeeStatement {
  readonly account: string;
  readonly currency: string;
  readonly openingBalance: number;
  readonly closingBalance: number;
  /** Payouts taken from the payable account and not yet settled by the gateway, at the period's end. */
  readonly inTransit: number;
  readonly lines: readonly StatementLine[];
  readonly nextCursor: string | null;
}

/** What the ledger owes on a liability account just before `at`, positive. */
async function owedBefore(db: QueryExecutorProvider, account: string, currency: string, at: Date): Promise<number> {
  const { rows } = await sql<{ balance: string }>`
    SELECT coalesce(sum(amount), 0)::text AS balance FROM ledger_postings
     WHERE account = ${account} AND currency = ${currency} AND occurred_at < ${at.toISOString()}::timestamptz`.execute(db);
  return -Number(rows[0]?.balance ?? 0);
}

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

function line(entry: AccountEntry, currency: string): StatementLine {
  const net = entry.amounts.find((a) => a.currency === currency)?.amount ?? 0n;
  const fee = entry.postings.filter((p) => p.account === 'platform:fees' && p.currency === currency).reduce((sum, p) => sum - p.amount, 0n);
  return {
    entryId: entry.entryId,
    entryType: entry.entryType,
    description: entry.description,
    occurredAt: entry.occurredAt,
    amount: -Number(net),
    fee: Number(fee),
    escrowId: text(entry.metadata.escrowId),
    payoutId: text(entry.metadata.payoutId),
  };
}

export async function payeeStatement(
  db: QueryExecutorProvider,
  accounts: { readonly payable: string; readonly paidOut: string },
  options: { readonly currency: string; readonly startDate: Date; readonly endDate: Date; readonly limit: number; readonly after?: string },
): Promise<PayeeStatement> {
  const { currency, startDate, endDate } = options;
  const [openingBalance, closingBalance, inTransit, page] = await Promise.all([
    owedBefore(db, accounts.payable, currency, startDate),
    owedBefore(db, accounts.payable, currency, endDate),
    owedBefore(db, accounts.paidOut, currency, endDate),
    accountEntries(db, accounts.payable, {
      order: 'asc',
      limit: options.limit,
      since: startDate,
      before: endDate,
      ...(options.after === undefined ? {} : { after: options.after }),
    }),
  ]);
  return {
    account: accounts.payable,
    currency,
    openingBalance,
    closingBalance,
    inTransit,
    lines: page.entries.map((entry) => line(entry, currency)),
    nextCursor: page.nextCursor,
  };
}
