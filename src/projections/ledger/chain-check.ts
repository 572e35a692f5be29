import { sql, type QueryExecutorProvider } from 'kysely';
import type { CheckResult } from '../engine/projection.js';
import { entryHash, GENESIS_HASH, type ChainedPosting } from './hash-chain.js';

/** An entry where the journal's hash chain breaks, named for an operator. */
export interface ChainBreak {
  /** Its place in the chain (null: it has none). */
  readonly seq: number | null;
  readonly entryId: string;
  readonly sourceEventId: string;
  readonly streamId: string;
  readonly problem: string;
}

export interface ChainWalkOptions {
  /** Entries read per query (each with its postings). */
  readonly pageSize?: number;
  /** At most this many breaks are listed, the first first; all are counted. */
  readonly limit?: number;
}

export interface ChainWalk {
  /** Entries in the chain. */
  readonly entries: number;
  /** The last entry: its hash, recorded elsewhere, lets a later walk tell that nothing after it was removed. */
  readonly head: { readonly seq: number; readonly entryId: string; readonly hash: string | null } | null;
  readonly breaks: readonly ChainBreak[];
  readonly breakCount: number;
}

export const CHAIN_CHECK = 'every entry matches its hash and follows the one before it';

/** The chain walk as one of the ledger's checks in `verify`. */
export async function chainCheck(db: QueryExecutorProvider): Promise<CheckResult> {
  const walk = await walkChain(db);
  return walk.breakCount === 0
    ? { name: CHAIN_CHECK, ok: true, details: { entries: walk.entries, head: walk.head } }
    : { name: CHAIN_CHECK, ok: false, details: walk.breaks };
}

const PAGE = 1000;
const LISTED = 20;

/**
 * Walks the journal in chain order, a page at a time (the next page is read while this one is
 * hashed), recomputing each entry's hash from its row and its postings' rows. An entry breaks
 * the chain when its stored hash is not what its content hashes to (an amount, account or any
 * other column of it or of a posting edited, a posting added or removed), or when its prev_hash
 * is not the hash of the entry before it, or its chain_seq does not follow that entry's (an
 * entry removed, inserted or moved). Entries outside the chain (no chain_seq) are listed after.
 * Run it in one snapshot (verify's REPEATABLE READ transaction) so the pages agree.
 */
export async function walkChain(db: QueryExecutorProvider, options: ChainWalkOptions = {}): Promise<ChainWalk> {
  const pageSize = options.pageSize ?? PAGE;
  const limit = options.limit ?? LISTED;
  const breaks: ChainBreak[] = [];
  let breakCount = 0;
  const report = (found: ChainBreak) => {
    breakCount++;
    if (breaks.length < limit) breaks.push(found);
  };
  let previous: ChainRow | undefined;
  let entries = 0;
  let page = readPage(db, '0', pageSize);
  for (;;) {
    const rows = await page;
    if (rows.length === 0) break;
    if (rows.length === pageSize) {
      page = readPage(db, rows[rows.length - 1]!.seq, pageSize);
      // Awaited on the next turn; should this page's hashing throw first, it is not left unhandled.
      page.catch(() => undefined);
    }
    for (const row of rows) {
      const problems = problemsOf(row, previous);
      if (problems.length > 0) report({ seq: Number(row.seq), entryId: row.entry_id, sourceEventId: row.source_event_id, streamId: row.stream_id, problem: problems.join('; ') });
      previous = row;
    }
    entries += rows.length;
    if (rows.length < pageSize) break;
  }
  const outside = await unchained(db, limit);
  for (const row of outside.rows) {
    report({ seq: null, entryId: row.entry_id, sourceEventId: row.source_event_id, streamId: row.stream_id, problem: 'it is not in the chain (no chain_seq)' });
  }
  breakCount += outside.count - outside.rows.length;
  const head = previous ? { seq: Number(previous.seq), entryId: previous.entry_id, hash: previous.hash } : null;
  return { entries, head, breaks, breakCount };
}

interface ChainRow {
  seq: string;
  entry_id: string;
  source_event_id: string;
  entry_index: number;
  stream_id: string;
  stream_revision: string;
  commit_pos: string;
  prepare_pos: string;
  entry_type: string;
  occurred_at: string;
  recorded_at: string;
  description: string;
  metadata: string;
  prev_hash: string | null;
  hash: string | null;
  /** JSON: [[posting_index, account, currency, amount, occurred_at], ...] in posting_index order. */
  postings: string;
}

/** Why an entry breaks the chain, if it does: its own content, then its link to the one before. */
function problemsOf(row: ChainRow, previous: ChainRow | undefined): string[] {
  const problems: string[] = [];
  if (row.hash === null || row.prev_hash === null) problems.push('its hash or prev_hash is missing');
  else if (hashOf(row) !== row.hash) problems.push('its content (its columns or its postings) does not match its hash');
  const [seq, expected] = [BigInt(row.seq), previous ? BigInt(previous.seq) + 1n : 1n];
  if (seq > expected) problems.push(`chain_seq ${expected === seq - 1n ? expected : `${expected} to ${seq - 1n}`} missing before it`);
  if (seq < expected) problems.push(`chain_seq ${seq} repeats`);
  const expectedPrev = previous ? previous.hash : GENESIS_HASH;
  if (row.prev_hash !== expectedPrev) {
    problems.push(previous ? `its prev_hash is not the hash of the entry before it (chain_seq ${previous.seq}, ${previous.entry_id})` : 'its prev_hash is not the genesis value');
  }
  return problems;
}

function hashOf(row: ChainRow): string {
  const postings = (JSON.parse(row.postings) as [number, string, string, string, string][]).map(
    ([postingIndex, account, currency, amount, occurredAt]): ChainedPosting => ({ postingIndex, account, currency, amount, occurredAt }),
  );
  return entryHash({
    seq: row.seq,
    prevHash: row.prev_hash ?? '',
    entryId: row.entry_id,
    sourceEventId: row.source_event_id,
    entryIndex: row.entry_index,
    streamId: row.stream_id,
    streamRevision: row.stream_revision,
    commitPos: row.commit_pos,
    preparePos: row.prepare_pos,
    entryType: row.entry_type,
    occurredAt: row.occurred_at,
    recordedAt: row.recorded_at,
    description: row.description,
    metadata: JSON.parse(row.metadata) as unknown,
    postings,
  });
}

/**
 * A timestamptz as microseconds since the Unix epoch, exactly (extract's epoch is a double before
 * PostgreSQL 14): whole seconds, plus the microseconds within the second, both read in UTC.
 */
const micros = (column: string) =>
  sql.raw(
    `(extract(epoch FROM date_trunc('second', ${column} AT TIME ZONE 'UTC'))::bigint * 1000000 + ` +
      `extract(microseconds FROM ${column} AT TIME ZONE 'UTC')::bigint % 1000000)::text`,
  );

/** The entries after chain_seq `after`, in chain order, each with its postings. */
async function readPage(db: QueryExecutorProvider, after: string, pageSize: number): Promise<ChainRow[]> {
  const { rows } = await sql<ChainRow>`
    SELECT e.chain_seq::text AS seq, e.entry_id::text AS entry_id, e.source_event_id::text AS source_event_id, e.entry_index,
           e.stream_id, e.stream_revision::text AS stream_revision, e.commit_pos::text AS commit_pos, e.prepare_pos::text AS prepare_pos,
           e.entry_type, ${micros('e.occurred_at')} AS occurred_at, ${micros('e.recorded_at')} AS recorded_at, e.description,
           e.metadata::text AS metadata, e.prev_hash, e.hash,
           (SELECT coalesce(json_agg(json_build_array(p.posting_index, p.account, p.currency, p.amount::text, ${micros('p.occurred_at')})
                                     ORDER BY p.posting_index), '[]')::text
              FROM ledger_postings p WHERE p.entry_id = e.entry_id) AS postings
      FROM ledger_entries e
     WHERE e.chain_seq > ${after}::bigint
     ORDER BY e.chain_seq
     LIMIT ${pageSize}`.execute(db);
  return rows;
}

/** The first `limit` entries with no chain_seq, in event order, and how many there are. */
async function unchained(db: QueryExecutorProvider, limit: number) {
  const { rows } = await sql<{ entry_id: string; source_event_id: string; stream_id: string }>`
    SELECT entry_id::text AS entry_id, source_event_id::text AS source_event_id, stream_id FROM ledger_entries
     WHERE chain_seq IS NULL ORDER BY commit_pos, prepare_pos, entry_index LIMIT ${limit}`.execute(db);
  if (rows.length < limit) return { rows, count: rows.length };
  const counted = await sql<{ n: string }>`SELECT count(*)::text AS n FROM ledger_entries WHERE chain_seq IS NULL`.execute(db);
  return { rows, count: Number(counted.rows[0]!.n) };
}
