import { sqlErrorInfo, type SqlClient, type SqlExecutor } from '../db/sql-client.js';
import { AppendNotifier } from './append-notifier.js';
import { validateAppend } from './append-validation.js';
import { CheckpointConflictError, DuplicateEventIdError, WrongExpectedVersionError } from './errors.js';
import type {
  Backlog,
  AppendResult,
  CheckpointStore,
  EventData,
  EventMetadata,
  EventStore,
  ExpectedRevision,
  Position,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  SubscriptionLocks,
} from './event-store.js';
import { identity, type Upcast } from './upcasting.js';

/**
 * The event store over SQL, shared by the PostgreSQL and PGlite adapters; they differ only in
 * the SqlClient and in how subscription locks are held. Schema: migrations/0001_event_store.sql.
 */
export interface SqlEventStoreOptions {
  readonly locks: SubscriptionLocks;
  readonly upcast?: Upcast;
}

interface EventRow {
  stream_id: string;
  revision: string;
  event_id: string;
  event_type: string;
  data: unknown;
  metadata: EventMetadata;
  transaction_id: string;
  position: string;
  /** Milliseconds since the epoch, rounded down to the millisecond as the driver parsed them. */
  recorded_ms: number;
}

// Wide integers travel as text so both drivers hand back exact values. The recording time comes as
// epoch milliseconds: building a Date from a number is much cheaper than the drivers' parse of a
// timestamp's text, once per event of every page a replay reads. Queries order by the
// table-qualified columns (`e.position`): a bare name would pick the text alias and sort "10" < "9".
const EVENT_COLUMNS = `e.stream_id, e.revision::text AS revision, e.event_id::text AS event_id, e.event_type, e.data,
  e.metadata, e.transaction_id::text AS transaction_id, e.position::text AS position,
  floor(extract(epoch FROM e.recorded_at) * 1000)::float8 AS recorded_ms`;

/**
 * Only events no earlier event can still join are read past: those below the oldest transaction
 * that may still append (migrations/0010_event_horizon.sql argues why nothing is ever skipped).
 * A subquery, so the horizon is worked out once per statement, not once per row.
 */
const VISIBLE = `e.transaction_id < (SELECT tessera_events_horizon())`;

/**
 * An append is one INSERT of the batch's rows, numbered from the revision the writer expects, so
 * it costs one round trip and takes no lock of its own. The unique (stream_id, revision) index is
 * the concurrency check: a stale writer collides with a stored revision and its statement fails
 * whole, and of two writers expecting the same revision the second waits for the first's index
 * entry, then fails. `exact` and `stream_exists` insert nothing when the revision they build on
 * is missing, so no writer can leave a gap. Statements are built per mode and batch size and
 * prepared by name on each connection.
 */
type AppendMode = 'no_stream' | 'exact' | 'any' | 'stream_exists';

const COLUMNS = 'stream_id, revision, event_id, event_type, data, metadata';
const RETURNING = 'RETURNING revision::text AS revision, position::text AS position, transaction_id::text AS transaction_id';

function appendStatement(mode: AppendMode, count: number): string {
  // Parameters: $1 stream, $2 expected revision (exact only), then id, type, data, metadata per event.
  const first = mode === 'exact' ? 3 : 2;
  const event = (i: number) => {
    const p = first + i * 4;
    return `$${p}::uuid, $${p + 1}::text, $${p + 2}::jsonb, $${p + 3}::jsonb`;
  };
  const each = (row: (i: number) => string) => Array.from({ length: count }, (_, i) => row(i)).join(', ');
  if (mode === 'no_stream') {
    return `INSERT INTO tessera_events (${COLUMNS}) VALUES ${each((i) => `($1, ${i}, ${event(i)})`)} ${RETURNING}`;
  }
  const batch = `(VALUES ${each((i) => `(${i}, ${event(i)})`)}) AS v(n, id, type, data, metadata)`;
  const insert = (base: string, from: string, where = '') =>
    `INSERT INTO tessera_events (${COLUMNS}) SELECT $1, ${base} + v.n, v.id, v.type, v.data, v.metadata FROM ${from} ${where} ${RETURNING}`;
  const head = '(SELECT max(x.revision) AS revision FROM tessera_events x WHERE x.stream_id = $1) AS head';
  switch (mode) {
    case 'exact':
      return insert('$2::bigint + 1', batch, 'WHERE EXISTS (SELECT 1 FROM tessera_events x WHERE x.stream_id = $1 AND x.revision = $2::bigint)');
    case 'any':
      return insert('coalesce(head.revision, -1) + 1', `${head}, ${batch}`);
    case 'stream_exists':
      return insert('head.revision + 1', `${head}, ${batch}`, 'WHERE head.revision IS NOT NULL');
  }
}

const statements = new Map<string, string>();

function cachedStatement(mode: AppendMode, count: number): [text: string, name: string] {
  const name = `tessera_append_${mode}_${count}`;
  let text = statements.get(name);
  if (text === undefined) {
    text = appendStatement(mode, count);
    statements.set(name, text);
  }
  return [text, name];
}

const CONSTRAINTS = new Set(['tessera_events_stream_revision', 'tessera_events_event_id']);

/** How often an `any` or `stream_exists` append retries after losing a race for the next revision. */
const MAX_RACE_RETRIES = 50;

export function createSqlEventStore(sql: SqlClient, options: SqlEventStoreOptions): EventStore {
  const upcast = options.upcast ?? identity;
  const notifier = notifierFor(sql);
  const toEvent = (row: EventRow): RecordedEvent =>
    upcast({
      id: row.event_id,
      type: row.event_type,
      data: row.data,
      metadata: row.metadata,
      streamId: row.stream_id,
      revision: Number(row.revision),
      position: { commit: BigInt(row.transaction_id), prepare: BigInt(row.position) },
      recordedAt: new Date(row.recorded_ms),
    });

  async function append(
    streamId: string,
    events: readonly EventData[],
    expected: ExpectedRevision,
    report: boolean,
    attempt = 0,
  ): Promise<AppendResult> {
    if (attempt === 0) validateAppend(streamId, events, expected);
    const mode: AppendMode = typeof expected === 'number' ? 'exact' : expected;
    const [text, name] = cachedStatement(mode, events.length);
    const params: unknown[] = typeof expected === 'number' ? [streamId, expected] : [streamId];
    // JSON is serialised here: the drivers would turn a top-level array into a SQL array.
    for (const e of events) params.push(e.id, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata));
    let rows: { revision: string; position: string; transaction_id: string }[];
    try {
      rows = (await sql.query<(typeof rows)[number]>(text, params, name)).rows;
    } catch (error) {
      const { code, constraint } = sqlErrorInfo(error);
      if (code === '23505' && constraint && CONSTRAINTS.has(constraint)) return resolveConflict(streamId, events, expected, report, attempt);
      throw error;
    }
    if (rows.length !== events.length) return resolveConflict(streamId, events, expected, report, attempt);
    const last = rows[rows.length - 1]!;
    const position = { commit: BigInt(last.transaction_id), prepare: BigInt(last.position) };
    notifier.notify(streamId, position);
    return { nextExpectedRevision: Number(last.revision), position };
  }

  /**
   * The append wrote nothing. Either it is a retry of an append that already succeeded (every id
   * stored as exactly this batch of this stream: answer as that append did), or it lost a race
   * (try again, if its expectation still holds), or the stream is not where the writer expected.
   */
  async function resolveConflict(
    streamId: string,
    events: readonly EventData[],
    expected: ExpectedRevision,
    report: boolean,
    attempt: number,
  ): Promise<AppendResult> {
    const { rows } = await sql.query<{ event_id: string; stream_id: string; revision: string; transaction_id: string; position: string }>(
      `SELECT e.event_id::text AS event_id, e.stream_id, e.revision::text AS revision,
              e.transaction_id::text AS transaction_id, e.position::text AS position
         FROM tessera_events e WHERE e.event_id = ANY($1::uuid[])`,
      [events.map((e) => e.id)],
    );
    if (rows.length > 0) {
      const byId = new Map(rows.map((r) => [r.event_id, r]));
      const stored = events.map((e) => byId.get(e.id.toLowerCase()));
      const first = stored[0];
      const isSameBatch =
        first !== undefined &&
        stored.every((r, i) => r !== undefined && r.stream_id === streamId && Number(r.revision) === Number(first.revision) + i) &&
        startsWhereExpected(Number(first.revision), expected);
      if (!isSameBatch) throw new DuplicateEventIdError(streamId, rows.map((r) => r.event_id));
      const last = stored[stored.length - 1]!;
      return {
        nextExpectedRevision: Number(last.revision),
        position: { commit: BigInt(last.transaction_id), prepare: BigInt(last.position) },
        ...(report ? { alreadyStored: true } : {}),
      };
    }
    const actual = await currentRevision(streamId);
    if (attempt < MAX_RACE_RETRIES && expectationHolds(expected, actual)) {
      return append(streamId, events, expected, report, attempt + 1);
    }
    throw new WrongExpectedVersionError(streamId, expected, actual);
  }

  async function currentRevision(streamId: string): Promise<number | 'no_stream'> {
    const { rows } = await sql.query<{ revision: string | null }>(
      'SELECT max(e.revision)::text AS revision FROM tessera_events e WHERE e.stream_id = $1',
      [streamId],
    );
    const revision = rows[0]?.revision;
    return revision === null || revision === undefined ? 'no_stream' : Number(revision);
  }

  async function readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const from = options.fromRevision ?? (backwards ? Number.MAX_SAFE_INTEGER : 0);
    const { rows } = await sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM tessera_events e
        WHERE e.stream_id = $1 AND e.revision ${backwards ? '<=' : '>='} $2
        ORDER BY e.revision ${backwards ? 'DESC' : 'ASC'} LIMIT $3`,
      [streamId, from, options.maxCount ?? null],
      backwards ? 'tessera_read_stream_backwards' : 'tessera_read_stream',
    );
    return rows.map(toEvent);
  }

  async function readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const after = options.after === undefined || options.after === 'start' ? { commit: 0n, prepare: 0n } : options.after;
    const { rows } = await sql.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM tessera_events e
        WHERE (e.transaction_id, e.position) > ($1::text::xid8, $2::bigint) AND ${VISIBLE}
        ORDER BY e.transaction_id, e.position LIMIT $3`,
      [after.commit.toString(), after.prepare.toString(), options.maxCount ?? 1000],
      'tessera_read_all',
    );
    return rows.map(toEvent);
  }

  async function headPosition(): Promise<Position | null> {
    const { rows } = await sql.query<{ transaction_id: string; position: string }>(
      `SELECT e.transaction_id::text AS transaction_id, e.position::text AS position FROM tessera_events e
        WHERE ${VISIBLE} ORDER BY e.transaction_id DESC, e.position DESC LIMIT 1`,
    );
    const row = rows[0];
    return row ? { commit: BigInt(row.transaction_id), prepare: BigInt(row.position) } : null;
  }

  async function backlog(after: Position | null): Promise<Backlog> {
    const from = after ?? { commit: 0n, prepare: 0n };
    // Committed events whether or not an older transaction still hides them from $all: no VISIBLE.
    const { rows } = await sql.query<{ transaction_id: string | null; position: string | null; oldest: Date | string | null }>(
      `SELECT h.transaction_id::text AS transaction_id, h.position::text AS position,
              (SELECT e.recorded_at FROM tessera_events e WHERE (e.transaction_id, e.position) > ($1::text::xid8, $2::bigint)
                ORDER BY e.transaction_id, e.position LIMIT 1) AS oldest
         FROM (SELECT NULL::int AS nothing) n
         LEFT JOIN LATERAL (SELECT e.transaction_id, e.position FROM tessera_events e ORDER BY e.transaction_id DESC, e.position DESC LIMIT 1) h ON true`,
      [from.commit.toString(), from.prepare.toString()],
    );
    const row = rows[0]!;
    return {
      head: row.transaction_id === null || row.position === null ? null : { commit: BigInt(row.transaction_id), prepare: BigInt(row.position) },
      oldest: row.oldest === null ? null : new Date(row.oldest),
    };
  }

  return {
    kind: sql.dialect,
    append: (streamId, events, { expected, reportAlreadyStored }) => append(streamId, events, expected, reportAlreadyStored === true),
    readStream,
    readAll,
    headPosition,
    backlog,
    waitForAppend: (timeoutMs, signal) => notifier.wait(timeoutMs, signal),
    lastAppended: () => notifier.latest,
    waitForStream: (streamId, timeoutMs, signal) => notifier.wait(timeoutMs, signal, streamId),
    checkpoints: sqlCheckpointStore(sql),
    locks: options.locks,
    async ping() {
      await sql.query('SELECT 1');
    },
    close() {
      notifier.close();
      return Promise.resolve();
    },
  };
}

// Stores opened over one database in this process wake each other's tailing readers.
const notifiers = new WeakMap<object, AppendNotifier>();

function notifierFor(sql: SqlClient): AppendNotifier {
  const key = sql.dialect === 'pglite' ? sql.db : sql.pool;
  let notifier = notifiers.get(key);
  if (!notifier) {
    notifier = new AppendNotifier();
    notifiers.set(key, notifier);
  }
  return notifier;
}

function startsWhereExpected(firstRevision: number, expected: ExpectedRevision): boolean {
  if (expected === 'no_stream') return firstRevision === 0;
  if (typeof expected === 'number') return firstRevision === expected + 1;
  return true;
}

/** Whether an append expecting `expected` may go ahead on a stream now at `actual`. */
function expectationHolds(expected: ExpectedRevision, actual: number | 'no_stream'): boolean {
  if (expected === 'any') return true;
  if (expected === 'no_stream') return actual === 'no_stream';
  if (expected === 'stream_exists') return actual !== 'no_stream';
  return actual === expected;
}

/**
 * Checkpoints as compare-and-set rows. `executor` may be a transaction, so a projection can move
 * its checkpoint in the same transaction as its read-model writes.
 */
export function sqlCheckpointStore(executor: SqlExecutor): CheckpointStore {
  return {
    async load(name) {
      const { rows } = await executor.query<{ commit_pos: string; prepare_pos: string }>(
        'SELECT commit_pos::text AS commit_pos, prepare_pos::text AS prepare_pos FROM tessera_checkpoints WHERE subscription = $1',
        [name],
      );
      const row = rows[0];
      return row ? { commit: BigInt(row.commit_pos), prepare: BigInt(row.prepare_pos) } : null;
    },
    async store(name, next, previous) {
      const result =
        previous === null
          ? await executor.query(
              `INSERT INTO tessera_checkpoints (subscription, commit_pos, prepare_pos) VALUES ($1, $2, $3)
                 ON CONFLICT (subscription) DO NOTHING`,
              [name, next.commit.toString(), next.prepare.toString()],
            )
          : await executor.query(
              `UPDATE tessera_checkpoints SET commit_pos = $2, prepare_pos = $3, updated_at = now()
                 WHERE subscription = $1 AND commit_pos = $4 AND prepare_pos = $5`,
              [name, next.commit.toString(), next.prepare.toString(), previous.commit.toString(), previous.prepare.toString()],
            );
      if (result.rowCount !== 1) throw new CheckpointConflictError(name);
    },
  };
}
