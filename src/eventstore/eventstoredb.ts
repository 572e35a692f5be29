import { randomUUID } from 'node:crypto';
import {
  ANY,
  BACKWARDS,
  END,
  EventStoreDBClient,
  FORWARDS,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError as EsdbWrongExpectedVersionError,
  jsonEvent,
  type AllStreamRecordedEvent,
  type AppendExpectedRevision,
  type JSONType,
  type ReadPosition,
} from '@eventstore/db-client';
import { AppendNotifier } from './append-notifier.js';
import { validateAppend } from './append-validation.js';
import { CheckpointConflictError, WrongExpectedVersionError } from './errors.js';
import {
  comparePositions,
  type CheckpointStore,
  type EventMetadata,
  type EventStore,
  type ExpectedRevision,
  type Position,
  type RecordedEvent,
  type SubscriptionLease,
  type SubscriptionLocks,
} from './event-store.js';
import { identity, type Upcast } from './upcasting.js';

/**
 * The scaled-out event store: EventStoreDB / KurrentDB over its gRPC client. Ordering,
 * optimistic concurrency and idempotent appends are the server's own. Checkpoints and
 * subscription leases live in streams of their own under INTERNAL_PREFIX, which readers of
 * `$all` never see.
 */
export const INTERNAL_PREFIX = 'tessera.internal-';

export interface EventStoreDbOptions {
  readonly connectionString: string;
  readonly upcast?: Upcast;
  /** How long a subscription lease lasts without renewal; instances' clocks must agree to well within it. */
  readonly leaseTtlMs?: number;
}

export function createEventStoreDbEventStore(options: EventStoreDbOptions): EventStore {
  const client = EventStoreDBClient.connectionString(options.connectionString);
  const upcast = options.upcast ?? identity;
  const notifier = new AppendNotifier();
  const locks = new EventStoreDbLeases(client, options.leaseTtlMs ?? 15_000);

  const toEvent = (event: StoredEvent): RecordedEvent => {
    const { $correlationId: _c, $causationId: _k, ...metadata } = (event.metadata ?? {}) as Record<string, unknown>;
    const position = event.position;
    return upcast({
      id: event.id,
      type: event.type,
      data: event.data,
      metadata: metadata as unknown as EventMetadata,
      streamId: event.streamId,
      revision: Number(event.revision),
      position: position ? { commit: position.commit, prepare: position.prepare } : { commit: -1n, prepare: -1n },
      recordedAt: event.created,
    });
  };

  const positionOf = async (streamId: string, revision: bigint): Promise<Position> => {
    for await (const resolved of client.readStream(streamId, { fromRevision: revision, maxCount: 1 })) {
      if (resolved.event?.position) return resolved.event.position;
    }
    throw new Error(`EventStoreDB has no position for ${streamId}@${revision}`);
  };

  const isUserEvent = (event: AllStreamRecordedEvent): boolean =>
    !event.type.startsWith('$') && !event.streamId.startsWith('$') && !event.streamId.startsWith(INTERNAL_PREFIX);

  const store: EventStore = {
    kind: 'eventstoredb',
    async append(streamId, events, { expected }) {
      validateAppend(streamId, events, expected);
      try {
        const result = await client.appendToStream(
          streamId,
          events.map((event) =>
            jsonEvent({
              id: event.id,
              type: event.type,
              data: event.data as JSONType,
              metadata: {
                ...event.metadata,
                $correlationId: event.metadata.correlationId,
                $causationId: event.metadata.causationId,
              },
            }),
          ),
          { expectedRevision: toEsdbExpected(expected) },
        );
        notifier.notify(streamId);
        const nextExpectedRevision = Number(result.nextExpectedRevision);
        // The server may answer an idempotent replay without a position: read the last event's.
        const position = result.position ?? (await positionOf(streamId, result.nextExpectedRevision));
        return { nextExpectedRevision, position: { commit: position.commit, prepare: position.prepare } };
      } catch (error) {
        if (error instanceof EsdbWrongExpectedVersionError) {
          const actual = error.actualVersion;
          throw new WrongExpectedVersionError(streamId, expected, actual === NO_STREAM ? 'no_stream' : Number(actual));
        }
        throw error;
      }
    },

    async readStream(streamId, readOptions = {}) {
      const backwards = readOptions.direction === 'backwards';
      const events: RecordedEvent[] = [];
      try {
        const read = client.readStream(streamId, {
          direction: backwards ? BACKWARDS : FORWARDS,
          fromRevision: readOptions.fromRevision === undefined ? (backwards ? END : START) : BigInt(readOptions.fromRevision),
          ...(readOptions.maxCount === undefined ? {} : { maxCount: readOptions.maxCount }),
        });
        for await (const resolved of read) {
          if (resolved.event) events.push(toEvent(resolved.event));
        }
      } catch (error) {
        if (error instanceof StreamNotFoundError) return [];
        throw error;
      }
      return events;
    },

    async readAll(readOptions = {}) {
      const maxCount = readOptions.maxCount ?? 1000;
      const chunk = maxCount + 1;
      const events: RecordedEvent[] = [];
      let cursor = readOptions.after === undefined || readOptions.after === 'start' ? undefined : readOptions.after;
      // System and internal events are skipped, so read on until the batch is full or $all ends.
      for (;;) {
        let read = 0;
        for await (const resolved of client.readAll({ fromPosition: cursor ?? START, maxCount: chunk, direction: FORWARDS })) {
          read++;
          const event = resolved.event;
          if (!event || (cursor && comparePositions(event.position, cursor) <= 0)) continue;
          cursor = event.position;
          if (!isUserEvent(event)) continue;
          events.push(toEvent(event));
          if (events.length === maxCount) return events;
        }
        if (read < chunk) return events;
      }
    },

    // EventStoreDB hides no committed event from $all: the backlog is what a read returns.
    async backlog(after) {
      const [head, [oldest]] = await Promise.all([store.headPosition(), store.readAll({ after: after ?? 'start', maxCount: 1 })]);
      return { head, oldest: oldest?.recordedAt ?? null };
    },

    async headPosition() {
      let from: ReadPosition = END;
      for (;;) {
        let read = 0;
        let last: Position | undefined;
        for await (const resolved of client.readAll({ fromPosition: from, maxCount: 100, direction: BACKWARDS })) {
          read++;
          const event = resolved.event;
          if (!event) continue;
          if (isUserEvent(event)) return { commit: event.position.commit, prepare: event.position.prepare };
          last = event.position;
        }
        if (read < 100 || !last) return null;
        from = last;
      }
    },

    waitForAppend: (timeoutMs, signal) => notifier.wait(timeoutMs, signal),
    waitForStream: (streamId, timeoutMs, signal) => notifier.wait(timeoutMs, signal, streamId),
    checkpoints: new EventStoreDbCheckpoints(client),
    locks,
    async ping() {
      for await (const _ of client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 })) break;
    },
    async close() {
      notifier.close();
      await locks.close();
      await client.dispose();
    },
  };
  return store;
}

/** What both stream and $all reads give back for a JSON event. */
interface StoredEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
  readonly streamId: string;
  readonly revision: bigint;
  readonly created: Date;
  readonly position?: { readonly commit: bigint; readonly prepare: bigint } | undefined;
}

function toEsdbExpected(expected: ExpectedRevision): AppendExpectedRevision {
  switch (expected) {
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    case 'any':
      return ANY;
    default:
      return BigInt(expected);
  }
}

async function readLast<T>(client: EventStoreDBClient, stream: string): Promise<{ data: T; revision: bigint } | undefined> {
  try {
    for await (const resolved of client.readStream(stream, { direction: BACKWARDS, fromRevision: END, maxCount: 1 })) {
      if (resolved.event) return { data: resolved.event.data as T, revision: resolved.event.revision };
    }
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  return undefined;
}

/** Writes to a small internal stream that keeps only its latest few events. */
async function appendInternal(
  client: EventStoreDBClient,
  stream: string,
  type: string,
  data: Record<string, string | number | boolean>,
  expected: bigint | typeof NO_STREAM,
): Promise<bigint> {
  const result = await client.appendToStream(stream, jsonEvent({ type, data }), { expectedRevision: expected });
  if (expected === NO_STREAM) await client.setStreamMetadata(stream, { maxCount: 5 });
  return result.nextExpectedRevision;
}

/** Checkpoints as the last event of `tessera.internal-checkpoint-<name>`, moved with expected revisions. */
class EventStoreDbCheckpoints implements CheckpointStore {
  readonly #revisions = new Map<string, { position: Position | null; revision: bigint | typeof NO_STREAM }>();
  constructor(private readonly client: EventStoreDBClient) {}

  async load(name: string): Promise<Position | null> {
    const last = await readLast<{ commit: string; prepare: string }>(this.client, `${INTERNAL_PREFIX}checkpoint-${name}`);
    const position = last ? { commit: BigInt(last.data.commit), prepare: BigInt(last.data.prepare) } : null;
    this.#revisions.set(name, { position, revision: last?.revision ?? NO_STREAM });
    return position;
  }

  async store(name: string, next: Position, previous: Position | null): Promise<void> {
    let known = this.#revisions.get(name);
    const matches = (p: Position | null) =>
      p === null ? previous === null : previous !== null && comparePositions(p, previous) === 0;
    if (!known || !matches(known.position)) {
      await this.load(name);
      known = this.#revisions.get(name)!;
      if (!matches(known.position)) throw new CheckpointConflictError(name);
    }
    try {
      const revision = await appendInternal(
        this.client,
        `${INTERNAL_PREFIX}checkpoint-${name}`,
        'TesseraCheckpointStored',
        { commit: next.commit.toString(), prepare: next.prepare.toString() },
        known.revision,
      );
      this.#revisions.set(name, { position: next, revision });
    } catch (error) {
      this.#revisions.delete(name);
      if (error instanceof EsdbWrongExpectedVersionError) throw new CheckpointConflictError(name);
      throw error;
    }
  }
}

interface LeaseData {
  owner: string;
  expiresAt: number;
  released: boolean;
}

/**
 * One holder per subscription through a lease stream: a claim is an append at the revision the
 * claimant read, so of two claimants one wins; the holder renews at a third of the lease, and a
 * failed renewal means someone took over (or the store is unreachable), so the lease is lost.
 */
class EventStoreDbLeases implements SubscriptionLocks {
  readonly #owner = randomUUID();
  readonly #held = new Map<string, { lost: AbortController; timer: NodeJS.Timeout }>();

  constructor(
    private readonly client: EventStoreDBClient,
    private readonly ttlMs: number,
  ) {}

  async tryAcquire(name: string): Promise<SubscriptionLease | null> {
    if (this.#held.has(name)) return null;
    const stream = `${INTERNAL_PREFIX}lease-${name}`;
    const last = await readLast<LeaseData>(this.client, stream);
    if (last && last.data.owner !== this.#owner && !last.data.released && last.data.expiresAt > Date.now()) return null;
    let revision: bigint;
    try {
      revision = await appendInternal(this.client, stream, 'TesseraLeaseTaken', this.#lease(false), last?.revision ?? NO_STREAM);
    } catch (error) {
      if (error instanceof EsdbWrongExpectedVersionError) return null;
      throw error;
    }
    const lost = new AbortController();
    const renew = async () => {
      try {
        revision = await appendInternal(this.client, stream, 'TesseraLeaseRenewed', this.#lease(false), revision);
      } catch {
        this.#drop(name);
      }
    };
    const timer = setInterval(() => void renew(), Math.max(100, Math.floor(this.ttlMs / 3)));
    this.#held.set(name, { lost, timer });
    return {
      name,
      lost: lost.signal,
      release: async () => {
        if (this.#held.get(name)?.lost !== lost) return;
        this.#drop(name);
        await appendInternal(this.client, stream, 'TesseraLeaseReleased', this.#lease(true), revision).catch(() => undefined);
      },
    };
  }

  close(): Promise<void> {
    for (const name of [...this.#held.keys()]) this.#drop(name);
    return Promise.resolve();
  }

  #lease(released: boolean): Record<string, string | number | boolean> {
    return { owner: this.#owner, expiresAt: Date.now() + this.ttlMs, released };
  }

  #drop(name: string): void {
    const held = this.#held.get(name);
    if (!held) return;
    clearInterval(held.timer);
    held.lost.abort();
    this.#held.delete(name);
  }
}
