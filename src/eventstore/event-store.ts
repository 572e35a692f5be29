/**
 * The event store port. Every adapter (PostgreSQL, PGlite, EventStoreDB) implements this and is
 * held to the same contract suite (test/eventstore/event-store.contract.ts).
 *
 * Revisions follow EventStoreDB: the first event of a stream has revision 0, and a stream's
 * revision is that of its last event. A global position is the pair EventStoreDB calls
 * commit/prepare; positions compare as that pair, and `$all` is read in that order.
 */

/** What a writer expects the stream to be before its append. */
export type ExpectedRevision = 'no_stream' | 'stream_exists' | 'any' | number;

export interface EventMetadata {
  /** The id shared by everything one request or process set in motion. */
  readonly correlationId: string;
  /** The id of the command or event that directly caused this event. */
  readonly causationId: string;
  readonly tenantId: string;
  /** Who did it: `user:<id>`, `admin:<id>`, `service:<name>`, `system:<process>`. */
  readonly actor: string;
  /** When the fact happened in the domain (ISO-8601), set by the caller, not by the store. */
  readonly occurredAt: string;
  /** Version of this event type's `data` shape; upcasters raise old versions on read. */
  readonly schemaVersion: number;
}

export interface EventData<Type extends string = string, Data = unknown> {
  /**
   * A UUID. Appending a batch whose ids the stream already holds, at the place the writer
   * expected, is a no-op that answers like the first append did (idempotent append).
   */
  readonly id: string;
  readonly type: Type;
  readonly data: Data;
  readonly metadata: EventMetadata;
}

export interface Position {
  readonly commit: bigint;
  readonly prepare: bigint;
}

export interface RecordedEvent<Type extends string = string, Data = unknown> extends EventData<Type, Data> {
  readonly streamId: string;
  readonly revision: number;
  readonly position: Position;
  /** When the store committed it. */
  readonly recordedAt: Date;
}

export interface AppendOptions {
  readonly expected: ExpectedRevision;
  /** Asks the store to say whether the batch was stored already (AppendResult.alreadyStored). */
  readonly reportAlreadyStored?: boolean;
}

export interface AppendResult {
  /** The stream's revision after the append: pass it as `expected` to append next. */
  readonly nextExpectedRevision: number;
  /** Position of the last appended event; queries can wait for a read model to pass it. */
  readonly position: Position;
  /**
   * Asked for with `reportAlreadyStored`: whether every event was stored already, as this batch
   * (an idempotent retry), so nothing was written. The SQL stores tell; EventStoreDB cannot, and
   * leaves it unset.
   */
  readonly alreadyStored?: boolean;
}

export interface ReadStreamOptions {
  readonly direction?: 'forwards' | 'backwards';
  /** Inclusive start; defaults to the first event (forwards) or the last (backwards). */
  readonly fromRevision?: number;
  readonly maxCount?: number;
}

export interface ReadAllOptions {
  /** Exclusive: read what comes after this position; `start` (default) reads from the beginning. */
  readonly after?: Position | 'start';
  readonly maxCount?: number;
}

export interface Backlog {
  readonly head: Position | null;
  /** recordedAt of the first event after the position asked about; null when there is none. */
  readonly oldest: Date | null;
}

export interface EventStore {
  readonly kind: 'postgres' | 'pglite' | 'eventstoredb';
  append(streamId: string, events: readonly EventData[], options: AppendOptions): Promise<AppendResult>;
  /** Events of one stream in revision order; a stream that does not exist reads as empty. */
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]>;
  /**
   * Every stream's events in global order. Never skips an event: an event becomes readable only
   * once nothing ordered before it can still appear.
   */
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /** The position of the newest readable event, or null for an empty store. */
  headPosition(): Promise<Position | null>;
  /**
   * For lag reports: the newest event stored and when the oldest event after `after` was
   * recorded, counting events already committed that `readAll` does not return yet (in the SQL
   * stores, those behind a transaction still open). A reader stalled there is behind as well,
   * and that is when its lag matters.
   */
  backlog(after: Position | null): Promise<Backlog>;
  /** Resolves when an append may have added events (or after `timeoutMs`), for tailing readers. */
  waitForAppend(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /**
   * The newest position an append made through this process committed, where the store can tell
   * (the SQL stores): a tailing reader that has read past it need not read again when woken.
   */
  readonly lastAppended?: () => Position | null;
  /**
   * Like waitForAppend, but only an append to `streamId` wakes it early: for a reader following
   * one stream (a request waiting for its payment's outcome).
   */
  waitForStream(streamId: string, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /**
   * Offered where a shared tail runs in this process (shared-tail.ts): resolves with the events of
   * `streamId` after `after.revision` as soon as the tail reads one, or with none after `timeoutMs`,
   * so a follower (a request waiting for its payment's outcome) learns of them without reading the
   * stream. Resolves undefined when the tail cannot tell (it is not running, or `after.position`
   * lies before what it holds): read the stream instead.
   */
  readonly nextInStream?: (
    streamId: string,
    after: { readonly revision: number; readonly position: Position },
    timeoutMs: number,
    signal?: AbortSignal,
  ) => Promise<RecordedEvent[] | undefined>;
  /** Durable checkpoints, one per subscription name. */
  readonly checkpoints: CheckpointStore;
  /** At most one holder per name across every process sharing this store. */
  readonly locks: SubscriptionLocks;
  /** Answers whether the store is reachable (for readiness probes). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface CheckpointStore {
  load(name: string): Promise<Position | null>;
  /**
   * Moves the checkpoint from `previous` to `next`. Fails with CheckpointConflictError when the
   * stored checkpoint is no longer `previous`, which fences off a consumer that lost its lock.
   */
  store(name: string, next: Position, previous: Position | null): Promise<void>;
}

export interface SubscriptionLease {
  readonly name: string;
  /** Aborted when the lease is lost (connection gone, lease expired); the holder must stop. */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

export interface SubscriptionLocks {
  /** Takes the lock for `name` if nobody holds it; null when another consumer holds it. */
  tryAcquire(name: string): Promise<SubscriptionLease | null>;
}

export const positionToString = (p: Position): string => `${p.commit}/${p.prepare}`;

export function parsePosition(text: string): Position {
  const match = /^(\d{1,20})\/(\d{1,20})$/.exec(text);
  if (!match) throw new RangeError(`not an event-store position: ${text}`);
  return { commit: BigInt(match[1]!), prepare: BigInt(match[2]!) };
}

export function comparePositions(a: Position, b: Position): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

export const describeExpected = (expected: ExpectedRevision): string =>
  typeof expected === 'number' ? `revision ${expected}` : expected;
