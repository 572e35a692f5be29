import type { DomainEvent } from '../aggregates/decider.js';
import type { EventStore, RecordedEvent } from '../eventstore/event-store.js';

/**
 * Aggregates this process has just loaded or written, so a process manager's next step on a
 * stream (or the request that wrote it) does not read back what it wrote a moment ago.
 *
 * A cached state is only ever a guess at the stream's head. Every append made from it still
 * expects the cached revision, so a stale guess fails the append and the command is decided
 * again from the store (handleCommand). A decision that writes nothing, or refuses, is checked
 * against the store before it is answered. And the shared tail tells the cache of every event
 * it reads (`observe`): an entry some other writer has moved past is dropped at once.
 */
export interface CachedAggregate {
  readonly state: unknown;
  readonly revision: number;
  readonly events: readonly RecordedEvent[];
  readonly tenantId: string | undefined;
}

export interface AggregateCache {
  /**
   * Only while a shared tail tells the cache of every event (`observe`) may it answer: without
   * one it cannot learn of other writers. Off at first; stopping clears it.
   */
  setActive(active: boolean): void;
  get(streamId: string, owner: object): CachedAggregate | undefined;
  set(streamId: string, owner: object, entry: CachedAggregate): void;
  delete(streamId: string): void;
  /** Events as the shared tail reads them, from every writer. */
  observe(events: readonly RecordedEvent<string, unknown>[]): void;
  readonly size: number;
}

export function createAggregateCache(maxStreams = 5_000): AggregateCache {
  // Map order is insertion order: re-inserting on use keeps the least recently used first.
  const entries = new Map<string, { owner: object; entry: CachedAggregate }>();
  // The newest revision the tail has seen per stream, so a write that lost a race to another
  // instance is not cached over the newer event the tail already passed on.
  const latest = new Map<string, number>();
  const trim = <V>(map: Map<string, V>, max: number) => {
    while (map.size > max) map.delete(map.keys().next().value!);
  };
  let active = false;
  return {
    setActive(on) {
      active = on;
      if (!on) {
        entries.clear();
        latest.clear();
      }
    },
    get(streamId, owner) {
      if (!active) return undefined;
      const found = entries.get(streamId);
      if (!found || found.owner !== owner) return undefined;
      entries.delete(streamId);
      entries.set(streamId, found);
      return found.entry;
    },
    set(streamId, owner, entry) {
      if (!active) return;
      if ((latest.get(streamId) ?? -1) > entry.revision) return void entries.delete(streamId);
      entries.delete(streamId);
      entries.set(streamId, { owner, entry });
      trim(entries, maxStreams);
    },
    delete(streamId) {
      entries.delete(streamId);
    },
    observe(events) {
      for (const event of events) {
        const known = latest.get(event.streamId) ?? -1;
        latest.delete(event.streamId);
        latest.set(event.streamId, Math.max(known, event.revision));
        const found = entries.get(event.streamId);
        if (found && found.entry.revision < event.revision) entries.delete(event.streamId);
      }
      trim(latest, maxStreams * 4);
    },
    get size() {
      return entries.size;
    },
  };
}

const caches = new WeakMap<EventStore, AggregateCache>();

/** Command handlers working on `store` use `cache` (the composition root sets one per process). */
export function cacheAggregates(store: EventStore, cache: AggregateCache): void {
  caches.set(store, cache);
}

export const aggregateCacheOf = (store: EventStore): AggregateCache | undefined => caches.get(store);

/** The events an append wrote, as the store recorded them (every one at the batch's position). */
export function recordedAfterAppend<Event extends DomainEvent>(
  streamId: string,
  written: readonly { id: string; type: string; data: unknown; metadata: RecordedEvent['metadata'] }[],
  firstRevision: number,
  position: RecordedEvent['position'],
  now: Date,
): RecordedEvent<Event['type'], Event['data']>[] {
  return written.map((event, i) => ({
    ...event,
    type: event.type,
    data: event.data,
    streamId,
    revision: firstRevision + i,
    position,
    recordedAt: now,
  }));
}
