import type { ColumnType } from 'kysely';
import type { Int8, Timestamp } from '../../db/kysely.js';

/** Kysely's view of the ledger's tables (migrations/0004_ledger.sql, 0020_ledger_hash_chain.sql). */
export interface LedgerTables {
  ledger_entries: {
    entry_id: string;
    source_event_id: string;
    entry_index: number;
    stream_id: string;
    stream_revision: Int8;
    commit_pos: Int8;
    prepare_pos: Int8;
    entry_type: string;
    occurred_at: Timestamp;
    recorded_at: Timestamp;
    description: string;
    metadata: ColumnType<Record<string, unknown>, string, string>;
    /** The hash chain (migrations/0020_ledger_hash_chain.sql); NULL only in a ledger booked before version 4. */
    chain_seq: Int8 | null;
    prev_hash: string | null;
    hash: string | null;
  };
  ledger_postings: {
    entry_id: string;
    posting_index: number;
    account: string;
    currency: string;
    amount: Int8;
    occurred_at: Timestamp;
  };
  ledger_balances: {
    account: string;
    currency: string;
    balance: Int8;
    debits: Int8;
    credits: Int8;
    postings: Int8;
  };
}
