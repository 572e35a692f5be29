import type { Logger } from '../logger.js';
import { CheckpointConflictError, ConsumerRetiredError } from './errors.js';
import {
  comparePositions,
  positionToString,
  type CheckpointStore,
  type EventStore,
  type Position,
  type RecordedEvent,
} from './event-store.js';
import { sleep } from './sleep.js';

/**
 * Something that reads `$all` in order and remembers how far it got: a projection or a process
 * manager. It records its checkpoint itself, so a projection can commit the checkpoint in the
 * same transaction as its read-model rows (effectively exactly once), while a process manager
 * records it after its idempotent effects (at least once).
 */
export interface SubscriptionConsumer {
  readonly name: string;
  loadCheckpoint(): Promise<Position | null>;
  /**
   * Handles the batch, then durably moves the checkpoint from `previous` to `next` (or, with
   * `flush`, may keep the move in memory and write it later). A failure is retried with backoff,
   * except CheckpointConflictError (another instance owns the subscription: stand by) and
   * ConsumerRetiredError (this consumer must not run again: the subscription ends).
   */
  handleBatch(events: readonly RecordedEvent[], checkpoint: { previous: Position | null; next: Position }): Promise<void>;
  /**
   * Writes a checkpoint move handleBatch kept in memory: called when caught up (`due`: only if
   * it has waited its turn) and at stop (`now`).
   */
  flush?(when: 'due' | 'now'): Promise<void>;
}

export interface CheckpointAfterOptions {
  /** The events `handle` wants; a batch without any is not handed over at all. */
  readonly handles?: (event: RecordedEvent) => boolean;
  /**
   * Writes the checkpoint at most this often while busy (0: after every batch). What a crash
   * loses is handled again, which is why it is only for handlers that are idempotent.
   */
  readonly writeEveryMs?: number;
}

/**
 * A consumer whose checkpoint is stored after `handle` has finished with the batch (at least
 * once). With `writeEveryMs`, batches coming close together share one checkpoint write: under
 * load a consumer writes its checkpoint a few times a second, not once per batch.
 *
 * `handle` may answer a function to run once the checkpoint covering its batch is stored (and
 * never if it is not): a counter moved there counts each event once, whoever handles it again.
 */
export function checkpointAfter(
  name: string,
  checkpoints: CheckpointStore,
  handle: (events: readonly RecordedEvent[]) => Promise<void | (() => void)>,
  options: CheckpointAfterOptions = {},
): SubscriptionConsumer {
  const writeEveryMs = options.writeEveryMs ?? 0;
  // What is stored (the compare-and-set's `previous`), and a move not written yet.
  let stored: Position | null = null;
  let unwritten: Position | null = null;
  let writtenAt = -Infinity;
  let afterWrite: (() => void)[] = [];
  const write = async (next: Position) => {
    await checkpoints.store(name, next, stored);
    stored = next;
    unwritten = null;
    writtenAt = performance.now();
    for (const done of afterWrite.splice(0)) done();
  };
  return {
    name,
    async loadCheckpoint() {
      stored = await checkpoints.load(name);
      unwritten = null;
      afterWrite = [];
      return stored;
    },
    async handleBatch(events, { next }) {
      const wanted = options.handles ? events.filter(options.handles) : events;
      const done = wanted.length > 0 ? await handle(wanted) : undefined;
      if (done) afterWrite.push(done);
      if (performance.now() - writtenAt < writeEveryMs) unwritten = next;
      else await write(next);
    },
    async flush(when) {
      if (unwritten && (when === 'now' || performance.now() - writtenAt >= writeEveryMs)) await write(unwritten);
    },
  };
}

export interface SubscriptionOptions {
  readonly batchSize?: number;
  /** How long to wait for new events when caught up (appends in this process wake it sooner). */
  readonly idleWaitMs?: number;
  /** How often an instance on standby tries to take over the subscription. */
  readonly standbyRetryMs?: number;
  readonly retryInitialMs?: number;
  readonly retryMaxMs?: number;
  /**
   * Under load (more than LOAD_EVENTS_PER_SECOND over the last second), the least time from one
   * batch's start to the next's: events arriving meanwhile go in one batch. For consumers nobody waits
   * on event by event (read models): under load they pay their per-batch cost (a transaction, a
   * checkpoint) a few times a second, not per event; at rest an event goes at once.
   */
  readonly lingerMs?: number;
  readonly logger?: Logger;
  /** Called after each handled batch; metrics hang here. */
  readonly onBatch?: (batch: { readonly count: number; readonly checkpoint: Position; readonly durationMs: number }) => void;
}

export type SubscriptionState = 'standby' | 'active' | 'retrying' | 'stopped';

export interface SubscriptionStatus {
  readonly name: string;
  readonly state: SubscriptionState;
  readonly checkpoint: Position | null;
  readonly processed: number;
  readonly consecutiveFailures: number;
  readonly lastError?: string;
}

export interface Subscription {
  readonly name: string;
  status(): SubscriptionStatus;
  /** Resolves true once this instance has handled every event up to `position`, false on timeout. */
  waitFor(position: Position, timeoutMs: number): Promise<boolean>;
  /** Stops after the batch in hand, releases the lock; a later start resumes from the checkpoint. */
  stop(): Promise<void>;
}

export function startSubscription(
  store: EventStore,
  consumer: SubscriptionConsumer,
  options: SubscriptionOptions = {},
): Subscription {
  const batchSize = options.batchSize ?? 500;
  const idleWaitMs = options.idleWaitMs ?? 250;
  const standbyRetryMs = options.standbyRetryMs ?? 1000;
  const retryInitialMs = options.retryInitialMs ?? 100;
  const retryMaxMs = options.retryMaxMs ?? 30_000;
  const lingerMs = options.lingerMs ?? 0;
  const busy = loadGauge(LOAD_EVENTS_PER_SECOND);
  const log = options.logger?.child({ subscription: consumer.name });

  const stopping = new AbortController();
  let state: SubscriptionState = 'standby';
  let checkpoint: Position | null = null;
  let processed = 0;
  let consecutiveFailures = 0;
  let lastError: string | undefined;
  const waiters = new Set<{ position: Position; resolve: (reached: boolean) => void }>();

  const advanced = (to: Position | null) => {
    checkpoint = to;
    if (!to) return;
    for (const waiter of waiters) {
      if (comparePositions(waiter.position, to) <= 0) {
        waiters.delete(waiter);
        waiter.resolve(true);
      }
    }
  };

  async function consume(signal: AbortSignal): Promise<void> {
    advanced(await consumer.loadCheckpoint());
    // After an append wakes us, the new event may still sit behind the visibility horizon (an
    // older transaction, such as another consumer's checkpoint update, has not finished): look
    // again after a few milliseconds, doubling, instead of sleeping the whole idle wait.
    let recheckMs = 0;
    while (!signal.aborted) {
      try {
        const events = await store.readAll({ after: checkpoint ?? 'start', maxCount: batchSize });
        if (events.length === 0) {
          await consumer.flush?.('due');
          if (recheckMs > 0 && recheckMs < idleWaitMs) {
            await sleep(recheckMs, signal);
            recheckMs *= 2;
          } else {
            const started = performance.now();
            await store.waitForAppend(idleWaitMs, signal);
            recheckMs = performance.now() - started < idleWaitMs ? 2 : 0;
          }
          continue;
        }
        recheckMs = 0;
        if (signal.aborted) return;
        const started = performance.now();
        const next = events[events.length - 1]!.position;
        await consumer.handleBatch(events, { previous: checkpoint, next });
        processed += events.length;
        consecutiveFailures = 0;
        state = 'active';
        advanced(next);
        const durationMs = performance.now() - started;
        options.onBatch?.({ count: events.length, checkpoint: next, durationMs });
        // Under load, let more gather; at rest (or in a trickle), take the next at once.
        if (lingerMs > durationMs && events.length < batchSize && busy.add(events.length)) await sleep(lingerMs - durationMs, signal);
      } catch (error) {
        if (error instanceof CheckpointConflictError || error instanceof ConsumerRetiredError) throw error;
        consecutiveFailures++;
        lastError = error instanceof Error ? error.message : String(error);
        state = 'retrying';
        const delay = Math.min(retryMaxMs, retryInitialMs * 2 ** Math.min(consecutiveFailures - 1, 20));
        log?.error({ err: error, attempt: consecutiveFailures, retryInMs: delay }, 'subscription batch failed; retrying');
        await sleep(delay, signal);
        // The batch may have half-happened; the consumer's own record says where to resume.
        advanced(await consumer.loadCheckpoint());
      }
    }
  }

  const running = (async () => {
    while (!stopping.signal.aborted) {
      let lease;
      try {
        lease = await store.locks.tryAcquire(consumer.name);
      } catch (error) {
        log?.warn({ err: error }, 'could not ask for the subscription lock');
      }
      if (!lease) {
        state = 'standby';
        await sleep(standbyRetryMs, stopping.signal);
        continue;
      }
      state = 'active';
      log?.info('subscription active');
      try {
        await consume(AbortSignal.any([stopping.signal, lease.lost]));
        if (lease.lost.aborted && !stopping.signal.aborted) log?.warn('subscription lock lost; standing by');
        // Stopping with the lock still held: write what the last batches moved.
        else await consumer.flush?.('now').catch((error: unknown) => log?.warn({ err: error }, 'could not write the checkpoint at stop'));
      } catch (error) {
        if (error instanceof ConsumerRetiredError) {
          lastError = error.message;
          log?.error({ err: error }, 'subscription retired; it will not run again in this process');
          break;
        }
        log?.warn({ err: error }, 'subscription handed over; standing by');
        await sleep(standbyRetryMs, stopping.signal);
      } finally {
        await lease.release();
      }
    }
    state = 'stopped';
  })();

  return {
    name: consumer.name,
    status: () => ({
      name: consumer.name,
      state,
      checkpoint,
      processed,
      consecutiveFailures,
      ...(lastError === undefined ? {} : { lastError }),
    }),
    waitFor(position, timeoutMs) {
      if (checkpoint && comparePositions(position, checkpoint) <= 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const waiter = {
          position,
          resolve: (reached: boolean) => {
            clearTimeout(timer);
            resolve(reached);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          resolve(false);
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    async stop() {
      stopping.abort();
      await running;
      for (const waiter of waiters) waiter.resolve(false);
      waiters.clear();
      log?.info({ checkpoint: checkpoint && positionToString(checkpoint) }, 'subscription stopped');
    },
  };
}

/** The rate of events from which a lingering subscription counts as under load. */
const LOAD_EVENTS_PER_SECOND = 50;

/** Counts events handled over the last second; `add` answers whether that is above `perSecond`. */
function loadGauge(perSecond: number): { add(count: number): boolean } {
  const recent: { at: number; count: number }[] = [];
  let total = 0;
  return {
    add(count) {
      const now = performance.now();
      recent.push({ at: now, count });
      total += count;
      while (recent.length > 0 && recent[0]!.at < now - 1_000) total -= recent.shift()!.count;
      return total > perSecond;
    },
  };
}
