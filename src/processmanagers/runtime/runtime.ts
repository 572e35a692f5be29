import type { SqlClient } from '../../db/sql-client.js';
import type { EventStore } from '../../eventstore/event-store.js';
import type { SubscriptionOptions } from '../../eventstore/subscription.js';
import { TesseraError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { createDeadlines, type DeadlineHandler, type Deadlines } from './deadlines.js';
import { sqlParking, type ParkedWork, type Parking } from './parking.js';
import { rerunParkedEvent, startProcessManager, type ProcessManager, type RunningProcessManager } from './process-manager.js';
import type { RetryPolicy } from './retry.js';

/** Background work that is not a subscription: it polls on its own (the mint worker). */
export interface Worker {
  start(): void;
  stop(): Promise<void>;
}

/**
 * Everything the runtime runs, by name: the process managers, the deadline kinds and their
 * handlers, the workers, and how parked work of other sources (a webhook, a mint batch) is retried.
 */
export interface RuntimeWork {
  readonly processManagers: Readonly<Record<string, ProcessManager>>;
  readonly deadlineHandlers: Readonly<Record<string, DeadlineHandler>>;
  readonly workers?: Readonly<Record<string, Worker>>;
  /** Retries of parked work by its source (`webhook:stripe`, `mint`); process managers' and deadlines' are the runtime's own. */
  readonly parkedWork?: Readonly<Record<string, (work: ParkedWork) => Promise<void>>>;
}

export interface ProcessManagerRuntimeOptions {
  readonly store: EventStore;
  readonly sql: SqlClient;
  readonly retry: RetryPolicy;
  /** Streams a process manager handles at once within a batch. */
  readonly concurrency: number;
  readonly deadlinePollMs: number;
  readonly clock: () => Date;
  readonly logger?: Logger;
  readonly subscription?: SubscriptionOptions;
}

export interface ProcessManagerRuntime {
  readonly deadlines: Deadlines;
  readonly parking: Parking;
  readonly processManagers: Readonly<Record<string, ProcessManager>>;
  listParked(options?: { includeResolved?: boolean; limit?: number }): Promise<ParkedWork[]>;
  /** Runs parked work once more; resolves with the row after the attempt (resolved, or with the new error). */
  retryParked(id: string): Promise<ParkedWork>;
  /** Starts every process manager, the deadline poller and the workers. */
  start(): void;
  stop(): Promise<void>;
}

/**
 * The one process-manager runtime: subscriptions with retries and parking, durable deadlines and
 * workers, for the work the composition root names. `define` gets the runtime's deadlines and
 * parking (process managers schedule deadlines and deadline handlers schedule more), and answers
 * the work by name.
 */
export function createProcessManagerRuntime(
  options: ProcessManagerRuntimeOptions,
  define: (runtime: { readonly deadlines: Deadlines; readonly parking: Parking }) => RuntimeWork,
): ProcessManagerRuntime {
  const { store, sql, clock } = options;
  const parking = sqlParking(sql);
  const handlers: Record<string, DeadlineHandler> = {};
  const deadlines = createDeadlines(sql, {
    handlers,
    clock,
    pollMs: options.deadlinePollMs,
    retry: options.retry,
    parking,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const work = define({ deadlines, parking });
  Object.assign(handlers, work.deadlineHandlers);
  for (const [name, pm] of Object.entries(work.processManagers)) {
    if (pm.name !== name) throw new Error(`process manager ${pm.name} is listed as ${name}`);
  }
  const workers = Object.values(work.workers ?? {});
  let running: RunningProcessManager[] = [];

  async function rerun(parked: ParkedWork): Promise<void> {
    if (parked.source === 'deadline') return deadlines.retryParked(String(parked.item.deadlineId));
    const pm = parked.source.startsWith('pm:') ? work.processManagers[parked.source.slice(3)] : undefined;
    if (pm) return rerunParkedEvent(store, pm, parked.item);
    const other = work.parkedWork?.[parked.source];
    if (!other) throw new Error(`no way to retry parked work of ${parked.source}`);
    return other(parked);
  }

  return {
    deadlines,
    parking,
    processManagers: work.processManagers,
    listParked: (listing) => parking.list(listing),
    async retryParked(id) {
      const parked = await parking.get(id);
      if (!parked) throw new TesseraError('PARKED_WORK_NOT_FOUND', `no parked work ${id}`, { id });
      try {
        await rerun(parked);
        await parking.recordRetry(id, clock(), { ok: true });
      } catch (error) {
        await parking.recordRetry(id, clock(), { ok: false, error: error instanceof Error ? error.message : String(error) });
      }
      return (await parking.get(id))!;
    },
    start() {
      if (running.length > 0) return;
      running = Object.values(work.processManagers).map((pm) =>
        startProcessManager(store, pm, {
          retry: options.retry,
          parking,
          concurrency: options.concurrency,
          clock,
          ...(options.logger ? { logger: options.logger } : {}),
          ...(options.subscription ? { subscription: options.subscription } : {}),
        }),
      );
      deadlines.start();
      for (const worker of workers) worker.start();
    },
    async stop() {
      // The pollers first (they may send commands the process managers react to), together.
      await Promise.all([...workers.map((worker) => worker.stop()), deadlines.stop()]);
      await Promise.all(running.splice(0).map((pm) => pm.stop()));
    },
  };
}
