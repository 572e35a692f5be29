import { sql, type Kysely } from 'kysely';
import { comparePositions, type Position, type RecordedEvent } from '../../eventstore/event-store.js';
import { defineProjection, type BatchContext, type CheckResult, type Projection } from '../engine/projection.js';
import { chainCheck } from './chain-check.js';
import type { ChainTip } from './hash-chain.js';
import type { JournalEntry, Posting } from './journal.js';
import { postEntries } from './post-entries.js';
import type { LedgerTables } from './tables.js';

/** What a posting rule books for an event: one journal entry. */
export interface Booking {
  /** Defaults to the event's type. */
  readonly entryType?: string;
  readonly description: string;
  /** Debit positive, credit negative (see `debit` and `credit`); they must sum to zero per currency. */
  readonly postings: readonly Posting[];
  /** What the rule decided beyond the amounts (rates, schedule), kept with the entry. */
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** An event type's posting rule: the entries it books (none, for an event that moves no money). */
export type PostingRule<Type extends string = string, Data = unknown> = (
  event: RecordedEvent<Type, Data>,
) => Booking | readonly Booking[] | null;

/**
 * The posting-rules registry: for each money-moving event type, the rule that books it. `Events`
 * is the union of `{ type, data }` shapes of the event catalogue, so each rule sees its own
 * event's data typed.
 */
export type PostingRules<Events extends { readonly type: string; readonly data: unknown } = { type: string; data: unknown }> = {
  readonly [Type in Events['type']]?: PostingRule<Type, Extract<Events, { readonly type: Type }>['data']>;
};

export interface LedgerProjectionOptions {
  /** Bump it whenever a rule books differently: the ledger is then rebuilt beside the live one. */
  readonly version: number;
  readonly name?: string;
}

export const LEDGER_TABLES = ['ledger_entries', 'ledger_postings', 'ledger_balances'] as const;

/**
 * The ledger projection: each event with a rule books its entries, all of a batch's entries in
 * one statement. Zero-amount legs are dropped (a 0% tax line books nothing) and an entry whose
 * every leg is zero books nothing; any other malformed or unbalanced entry throws
 * UnbalancedEntryError, which rolls the batch back and stops the projection until it is fixed.
 *
 * The entries join the journal's hash chain in the order they are booked: by the event's
 * position, then its entries in order, which a rebuild repeats. The chain's last hash is kept
 * in memory from one batch to the next, per tables (live, or a rebuild's copies), so a batch
 * looks nothing up; it is read from the table only when the batch does not follow the one this
 * process last wrote there (at start, after another process ran the ledger, after a failure).
 * One batch at a time writes a ledger's tables: the projection's lock and checkpoint
 * compare-and-set see to it (apply-batch.ts).
 */
export function ledgerProjection<Events extends { readonly type: string; readonly data: unknown }>(
  rules: PostingRules<Events>,
  options: LedgerProjectionOptions,
): Projection {
  const ruleFor = (type: string) => (rules as Readonly<Record<string, PostingRule | undefined>>)[type];
  const tips = new WeakMap<object, { readonly after: Position; readonly tip: ChainTip }>();
  /** The tip remembered for the tables, if it is theirs as of the checkpoint the batch follows. */
  const knownTip = ({ previous, tables }: BatchContext): ChainTip | undefined => {
    const known = tips.get(tables);
    tips.delete(tables);
    return known && previous && comparePositions(known.after, previous) === 0 ? known.tip : undefined;
  };
  return defineProjection<LedgerTables>({
    name: options.name ?? 'ledger',
    version: options.version,
    tables: LEDGER_TABLES,
    // All built once the copy is full: postEntries looks nothing up while no entry conflicts,
    // and an entry id booked twice fails the primary key's build (see postEntries).
    indexesBuiltAfterReplay: [
      'ledger_entries_pkey',
      'ledger_entries_stream_id_stream_revision_idx',
      // Only finds the chain's tip when it is not known: a replay looks once, in the empty copy.
      'ledger_entries_chain_seq_idx',
      'ledger_postings_pkey',
      'ledger_postings_account_occurred_at_entry_id_idx',
    ],
    async handle(events, trx, batch) {
      const entries = events.flatMap((event) => {
        const rule = ruleFor(event.type);
        return rule ? entriesFor(event, rule(event)) : [];
      });
      let tip = knownTip(batch);
      if (entries.length > 0) tip = (await postEntries(trx, entries, tip)).tip;
      if (tip) tips.set(batch.tables, { after: batch.next, tip });
    },
    check: ledgerChecks,
  });
}

function entriesFor(event: RecordedEvent, booked: Booking | readonly Booking[] | null): JournalEntry[] {
  if (booked === null) return [];
  const bookings: readonly Booking[] = isBookingList(booked) ? booked : [booked];
  const { correlationId, causationId, tenantId, actor } = event.metadata;
  return bookings.flatMap((booking, entryIndex) => {
    const postings = booking.postings.filter((p) => p.amount !== 0 && p.amount !== 0n);
    if (postings.length === 0 && booking.postings.length > 0) return [];
    return [
      {
        sourceEventId: event.id,
        entryIndex,
        streamId: event.streamId,
        streamRevision: event.revision,
        position: event.position,
        entryType: booking.entryType ?? event.type,
        occurredAt: event.metadata.occurredAt,
        recordedAt: event.recordedAt,
        description: booking.description,
        metadata: { correlationId, causationId, tenantId, actor, ...booking.metadata },
        postings,
      },
    ];
  });
}

const isBookingList = (booked: Booking | readonly Booking[]): booked is readonly Booking[] => Array.isArray(booked);

/** At most this many offending rows are listed per check. */
const LISTED = 20;

/** The ledger's own invariants, which `verify` checks on the live tables. */
export async function ledgerChecks(db: Kysely<LedgerTables>): Promise<CheckResult[]> {
  const trial = await sql<{ currency: string; net: string }>`
    SELECT currency, sum(balance)::text AS net FROM ledger_balances GROUP BY currency HAVING sum(balance) <> 0 ORDER BY currency`.execute(db);
  const unbalanced = await sql<{ entry_id: string; currency: string; net: string }>`
    SELECT entry_id::text AS entry_id, currency, sum(amount)::text AS net FROM ledger_postings
     GROUP BY entry_id, currency HAVING sum(amount) <> 0 ORDER BY entry_id LIMIT ${LISTED}`.execute(db);
  const orphans = await sql<{ entry_id: string; problem: string }>`
    (SELECT e.entry_id::text AS entry_id, 'entry without postings' AS problem FROM ledger_entries e
      WHERE NOT EXISTS (SELECT 1 FROM ledger_postings p WHERE p.entry_id = e.entry_id) LIMIT ${LISTED})
    UNION ALL
    (SELECT DISTINCT p.entry_id::text, 'postings without entry' FROM ledger_postings p
      WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.entry_id = p.entry_id) LIMIT ${LISTED})`.execute(db);
  const drift = await sql<{ account: string; currency: string; balance: string | null; postings: string | null }>`
    SELECT coalesce(b.account, p.account) AS account, coalesce(b.currency, p.currency) AS currency,
           b.balance::text AS balance, p.sum::text AS postings
      FROM ledger_balances b
      FULL JOIN (SELECT account, currency, sum(amount) AS sum, sum(greatest(amount, 0)) AS debits, count(*) AS n
                   FROM ledger_postings GROUP BY account, currency) p
        ON p.account = b.account AND p.currency = b.currency
     WHERE b.balance IS DISTINCT FROM p.sum OR b.debits IS DISTINCT FROM p.debits OR b.postings IS DISTINCT FROM p.n
     ORDER BY 1, 2 LIMIT ${LISTED}`.execute(db);
  return [
    { name: 'trial balance is zero in every currency', ok: trial.rows.length === 0, details: trial.rows },
    { name: 'every entry balances in every currency', ok: unbalanced.rows.length === 0, details: unbalanced.rows },
    { name: 'every entry has postings and every posting an entry', ok: orphans.rows.length === 0, details: orphans.rows },
    { name: 'account balances equal the sum of their postings', ok: drift.rows.length === 0, details: drift.rows },
    await chainCheck(db),
  ];
}
