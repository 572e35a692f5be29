import { hash } from 'node:crypto';

/**
 * The journal's hash chain (docs/ledger.md, "The hash chain"): each entry stores `prev_hash`, the
 * hash of the entry before it in the chain (GENESIS_HASH for the first), and `hash`, the SHA-256
 * of its canonical form, which holds `prev_hash`. Editing an entry or one of its postings, or
 * removing, inserting or reordering entries, leaves an entry whose stored hash no longer matches
 * what its content hashes to, or whose prev_hash is not its predecessor's hash.
 */

/** What the first entry of the chain follows. */
export const GENESIS_HASH = '0'.repeat(64);

/** Names the canonical form, so a later form can never hash alike. */
export const CHAIN_FORMAT = 'tessera.ledger.entry.v1';

/** An integer as the canonical form writes it (decimal), from a number, bigint or a database's text. */
type Integer = number | bigint | string;

/** The last entry of a chain: what the next entry follows. */
export interface ChainTip {
  /** Its place in the chain (1 for the first entry); 0 before any. */
  readonly seq: number;
  readonly hash: string;
}

export const EMPTY_CHAIN: ChainTip = { seq: 0, hash: GENESIS_HASH };

export interface ChainedPosting {
  readonly postingIndex: Integer;
  readonly account: string;
  readonly currency: string;
  /** Minor units, debit positive, credit negative. */
  readonly amount: Integer;
  /** Microseconds since the Unix epoch. */
  readonly occurredAt: Integer;
}

/** Every column of a journal entry's row and of its postings' rows, as the chain seals them. */
export interface ChainedEntry {
  readonly seq: Integer;
  readonly prevHash: string;
  readonly entryId: string;
  readonly sourceEventId: string;
  readonly entryIndex: Integer;
  readonly streamId: string;
  readonly streamRevision: Integer;
  readonly commitPos: Integer;
  readonly preparePos: Integer;
  readonly entryType: string;
  /** Microseconds since the Unix epoch, business time and when the store committed the event. */
  readonly occurredAt: Integer;
  readonly recordedAt: Integer;
  readonly description: string;
  /** The metadata as parsed from its JSON (what jsonb keeps of it). */
  readonly metadata: unknown;
  /** In posting_index order. */
  readonly postings: readonly ChainedPosting[];
}

/**
 * The canonical form of an entry: the JSON array below serialized by RFC 8785 (JSON
 * Canonicalization Scheme: object keys sorted, no whitespace, strings and numbers as ECMAScript
 * writes them). Every integer is a decimal string, so no reader rounds one. JSON's quoting makes
 * it unambiguous: two different entries never have the same form (the account "a:b" with the
 * currency "c" is not "a:" with "b:c"), and anyone with a JCS library can recompute a hash.
 *
 *   [CHAIN_FORMAT, prev_hash, chain_seq, entry_id, source_event_id, entry_index, stream_id,
 *    stream_revision, commit_pos, prepare_pos, entry_type, occurred_at, recorded_at,
 *    description, metadata, [[posting_index, account, currency, amount, occurred_at], ...]]
 */
export function canonicalEntry(entry: ChainedEntry): string {
  const postings = entry.postings.map((p) => [String(p.postingIndex), p.account, p.currency, String(p.amount), String(p.occurredAt)]);
  const fields = [
    CHAIN_FORMAT,
    entry.prevHash,
    String(entry.seq),
    entry.entryId.toLowerCase(),
    entry.sourceEventId.toLowerCase(),
    String(entry.entryIndex),
    entry.streamId,
    String(entry.streamRevision),
    String(entry.commitPos),
    String(entry.preparePos),
    entry.entryType,
    String(entry.occurredAt),
    String(entry.recordedAt),
    entry.description,
  ];
  // JSON.stringify of strings is already RFC 8785's form; only the metadata's keys need sorting.
  return `${JSON.stringify(fields).slice(0, -1)},${canonicalJson(entry.metadata)},${JSON.stringify(postings)}]`;
}

/** The hex SHA-256 of an entry's canonical form: what its `hash` column holds. */
export const entryHash = (entry: ChainedEntry): string => hash('sha256', canonicalEntry(entry), 'hex');

/**
 * RFC 8785 serialization of a parsed JSON value: object keys sorted by UTF-16 code units, no
 * whitespace, numbers and strings as JSON.stringify writes them (which is what the RFC specifies).
 * Built by concatenation: it runs for every entry booked.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number') return JSON.stringify(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value === null) return 'null';
  if (typeof value !== 'object') throw new TypeError(`not a JSON value: a ${typeof value}`);
  let out: string;
  if (Array.isArray(value)) {
    out = '[';
    for (let i = 0; i < value.length; i++) out += (i === 0 ? '' : ',') + canonicalJson(value[i]);
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  out = '{';
  for (let i = 0; i < keys.length; i++) out += `${i === 0 ? '' : ','}${JSON.stringify(keys[i])}:${canonicalJson(record[keys[i]!])}`;
  return `${out}}`;
}
