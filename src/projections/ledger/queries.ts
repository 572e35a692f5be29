import { sql, type QueryExecutorProvider } from 'kysely';
import { z } from 'zod';
import { TesseraError } from '../../errors.js';
import type { JournalEntry } from './journal.js';
import { venueRoyaltyAccount } from './rules/escrow.js';

/**
 * Reads of the ledger. Amounts are bigint minor units with the ledger's sign (debit positive,
 * credit negative): a venue's balance, a liability, reads negative; see docs/ledger.md. Balances
 * "now" come from ledger_balances; balances `asOf` a time sum the postings whose entry occurred
 * at or before it (business time, so an event recorded late still counts at its occurredAt).
 */
export interface CurrencyBalance {
  readonly currency: string;
  readonly balance: bigint;
  /** Totals debited and credited (both positive) and how many postings made them. */
  readonly debits: bigint;
  readonly credits: bigint;
  readonly postings: number;
}

export interface AccountBalance {
  readonly account: string;
  readonly asOf: Date | null;
  readonly balances: readonly CurrencyBalance[];
}

export interface AccountCurrencyBalance extends CurrencyBalance {
  readonly account: string;
}

export interface BalancesUnder {
  readonly prefix: string;
  readonly asOf: Date | null;
  readonly accounts: readonly AccountCurrencyBalance[];
  /** Per currency, the sum over those accounts. */
  readonly totals: readonly CurrencyBalance[];
}

interface BalanceRow {
  account: string;
  currency: string;
  balance: string;
  debits: string;
  credits: string;
  postings: string;
}

const toBalance = ({ account, currency, balance, debits, credits, postings }: BalanceRow): AccountCurrencyBalance => ({
  account,
  currency,
  balance: BigInt(balance),
  debits: BigInt(debits),
  credits: BigInt(credits),
  postings: Number(postings),
});

/**
 * Balances of the accounts selected by `where` (a condition on `account`), now or asOf.
 * Rows are per (account, currency), in that order.
 */
async function balances(db: QueryExecutorProvider, where: ReturnType<typeof sql>, asOf: Date | undefined): Promise<AccountCurrencyBalance[]> {
  const { rows } = asOf
    ? await sql<BalanceRow>`
        SELECT account, currency, sum(amount)::text AS balance, sum(greatest(amount, 0))::text AS debits,
               sum(greatest(-amount, 0))::text AS credits, count(*)::text AS postings
          FROM ledger_postings WHERE ${where} AND occurred_at <= ${asOf.toISOString()}::timestamptz
         GROUP BY account, currency ORDER BY account, currency`.execute(db)
    : await sql<BalanceRow>`
        SELECT account, currency, balance::text AS balance, debits::text AS debits, credits::text AS credits, postings::text AS postings
          FROM ledger_balances WHERE ${where} ORDER BY account, currency`.execute(db);
  return rows.map(toBalance);
}

/** One account's balance in each currency it has seen; ACCOUNT_NOT_FOUND if it has never been posted to. */
export async function accountBalance(db: QueryExecutorProvider, account: string, options: { asOf?: Date } = {}): Promise<AccountBalance> {
  const { rows } = await sql<{ known: boolean }>`SELECT EXISTS (SELECT 1 FROM ledger_balances WHERE account = ${account}) AS known`.execute(db);
  if (!rows[0]?.known) throw new TesseraError('ACCOUNT_NOT_FOUND', `no postings to account ${account}`, { account });
  const found = await balances(db, sql`account = ${account}`, options.asOf);
  return { account, asOf: options.asOf ?? null, balances: found.map(({ account: _, ...rest }) => rest) };
}

/**
 * The balances of every account whose path starts with `prefix` (whole segments, such as
 * `venue:<id>:`), and their totals per currency. An index range scan: accounts sort bytewise.
 */
export async function balancesUnder(db: QueryExecutorProvider, prefix: string, options: { asOf?: Date } = {}): Promise<BalancesUnder> {
  const accounts = await balances(db, sql`account >= ${prefix} AND account < ${prefixEnd(prefix)}`, options.asOf);
  return { prefix, asOf: options.asOf ?? null, accounts, totals: totalsByCurrency(accounts) };
}

/** The smallest string (bytewise) greater than every string starting with `prefix`. */
function prefixEnd(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1);
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}

function totalsByCurrency(rows: readonly CurrencyBalance[]): CurrencyBalance[] {
  const totals = new Map<string, { balance: bigint; debits: bigint; credits: bigint; postings: number }>();
  for (const row of rows) {
    const t = totals.get(row.currency) ?? { balance: 0n, debits: 0n, credits: 0n, postings: 0 };
    totals.set(row.currency, { balance: t.balance + row.balance, debits: t.debits + row.debits, credits: t.credits + row.credits, postings: t.postings + row.postings });
  }
  return [...totals].sort(([a], [b]) => (a < b ? -1 : 1)).map(([currency, t]) => ({ currency, ...t }));
}

export interface TrialBalanceLine {
  readonly currency: string;
  /** Sum of the debit balances and of the credit balances (both positive); equal when the ledger balances. */
  readonly debits: bigint;
  readonly credits: bigint;
  /** debits - credits: zero, or the ledger is broken. */
  readonly net: bigint;
  readonly accounts: number;
}

export interface TrialBalance {
  readonly asOf: Date | null;
  readonly balanced: boolean;
  readonly currencies: readonly TrialBalanceLine[];
}

/** Per currency, the totals of debit and credit balances over every account: they must be equal. */
export async function trialBalance(db: QueryExecutorProvider, options: { asOf?: Date } = {}): Promise<TrialBalance> {
  const perAccount = options.asOf
    ? sql`SELECT currency, sum(amount) AS balance FROM ledger_postings
           WHERE occurred_at <= ${options.asOf.toISOString()}::timestamptz GROUP BY account, currency`
    : sql`SELECT currency, balance FROM ledger_balances`;
  const { rows } = await sql<{ currency: string; debits: string; credits: string; accounts: string }>`
    SELECT currency, sum(greatest(balance, 0))::text AS debits, sum(greatest(-balance, 0))::text AS credits,
           count(*) FILTER (WHERE balance <> 0)::text AS accounts
      FROM (${perAccount}) a GROUP BY currency ORDER BY currency`.execute(db);
  const currencies = rows.map((row) => {
    const debits = BigInt(row.debits);
    const credits = BigInt(row.credits);
    return { currency: row.currency, debits, credits, net: debits - credits, accounts: Number(row.accounts) };
  });
  return { asOf: options.asOf ?? null, balanced: currencies.every((c) => c.net === 0n), currencies };
}

export interface EntryPosting {
  readonly account: string;
  readonly currency: string;
  readonly amount: bigint;
}

/** A journal entry as stored, with all its postings. */
export interface JournalEntryView extends Omit<JournalEntry, 'position' | 'occurredAt' | 'postings'> {
  readonly entryId: string;
  /** The source event's position in `$all` (commit/prepare). */
  readonly position: string;
  readonly occurredAt: Date;
  readonly postings: readonly EntryPosting[];
}

/** An entry as an account's statement shows it: with what it did to that account. */
export interface AccountEntry extends JournalEntryView {
  /** The entry's net effect on the account, per currency. */
  readonly amounts: readonly { readonly currency: string; readonly amount: bigint }[];
}

export interface AccountEntriesPage {
  readonly entries: readonly AccountEntry[];
  /** Pass as `after` for the next page; null on the last page. */
  readonly nextCursor: string | null;
}

export interface AccountEntriesOptions {
  readonly limit?: number;
  /** An opaque cursor from a previous page. */
  readonly after?: string;
  /** By occurredAt, then entry id: newest first (default) or oldest first. */
  readonly order?: 'desc' | 'asc';
  /** Only entries that occurred at or before this time (an account's statement as of then). */
  readonly asOf?: Date;
  /** Only entries that occurred at or after this time (a statement's period, with `before`). */
  readonly since?: Date;
  /** Only entries that occurred before this time. */
  readonly before?: Date;
}

/** The entries that posted to an account, a page at a time (keyset pagination on occurredAt and entry id). */
export async function accountEntries(db: QueryExecutorProvider, account: string, options: AccountEntriesOptions = {}): Promise<AccountEntriesPage> {
  const limit = Math.max(1, Math.min(options.limit ?? 50, 1000));
  const desc = (options.order ?? 'desc') === 'desc';
  const after = options.after === undefined ? undefined : decodeCursor(options.after);
  const keyset = after
    ? desc
      ? sql`AND (occurred_at, entry_id) < (${after.occurredAt}::timestamptz, ${after.entryId}::uuid)`
      : sql`AND (occurred_at, entry_id) > (${after.occurredAt}::timestamptz, ${after.entryId}::uuid)`
    : sql``;
  const until = options.asOf ? sql`AND occurred_at <= ${options.asOf.toISOString()}::timestamptz` : sql``;
  const since = options.since ? sql`AND occurred_at >= ${options.since.toISOString()}::timestamptz` : sql``;
  const before = options.before ? sql`AND occurred_at < ${options.before.toISOString()}::timestamptz` : sql``;
  const direction = sql.raw(desc ? 'DESC' : 'ASC');
  const { rows } = await sql<{ entry_id: string; occurred_at: string }>`
    SELECT entry_id::text AS entry_id, occurred_at::text AS occurred_at FROM ledger_postings
     WHERE account = ${account} ${keyset} ${until} ${since} ${before}
     GROUP BY entry_id, occurred_at ORDER BY occurred_at ${direction}, entry_id ${direction} LIMIT ${limit + 1}`.execute(db);
  const page = rows.slice(0, limit);
  const entries = await entriesById(db, page.map((r) => r.entry_id));
  const last = page[page.length - 1];
  return {
    entries: entries.map((entry) => ({ ...entry, amounts: netOn(entry.postings, account) })),
    nextCursor: rows.length > limit && last ? encodeCursor({ occurredAt: last.occurred_at, entryId: last.entry_id }) : null,
  };
}

/** Every entry booked by events of one stream, in stream order: the money side of an audit trail. */
export async function streamEntries(db: QueryExecutorProvider, streamId: string): Promise<JournalEntryView[]> {
  const { rows } = await sql<{ entry_id: string }>`
    SELECT entry_id::text AS entry_id FROM ledger_entries WHERE stream_id = ${streamId}
     ORDER BY stream_revision, entry_index`.execute(db);
  return entriesById(db, rows.map((r) => r.entry_id));
}

interface EntryRow {
  entry_id: string;
  source_event_id: string;
  entry_index: number;
  stream_id: string;
  stream_revision: string;
  position: string;
  entry_type: string;
  occurred_at: Date;
  recorded_at: Date;
  description: string;
  metadata: Record<string, unknown>;
}

/** Entries with their postings, in the order of `ids`. */
async function entriesById(db: QueryExecutorProvider, ids: readonly string[]): Promise<JournalEntryView[]> {
  if (ids.length === 0) return [];
  const [entries, postings] = await Promise.all([
    sql<EntryRow>`
      SELECT entry_id::text AS entry_id, source_event_id::text AS source_event_id, entry_index, stream_id,
             stream_revision::text AS stream_revision, commit_pos::text || '/' || prepare_pos::text AS position,
             entry_type, occurred_at, recorded_at, description, metadata
        FROM ledger_entries WHERE entry_id = ANY (${ids}::uuid[])`.execute(db),
    sql<{ entry_id: string; account: string; currency: string; amount: string }>`
      SELECT entry_id::text AS entry_id, account, currency, amount::text AS amount FROM ledger_postings
       WHERE entry_id = ANY (${ids}::uuid[]) ORDER BY entry_id, posting_index`.execute(db),
  ]);
  const legs = new Map<string, EntryPosting[]>();
  for (const p of postings.rows) {
    legs.set(p.entry_id, [...(legs.get(p.entry_id) ?? []), { account: p.account, currency: p.currency, amount: BigInt(p.amount) }]);
  }
  const byId = new Map(entries.rows.map((row) => [row.entry_id, row]));
  return ids.flatMap((id) => {
    const row = byId.get(id);
    return row
      ? [
          {
            entryId: row.entry_id,
            sourceEventId: row.source_event_id,
            entryIndex: row.entry_index,
            streamId: row.stream_id,
            streamRevision: Number(row.stream_revision),
            position: row.position,
            entryType: row.entry_type,
            occurredAt: row.occurred_at,
            recordedAt: row.recorded_at,
            description: row.description,
            metadata: row.metadata,
            postings: legs.get(id) ?? [],
          },
        ]
      : [];
  });
}

function netOn(postings: readonly EntryPosting[], account: string): { currency: string; amount: bigint }[] {
  const net = new Map<string, bigint>();
  for (const p of postings) if (p.account === account) net.set(p.currency, (net.get(p.currency) ?? 0n) + p.amount);
  return [...net].map(([currency, amount]) => ({ currency, amount }));
}

interface Cursor {
  readonly occurredAt: string;
  readonly entryId: string;
}

const encodeCursor = (cursor: Cursor): string => Buffer.from(JSON.stringify([cursor.occurredAt, cursor.entryId])).toString('base64url');

/**
 * A time as occurred_at::text gives it (2026-11-22 12:00:00.123456+00), checked field by field so
 * that PostgreSQL's ::timestamptz cast cannot fail on it: a real calendar date in 1970..9999, a real
 * time of day and an offset within ±15:59. It stays text, keeping the microseconds a Date would drop.
 */
function isCursorTime(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:Z|[+-](\d{2})(?::?(\d{2}))?)?$/.exec(text);
  if (!match) return false;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = match.slice(1).map((part) => Number(part ?? 0)) as [
    number, number, number, number, number, number, number, number,
  ];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  return (
    year >= 1970 &&
    year <= 9999 &&
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    hour < 24 &&
    minute < 60 &&
    second < 60 &&
    offsetHours < 16 &&
    offsetMinutes < 60
  );
}

function decodeCursor(text: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      const [occurredAt, entryId] = value as [string, string];
      if (isCursorTime(occurredAt) && z.uuid().safeParse(entryId).success) return { occurredAt, entryId };
    }
  } catch {
    // falls through to the error below
  }
  throw new TesseraError('VALIDATION_ERROR', 'invalid cursor', { errors: [{ field: 'query.after', message: 'not a cursor this API returned' }] });
}

export interface RoyaltyReport {
  readonly totalRoyalties: number;
  readonly transactionCount: number;
  readonly averageRoyalty: number;
  readonly byEvent: { eventId: string; eventName: string | null; royalties: number; transactions: number }[];
}

/** Half-up integer division of non-negative amounts. */
const divideHalfUp = (total: number, count: number): number => (count === 0 ? 0 : Math.floor((2 * total + count) / (2 * count)));

/**
 * The venue's resale royalties from the ledger: the credits to `royalty:venue:<id>` booked by
 * escrow releases in [startDate, endDate), by event. Tessera keeps no event names, so
 * `eventName` is null. Only releases count: a royalty payout the gateway refused credits the
 * account back too, and that is money returned, not a royalty earned.
 */
export async function royaltyReport(db: QueryExecutorProvider, venueId: string, range: { startDate?: Date; endDate?: Date }): Promise<RoyaltyReport> {
  const from = range.startDate ? sql`AND p.occurred_at >= ${range.startDate}` : sql``;
  const to = range.endDate ? sql`AND p.occurred_at < ${range.endDate}` : sql``;
  const { rows } = await sql<{ event_id: string; royalties: string; transactions: number }>`
    SELECT e.metadata->>'eventId' AS event_id, (-sum(p.amount))::text AS royalties, count(*)::int AS transactions
      FROM ledger_postings p JOIN ledger_entries e ON e.entry_id = p.entry_id
     WHERE p.account = ${venueRoyaltyAccount(venueId)} AND p.amount < 0 AND e.entry_type = 'escrow_released' ${from} ${to}
     GROUP BY 1 ORDER BY sum(p.amount), 1`.execute(db);
  const byEvent = rows.map((row) => ({ eventId: row.event_id, eventName: null, royalties: Number(row.royalties), transactions: row.transactions }));
  const totalRoyalties = byEvent.reduce((sum, e) => sum + e.royalties, 0);
  const transactionCount = byEvent.reduce((sum, e) => sum + e.transactions, 0);
  return { totalRoyalties, transactionCount, averageRoyalty: divideHalfUp(totalRoyalties, transactionCount), byEvent };
}
