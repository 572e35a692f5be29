import type { Logger } from '../logger.js';
import { comparePositions, type EventStore, type Position, type ReadAllOptions, type RecordedEvent } from './event-store.js';
import { sleep } from './sleep.js';

/**
 * One reader of `$all` per process. It reads the store's tail once and keeps the newest events
 * in memory, in order; every subscription of the process (process managers, projections,
 * counters) reads them from there instead of querying `$all` on its own. A subscription that is
 * behind the window (it starts late, was rebuilt, or fell behind) reads the store itself until
 * it reaches the window, so nobody waits for it and it waits for nobody.
 *
 * The window is exactly the store's `$all` from `after` to `head`: it is filled only by reads
 * that follow each other (each starts where the last ended), so the never-skip guarantee of the
 * store's readAll carries over to every reader served from memory.
 */
export interface SharedTailOptions {
  /** Events kept in memory; a reader further behind reads the store. */
  readonly windowSize?: number;
  /** Events per read of the store. */
  readonly batchSize?: number;
  /** How long to wait for an append when caught up (appends in this process wake it sooner). */
  readonly idleWaitMs?: number;
  readonly retryMaxMs?: number;
  readonly logger?: Logger;
  /**
   * Called with every batch read from the store before any reader sees it: the tail's own (in
   * order) and those read for a reader outside the window.
   */
  readonly onEvents?: (events: readonly RecordedEvent[]) => void;
  /** Called when reading `$all` fails (false) and when it works again (true). */
  readonly onReading?: (ok: boolean) => void;
}

export interface SharedTailStatus {
  readonly running: boolean;
  /** The newest event read (null before the first read of a store that was empty). */
  readonly head: Position | null;
  readonly windowEvents: number;
  /** Reads of the store the tail has made, and reads of readers it served from memory. */
  readonly storeReads: number;
  readonly servedFromMemory: number;
}

export interface SharedTail {
  /** The store as subscriptions should see it: `readAll` and `waitForAppend` served by the tail. */
  readonly store: EventStore;
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): SharedTailStatus;
}

const START: Position = { commit: 0n, prepare: 0n };

interface StreamWatcher {
  readonly afterRevision: number;
  resolve(events: RecordedEvent[]): void;
}

export function createSharedTail(store: EventStore, options: SharedTailOptions = {}): SharedTail {
  const windowSize = options.windowSize ?? 20_000;
  const batchSize = options.batchSize ?? 1000;
  const idleWaitMs = options.idleWaitMs ?? 250;
  const retryMaxMs = options.retryMaxMs ?? 5_000;
  const log = options.logger?.child({ component: 'shared-tail' });

  // The window: every event of $all after `after` up to `head`, in order.
  let window: RecordedEvent[] = [];
  let after: Position = START;
  let head: Position = START;
  let running = false;
  let stopping = new AbortController();
  let loop: Promise<void> | undefined;
  let stopped: Promise<void> = Promise.resolve();
  let storeReads = 0;
  let servedFromMemory = 0;
  let advanced = new AbortController();
  const watchers = new Map<string, Set<StreamWatcher>>();

  function take(events: readonly RecordedEvent[]): void {
    if (events.length === 0) return;
    options.onEvents?.(events);
    window.push(...events);
    head = events[events.length - 1]!.position;
    if (window.length > windowSize) {
      const dropped = window.length - windowSize;
      after = window[dropped - 1]!.position;
      window = window.slice(dropped);
    }
    const wake = advanced;
    advanced = new AbortController();
    wake.abort();
    if (watchers.size > 0) tellWatchers(events);
  }

  /** Hands each follower waiting on a stream the events of it this batch brought. */
  function tellWatchers(events: readonly RecordedEvent[]): void {
    const found = new Map<StreamWatcher, RecordedEvent[]>();
    for (const event of events) {
      for (const watcher of watchers.get(event.streamId) ?? []) {
        if (event.revision <= watcher.afterRevision) continue;
        const list = found.get(watcher) ?? [];
        list.push(event);
        found.set(watcher, list);
      }
    }
    for (const [watcher, list] of found) watcher.resolve(list);
  }

  const nextInStream: NonNullable<EventStore['nextInStream']> = (streamId, since, timeoutMs, signal) => {
    if (!running || comparePositions(since.position, after) < 0) return Promise.resolve(undefined);
    // What the window already holds past `since` (read between the follower's own read and now).
    // Scanned in place: the window is not copied for every follower that starts to wait.
    const held: RecordedEvent[] = [];
    for (let i = firstAfter(since.position); i < window.length; i++) {
      const event = window[i]!;
      if (event.streamId === streamId && event.revision > since.revision) held.push(event);
    }
    if (held.length > 0) return Promise.resolve(held);
    return new Promise((resolve) => {
      const set = watchers.get(streamId) ?? new Set<StreamWatcher>();
      watchers.set(streamId, set);
      const watcher: StreamWatcher = {
        afterRevision: since.revision,
        resolve(events) {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          set.delete(watcher);
          if (set.size === 0 && watchers.get(streamId) === set) watchers.delete(streamId);
          resolve(events);
        },
      };
      const onAbort = () => watcher.resolve([]);
      const timer = setTimeout(onAbort, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      set.add(watcher);
    });
  };

  /** An append of this process that the tail has not read yet (SQL stores tell; others: unknown). */
  const unread = (): boolean | undefined => {
    if (!store.lastAppended) return undefined;
    const latest = store.lastAppended();
    return latest !== null && comparePositions(latest, head) > 0;
  };

  async function follow(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let recheckMs = 0;
    while (!signal.aborted) {
      try {
        const events = await store.readAll({ after: head, maxCount: batchSize });
        storeReads++;
        if (failures > 0) options.onReading?.(true);
        failures = 0;
        if (events.length > 0) {
          recheckMs = 0;
          take(events);
          // Read again at once after a full batch, or while an append of ours is unread (or we
          // cannot tell); else the read took all there was: wait for the next append.
          if (events.length === batchSize || unread() !== false) continue;
        } else if (unread() === true && recheckMs < idleWaitMs) {
          // An append of ours committed but is still hidden behind a transaction that may append
          // before it: look again after a few milliseconds, doubling.
          recheckMs = recheckMs === 0 ? 1 : recheckMs * 2;
          await sleep(recheckMs, signal);
          continue;
        } else {
          recheckMs = 0;
        }
        // Wait for an append not read yet, or for the poll (appends of other processes).
        const until = performance.now() + idleWaitMs;
        for (let left = idleWaitMs; left > 0 && !signal.aborted; left = until - performance.now()) {
          await store.waitForAppend(left, signal);
          if (unread() !== false) break;
        }
      } catch (error) {
        if (failures === 0) options.onReading?.(false);
        failures++;
        const delay = Math.min(retryMaxMs, 50 * 2 ** Math.min(failures - 1, 10));
        log?.error({ err: error, attempt: failures, retryInMs: delay }, 'reading $all failed; retrying');
        await sleep(delay, signal);
      }
    }
  }

  /** The window's events after `position`, or undefined when the window does not cover it. */
  function fromWindow(position: Position, maxCount: number): RecordedEvent[] | undefined {
    if (!running) return undefined;
    if (comparePositions(position, after) < 0 || comparePositions(position, head) > 0) return undefined;
    servedFromMemory++;
    const first = firstAfter(position);
    return window.slice(first, first + maxCount);
  }

  /** The index of the window's first event after `position` (binary search: the window is in order). */
  function firstAfter(position: Position): number {
    let low = 0;
    let high = window.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (comparePositions(window[mid]!.position, position) <= 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  const readAll = async (readOptions: ReadAllOptions = {}): Promise<RecordedEvent[]> => {
    const position = readOptions.after === undefined || readOptions.after === 'start' ? START : readOptions.after;
    const held = fromWindow(position, readOptions.maxCount ?? 1000);
    if (held) return held;
    const read = await store.readAll(readOptions);
    if (read.length > 0) options.onEvents?.(read);
    return read;
  };

  /** Resolves when the tail has read something new (or after `timeoutMs`). */
  const waitForAppend = (timeoutMs: number, signal?: AbortSignal): Promise<void> =>
    running ? sleep(timeoutMs, AbortSignal.any([advanced.signal, ...(signal ? [signal] : [])])) : store.waitForAppend(timeoutMs, signal);

  return {
    store: { ...store, readAll, waitForAppend, nextInStream },
    async start() {
      // A stop still under way finishes first: its loop must not outlive the new window.
      await stopped;
      if (running) return;
      // The window starts at the newest event: readers behind it catch up from the store.
      const from = await store.headPosition();
      window = [];
      after = from ?? START;
      head = after;
      stopping = new AbortController();
      running = true;
      loop = follow(stopping.signal);
    },
    async stop() {
      if (!running) return stopped;
      running = false;
      stopping.abort();
      let done!: () => void;
      stopped = new Promise((resolve) => (done = resolve));
      await loop;
      window = [];
      after = START;
      head = START;
      done();
      advanced.abort();
      advanced = new AbortController();
      for (const set of [...watchers.values()]) for (const watcher of [...set]) watcher.resolve([]);
    },
    status: () => ({ running, head: running ? head : null, windowEvents: window.length, storeReads, servedFromMemory }),
  };
}
