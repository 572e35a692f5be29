import type { Kysely, Transaction } from 'kysely';
import type { Position, RecordedEvent } from '../../eventstore/event-store.js';

/**
 * Where a batch goes, for a handler that carries something from one batch to the next (the
 * ledger carries the last hash of its journal's chain).
 */
export interface BatchContext {
  /**
   * The checkpoint the batch follows (null: none yet). The batch commits only if its tables are
   * still at this checkpoint, and tables at one checkpoint hold the same rows wherever they were
   * built (a projection is a pure function of the events).
   */
  readonly previous: Position | null;
  /** The checkpoint the batch moves to when it commits. */
  readonly next: Position;
  /**
   * The same object for every batch this process writes to the same tables (one read side's
   * live tables, one rebuild's or verify's copies) and another for other tables: a key (for a
   * WeakMap) to what the handler remembers of them.
   */
  readonly tables: object;
}

/**
 * A projection turns events into read-model rows. The engine hands it batches of events in
 * global order, inside one SQL transaction that also moves its checkpoint, so a batch is applied
 * whole or not at all. A projection must be a pure function of the events: no clock, no random
 * ids, no sequences, so a rebuild produces the same rows as the live copy (`verify` checks it).
 */
export interface ProjectionDefinition<DB> {
  /** Stable name: names its checkpoint and its lock (lowercase, digits and dashes). */
  readonly name: string;
  /** Bump it when the handler's output changes: the engine then rebuilds the tables beside the live ones. */
  readonly version: number;
  /**
   * The tables this projection alone writes (created by a migration). A rebuild copies their
   * shape, so they may not have foreign keys, triggers, dependent views or serial columns, and
   * their indexes keep PostgreSQL's default names (`<table>_pkey`, `<table>_<columns>_idx`).
   */
  readonly tables: readonly string[];
  /**
   * Applies a batch in `trx` (write it with multi-row statements; ignore events it does not
   * handle). Throwing rolls the whole batch back; the engine retries it with backoff. What it
   * remembers for the next batch it keys by `batch.tables` and trusts only when the next batch's
   * `previous` is this one's `next`: a batch that throws or fails to commit is followed by one
   * from the older checkpoint.
   */
  handle(events: readonly RecordedEvent[], trx: Transaction<DB>, batch: BatchContext): Promise<void>;
  /** Invariants `verify` also checks on the live tables (e.g. the ledger's trial balance). */
  readonly check?: (db: Kysely<DB>) => Promise<readonly CheckResult[]>;
  /**
   * Indexes (primary keys and unique constraints included) that the handler never relies on
   * while writing: a rebuild leaves them out of its copies while replaying and builds each once
   * at the end, which is far cheaper than maintaining it row by row. An index that ON CONFLICT
   * or a lookup in the handler uses must not be listed, or replay slows to a crawl.
   */
  readonly indexesBuiltAfterReplay?: readonly string[];
}

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  /** What is wrong, when it is: rows, sums, ids. */
  readonly details?: unknown;
}

/** A projection as the engine holds it, its table types erased. */
export interface Projection {
  readonly name: string;
  readonly version: number;
  readonly tables: readonly string[];
  handle(events: readonly RecordedEvent[], trx: Transaction<object>, batch: BatchContext): Promise<void>;
  readonly check?: (db: Kysely<object>) => Promise<readonly CheckResult[]>;
  readonly indexesBuiltAfterReplay: readonly string[];
}

const NAME = /^[a-z][a-z0-9-]{0,62}$/;
const TABLE = /^[a-z_][a-z0-9_]{0,62}$/;

export function defineProjection<DB>(definition: ProjectionDefinition<DB>): Projection {
  const { name, version, tables } = definition;
  if (!NAME.test(name)) throw new RangeError(`projection name "${name}" must be lowercase letters, digits and dashes`);
  if (!Number.isSafeInteger(version) || version < 1) throw new RangeError(`projection ${name}: version must be a positive integer`);
  if (tables.length === 0) throw new RangeError(`projection ${name} owns no tables`);
  for (const table of tables) {
    if (!TABLE.test(table)) throw new RangeError(`projection ${name}: "${table}" is not a plain lowercase table name`);
  }
  if (new Set(tables).size !== tables.length) throw new RangeError(`projection ${name} lists a table twice`);
  const check = definition.check;
  return {
    name,
    version,
    tables: [...tables],
    indexesBuiltAfterReplay: [...(definition.indexesBuiltAfterReplay ?? [])],
    // The engine runs every projection on one untyped Kysely; each sees its own table types.
    handle: (events, trx, batch) => definition.handle(events, trx as unknown as Transaction<DB>, batch),
    ...(check ? { check: (db: Kysely<object>) => check(db as unknown as Kysely<DB>) } : {}),
  };
}

/** The name of a projection's checkpoint and of its one-active-instance lock. */
export const subscriptionName = (projection: string): string => `projection:${projection}`;

/** The lock that rebuild and verify take, so two of them never work on one projection at once. */
export const maintenanceLockName = (projection: string): string => `projection-maintenance:${projection}`;
