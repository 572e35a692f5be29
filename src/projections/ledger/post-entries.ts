import { sql, type QueryExecutorProvider } from 'kysely';
import { integerArrayLiteral, textArrayLiteral } from '../../db/array-literal.js';
import { BinaryCopyWriter, uuidBytes } from '../../db/binary-copy.js';
import { sqlErrorInfo } from '../../db/sql-client.js';
import { copyInto, type QueryRunner } from '../../db/kysely.js';
import { LedgerConflictError } from './errors.js';
import { EMPTY_CHAIN, entryHash, GENESIS_HASH, type ChainTip } from './hash-chain.js';
import { addUnits, checkEntry, journalEntryId, type JournalEntry } from './journal.js';

export interface PostResult {
  /** Entries written now. */
  readonly booked: number;
  /** Entries whose id was already booked, with the same postings (a replay or retry). */
  readonly alreadyBooked: number;
  /** The journal's last entry now: what the next entry booked chains to. */
  readonly tip: ChainTip;
}

/**
 * Books journal entries in the caller's transaction: the entries, their postings and the
 * running balance of every (account, currency) they touch. Every entry is checked first; one
 * bad entry throws UnbalancedEntryError before anything is written, and the caller's
 * transaction rolls back.
 *
 * An entry id that is already booked is skipped, so a replayed event cannot book twice; if it
 * was booked with different postings, LedgerConflictError. The projection never hands over a
 * batch twice (its checkpoint moves with the rows), so none is expected: the entries are
 * appended with binary COPY straight away, behind a savepoint, and only should the entries'
 * primary key refuse one does the batch go back to the savepoint, look up which are booked and
 * append the rest. Then the postings (COPY) and the batch's balance changes, summed here, in one
 * statement: four round trips however large the batch, and the server parses nothing but JSON.
 *
 * A rebuild's copy of ledger_entries gets its primary key only once it is full
 * (ledgerProjection's indexesBuiltAfterReplay): there, nothing is looked up, and an id booked
 * twice would fail the key's build at the end, loudly, rather than go unnoticed.
 *
 * Each entry written joins the hash chain in the order given, after `tip` (the journal's last
 * entry, which the projection remembers between batches), or after the last entry the table
 * holds when `tip` is not given. The caller must be the journal's only writer meanwhile: the
 * projection's checkpoint lock sees to it.
 */
export async function postEntries(db: QueryExecutorProvider & QueryRunner, entries: readonly JournalEntry[], tip?: ChainTip): Promise<PostResult> {
  const unique = distinctEntries(entries.map((entry) => ({ ...entry, entryId: journalEntryId(entry.sourceEventId, entry.entryIndex), occurred: checkEntry(entry) })));
  const after = tip ?? (await readChainTip(db));
  if (unique.length === 0) return { booked: 0, alreadyBooked: 0, tip: after };
  const rows = copyRowsOf(unique, after);
  await sql`SAVEPOINT ledger_post_entries`.execute(db);
  try {
    await copyInto(db, 'ledger_entries', ENTRY_COLUMNS, rows.entryRows);
  } catch (error) {
    const { code, constraint } = sqlErrorInfo(error);
    if (code !== UNIQUE_VIOLATION || constraint !== 'ledger_entries_pkey') throw error;
    await sql`ROLLBACK TO SAVEPOINT ledger_post_entries`.execute(db);
    return postSomeBooked(db, unique, after);
  }
  await appendPostings(db, rows);
  return { booked: unique.length, alreadyBooked: 0, tip: rows.tip };
}

/**
 * The journal's last entry in chain order (EMPTY_CHAIN when it has none): one lookup of the
 * chain_seq index, made when the projection does not know it (at start, after a takeover or a
 * failed batch).
 */
export async function readChainTip(db: QueryExecutorProvider): Promise<ChainTip> {
  const { rows } = await sql<{ seq: string; hash: string | null }>`
    SELECT chain_seq::text AS seq, hash FROM ledger_entries WHERE chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1`.execute(db);
  const last = rows[0];
  if (!last) return EMPTY_CHAIN;
  // A hash removed by hand: verify names that entry; the ledger goes on rather than stop.
  return { seq: Number(last.seq), hash: last.hash ?? GENESIS_HASH };
}

const UNIQUE_VIOLATION = '23505';

/** postEntries where some of the entries are booked already: those are compared, the rest booked. */
async function postSomeBooked(db: QueryExecutorProvider & QueryRunner, unique: readonly IdentifiedEntry[], tip: ChainTip): Promise<PostResult> {
  const booked = await alreadyBooked(db, unique);
  const fresh = unique.filter((entry) => !booked.has(entry.entryId));
  await assertBookedAlike(db, unique.filter((entry) => booked.has(entry.entryId)));
  if (fresh.length === 0) return { booked: 0, alreadyBooked: unique.length, tip };
  const rows = copyRowsOf(fresh, tip);
  await copyInto(db, 'ledger_entries', ENTRY_COLUMNS, rows.entryRows);
  await appendPostings(db, rows);
  return { booked: fresh.length, alreadyBooked: unique.length - fresh.length, tip: rows.tip };
}

async function appendPostings(db: QueryExecutorProvider & QueryRunner, rows: ReturnType<typeof copyRowsOf>): Promise<void> {
  await copyInto(db, 'ledger_postings', POSTING_COLUMNS, rows.postingRows);
  await addToBalances(db, rows.balances);
}

/** An entry with its id and its occurredAt in microseconds, both derived once. */
type IdentifiedEntry = JournalEntry & { readonly entryId: string; readonly occurred: number | bigint };

/** One entry per id; the same id twice with different postings is a conflict. */
function distinctEntries(entries: readonly IdentifiedEntry[]): IdentifiedEntry[] {
  const byId = new Map<string, IdentifiedEntry>();
  for (const entry of entries) {
    const seen = byId.get(entry.entryId);
    if (!seen) byId.set(entry.entryId, entry);
    else if (postingsKey(seen) !== postingsKey(entry)) throw new LedgerConflictError([entry.entryId]);
  }
  return byId.size === entries.length ? [...entries] : [...byId.values()];
}

const postingsKey = (entry: { readonly postings: readonly { account: string; currency: string; amount: bigint | number | string }[] }) =>
  entry.postings.map((p) => `${p.account}|${p.currency}|${String(p.amount)}`).join(';');

/** The ids among `entries` that are booked already (none, unless a batch is applied twice). */
async function alreadyBooked(db: QueryExecutorProvider, entries: readonly IdentifiedEntry[]): Promise<Set<string>> {
  const { rows } = await sql<{ entry_id: string }>`
    SELECT entry_id::text AS entry_id FROM ledger_entries
     WHERE entry_id = ANY ((SELECT ${textArrayLiteral(entries.map((e) => e.entryId))}::text::uuid[])::uuid[])`.execute(db);
  return new Set(rows.map((row) => row.entry_id));
}

const ENTRY_COLUMNS = [
  'entry_id',
  'source_event_id',
  'entry_index',
  'stream_id',
  'stream_revision',
  'commit_pos',
  'prepare_pos',
  'entry_type',
  'occurred_at',
  'recorded_at',
  'description',
  'metadata',
  'chain_seq',
  'prev_hash',
  'hash',
] as const;
const POSTING_COLUMNS = ['entry_id', 'posting_index', 'account', 'currency', 'amount', 'occurred_at'] as const;

/** A balance change: the sum of some postings to one (account, currency). */
interface BalanceChange {
  readonly account: string;
  readonly currency: string;
  balance: bigint | number;
  debits: bigint | number;
  credits: bigint | number;
  postings: number;
}

/**
 * The entries and postings as binary COPY rows, the entries chained after `tip` in the order
 * given; what they add to each balance; and the chain's new tip.
 */
function copyRowsOf(entries: readonly IdentifiedEntry[], tip: ChainTip) {
  const entryRows = new BinaryCopyWriter(entries.length * 900);
  const postingRows = new BinaryCopyWriter(entries.length * 5 * 120);
  const balances = new Map<string, Map<string, BalanceChange>>();
  const id = new Uint8Array(16);
  let { seq, hash: prevHash } = tip;
  for (const e of entries) {
    const occurred = e.occurred;
    const recorded = e.recordedAt.getTime() * 1000;
    const metadata = JSON.stringify(e.metadata);
    seq += 1;
    const hash = entryHash({
      seq,
      prevHash,
      entryId: e.entryId,
      sourceEventId: e.sourceEventId,
      entryIndex: e.entryIndex,
      streamId: e.streamId,
      streamRevision: e.streamRevision,
      commitPos: e.position.commit,
      preparePos: e.position.prepare,
      entryType: e.entryType,
      occurredAt: occurred,
      recordedAt: recorded,
      description: e.description,
      // Sealed as jsonb keeps it, which is what it reads back as: the JSON's values, keys in any order.
      metadata: JSON.parse(metadata) as unknown,
      postings: e.postings.map((p, postingIndex) => ({ postingIndex, account: p.account, currency: p.currency, amount: p.amount, occurredAt: occurred })),
    });
    uuidBytes(e.entryId, id);
    entryRows
      .row(ENTRY_COLUMNS.length)
      .uuidFromBytes(id)
      .uuid(e.sourceEventId)
      .int4(e.entryIndex)
      .text(e.streamId)
      .int8(e.streamRevision)
      .int8(e.position.commit)
      .int8(e.position.prepare)
      .text(e.entryType)
      .timestamptzMicros(occurred)
      .timestamptzMicros(recorded)
      .text(e.description)
      .jsonb(metadata)
      .int8(seq)
      .text(prevHash)
      .text(hash);
    prevHash = hash;
    for (let index = 0; index < e.postings.length; index++) {
      const { account, currency, amount } = e.postings[index]!;
      postingRows.row(POSTING_COLUMNS.length).uuidFromBytes(id).int4(index).text(account).text(currency).int8(amount).timestamptzMicros(occurred);
      let byCurrency = balances.get(account);
      if (!byCurrency) balances.set(account, (byCurrency = new Map<string, BalanceChange>()));
      let change = byCurrency.get(currency);
      if (!change) byCurrency.set(currency, (change = { account, currency, balance: 0, debits: 0, credits: 0, postings: 0 }));
      change.balance = addUnits(change.balance, amount);
      if (amount > 0) change.debits = addUnits(change.debits, amount);
      else change.credits = addUnits(change.credits, -amount);
      change.postings += 1;
    }
  }
  return {
    entryRows,
    postingRows,
    balances: [...balances.values()].flatMap((byCurrency) => [...byCurrency.values()]),
    tip: { seq, hash: prevHash },
  };
}

/** Adds the changes to the running balances, opening the accounts first posted to now. */
async function addToBalances(db: QueryExecutorProvider, changes: readonly BalanceChange[]): Promise<void> {
  await sql`
    INSERT INTO ledger_balances AS b (account, currency, balance, debits, credits, postings)
    SELECT * FROM unnest(${textArrayLiteral(changes.map((c) => c.account))}::text::text[], ${textArrayLiteral(changes.map((c) => c.currency))}::text::text[],
                         ${integerArrayLiteral(changes.map((c) => c.balance))}::text::bigint[], ${integerArrayLiteral(changes.map((c) => c.debits))}::text::bigint[],
                         ${integerArrayLiteral(changes.map((c) => c.credits))}::text::bigint[], ${integerArrayLiteral(changes.map((c) => c.postings))}::text::bigint[])
    ON CONFLICT (account, currency) DO UPDATE SET
      balance = b.balance + excluded.balance,
      debits = b.debits + excluded.debits,
      credits = b.credits + excluded.credits,
      postings = b.postings + excluded.postings`.execute(db);
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
export const postEntry = (db: QueryExecutorProvider & QueryRunner, entry: JournalEntry): Promise<PostResult> => postEntries(db, [entry]);
