import { sql, type QueryExecutorProvider } from 'kysely';
import { integerArrayLiteral, textArrayLiteral } from '../db/array-literal.js';
import { LedgerConflictError } from './errors.js';
import { checkEntry, journalEntryId, type JournalEntry } from './journal.js';

export interface PostResult {
  /** Entries written now. */
  readonly booked: number;
  /** Entries whose id was already booked, with the same postings (a replay or retry). */
  readonly alreadyBooked: number;
}

/**
 * Books journal entries in the caller's transaction: the entries, their postings and the
 * running balance of every (account, currency) they touch, in one statement however many
 * entries there are (arrays unnested server-side, so the statement's size and plan do not
 * depend on the batch). Every entry is checked first; one bad entry throws
 * UnbalancedEntryError before anything is written, and the caller's transaction rolls back.
 *
 * An entry id that is already booked is skipped, so a replayed event cannot book twice; if it
 * was booked with different postings, LedgerConflictError.
 */
export async function postEntries(db: QueryExecutorProvider, entries: readonly JournalEntry[]): Promise<PostResult> {
  for (const entry of entries) checkEntry(entry);
  const unique = distinctEntries(entries.map((entry) => ({ ...entry, entryId: journalEntryId(entry.sourceEventId, entry.entryIndex) })));
  if (unique.length === 0) return { booked: 0, alreadyBooked: 0 };
  const e = entryColumns(unique);
  const p = postingColumns(unique);
  // Each posting names its entry by position in the entries' arrays and takes the entry's id and
  // time from the entries it joins, so per-posting values are only small integers and text.
  const { rows } = await sql<{ booked: string }>`
    WITH e AS MATERIALIZED (
      SELECT * FROM unnest(
               ${e.id}::text::uuid[], ${e.source}::text::uuid[], ${e.idx}::text::integer[], ${e.stream}::text::text[],
               ${e.revision}::text::bigint[], ${e.commit}::text::bigint[], ${e.prepare}::text::bigint[], ${e.type}::text::text[],
               ${e.occurred}::text::timestamptz[], ${e.recorded}::text::timestamptz[], ${e.description}::text::text[],
               ${e.metadata}::text::jsonb[])
             WITH ORDINALITY AS e(id, source, idx, stream, revision, commit_pos, prepare_pos, type, occurred, recorded, description, metadata, n)
    ), new_entries AS (
      INSERT INTO ledger_entries (entry_id, source_event_id, entry_index, stream_id, stream_revision, commit_pos,
                                  prepare_pos, entry_type, occurred_at, recorded_at, description, metadata)
      SELECT id, source, idx, stream, revision, commit_pos, prepare_pos, type, occurred, recorded, description, metadata FROM e
      ON CONFLICT (entry_id) DO NOTHING
      RETURNING entry_id, occurred_at
    ), new_postings AS (
      INSERT INTO ledger_postings (entry_id, posting_index, account, currency, amount, occurred_at)
      SELECT ne.entry_id, p.idx, p.account, p.currency, p.amount, ne.occurred_at
        FROM unnest(${p.entry}::text::integer[], ${p.idx}::text::integer[], ${p.account}::text::text[], ${p.currency}::text::text[],
                    ${p.amount}::text::bigint[])
             AS p(entry_n, idx, account, currency, amount)
        JOIN e ON e.n = p.entry_n
        JOIN new_entries ne ON ne.entry_id = e.id
      RETURNING account, currency, amount
    ), touched AS (
      INSERT INTO ledger_balances AS b (account, currency, balance, debits, credits, postings)
      SELECT account, currency, sum(amount), sum(greatest(amount, 0)), sum(greatest(-amount, 0)), count(*)
        FROM new_postings GROUP BY account, currency
      ON CONFLICT (account, currency) DO UPDATE SET
        balance = b.balance + excluded.balance,
        debits = b.debits + excluded.debits,
        credits = b.credits + excluded.credits,
        postings = b.postings + excluded.postings
      RETURNING 1
    )
    SELECT count(*)::text AS booked FROM new_entries`.execute(db);
  const booked = Number(rows[0]?.booked ?? 0);
  if (booked < unique.length) await assertBookedAlike(db, unique);
  return { booked, alreadyBooked: unique.length - booked };
}

type IdentifiedEntry = JournalEntry & { readonly entryId: string };

/** One entry per id; the same id twice with different postings is a conflict. */
function distinctEntries(entries: readonly IdentifiedEntry[]): IdentifiedEntry[] {
  const byId = new Map<string, IdentifiedEntry>();
  for (const entry of entries) {
    const seen = byId.get(entry.entryId);
    if (!seen) byId.set(entry.entryId, entry);
    else if (postingsKey(seen) !== postingsKey(entry)) throw new LedgerConflictError([entry.entryId]);
  }
  return [...byId.values()];
}

const postingsKey = (entry: { readonly postings: readonly { account: string; currency: string; amount: bigint | number | string }[] }) =>
  entry.postings.map((p) => `${p.account}|${p.currency}|${String(p.amount)}`).join(';');

/** The entries as array literals, one per column. */
function entryColumns(entries: readonly IdentifiedEntry[]) {
  const column = (value: (entry: IdentifiedEntry) => string) => textArrayLiteral(entries.map(value));
  return {
    id: column((e) => e.entryId),
    source: column((e) => e.sourceEventId),
    idx: integerArrayLiteral(entries.map((e) => e.entryIndex)),
    stream: column((e) => e.streamId),
    revision: integerArrayLiteral(entries.map((e) => e.streamRevision)),
    commit: integerArrayLiteral(entries.map((e) => e.position.commit)),
    prepare: integerArrayLiteral(entries.map((e) => e.position.prepare)),
    type: column((e) => e.entryType),
    occurred: column((e) => e.occurredAt),
    recorded: column((e) => e.recordedAt.toISOString()),
    description: column((e) => e.description),
    metadata: column((e) => JSON.stringify(e.metadata)),
  };
}

/** Postings as array literals; `entry` is the 1-based position of the posting's entry in `entries`. */
function postingColumns(entries: readonly IdentifiedEntry[]) {
  const entry: number[] = [];
  const idx: number[] = [];
  const account: string[] = [];
  const currency: string[] = [];
  const amount: (bigint | number)[] = [];
  entries.forEach((e, n) => {
    e.postings.forEach((posting, index) => {
      entry.push(n + 1);
      idx.push(index);
      account.push(posting.account);
      currency.push(posting.currency);
      amount.push(posting.amount);
    });
  });
  return {
    entry: integerArrayLiteral(entry),
    idx: integerArrayLiteral(idx),
    account: textArrayLiteral(account),
    currency: textArrayLiteral(currency),
    amount: integerArrayLiteral(amount),
  };
}

/** The entries that were not written now must already be booked exactly as given. */
async function assertBookedAlike(db: QueryExecutorProvider, entries: readonly IdentifiedEntry[]): Promise<void> {
  const { rows } = await sql<{ entry_id: string; account: string; currency: string; amount: string }>`
    SELECT entry_id::text AS entry_id, account, currency, amount::text AS amount FROM ledger_postings
     WHERE entry_id = ANY (${entries.map((e) => e.entryId)}::uuid[]) ORDER BY entry_id, posting_index`.execute(db);
  const stored = new Map<string, { account: string; currency: string; amount: string }[]>();
  for (const row of rows) stored.set(row.entry_id, [...(stored.get(row.entry_id) ?? []), row]);
  const conflicts = entries.filter((entry) => postingsKey({ postings: stored.get(entry.entryId) ?? [] }) !== postingsKey(entry));
  if (conflicts.length > 0) throw new LedgerConflictError(conflicts.map((e) => e.entryId));
}

/** postEntries for a single entry. */
export const postEntry = (db: QueryExecutorProvider, entry: JournalEntry): Promise<PostResult> => postEntries(db, [entry]);
