import type { Kysely } from 'kysely';
import type { Config } from '../../config.js';
import { createKysely } from '../../db/kysely.js';
import type { SqlClient } from '../../db/sql-client.js';
import { TesseraError } from '../../errors.js';
import { comparePositions, positionToString, type EventStore, type Position } from '../../eventstore/event-store.js';
import { sqlCheckpointStore } from '../../eventstore/sql-event-store.js';
import { sleep } from '../../eventstore/sleep.js';
import { startSubscription, type Subscription, type SubscriptionConsumer, type SubscriptionState } from '../../eventstore/subscription.js';
import type { Logger } from '../../logger.js';
import { applySteps, ProjectionVersionError } from './apply-batch.js';
import { lagOf } from './lag.js';
import type { MaintenanceContext, MaintenanceProgress, OnProgress } from './maintenance.js';
import { subscriptionName, type Projection } from './projection.js';
import { rebuildProjections, type RebuildReport } from './rebuild.js';
import { liveCheckpoints, registerVersion, storedVersions } from './registry.js';
import { verifyProjections, type VerifyReport } from './verify.js';

export interface ReadSideOptions {
  /** Where the read models live (and their checkpoints, whatever the event store). */
  readonly sql: SqlClient;
  readonly store: EventStore;
  readonly logger: Logger;
  readonly projections: readonly Projection[];
  /** Events per transaction for live runners (PROJECTION_BATCH_SIZE). */
  readonly batchSize?: number;
  /** Events per page and transaction for rebuild and verify (PROJECTION_REBUILD_BATCH_SIZE). */
  readonly rebuildBatchSize?: number;
  /** Least time between a live runner's batches, so events under load share one (PROJECTION_LINGER_MS). */
  readonly lingerMs?: number;
  /** Longest backoff between retries of a failing batch (PROJECTION_RETRY_MAX_MS). */
  readonly retryMaxMs?: number;
  readonly retryInitialMs?: number;
  readonly idleWaitMs?: number;
  readonly standbyRetryMs?: number;
  /** How long a rebuild's swap waits for the live tables' locks before it retries (default 5000). */
  readonly swapLockTimeoutMs?: number;
}

export type ProjectionState = SubscriptionState | 'paused' | 'rebuilding' | 'outdated';

export interface ProjectionStatus {
  readonly name: string;
  readonly version: number;
  /** The version that built the live tables (null before the projection first ran). */
  readonly storedVersion: number | null;
  /** `active`: this process runs it; `standby`: another process does; see README for the rest. */
  readonly state: ProjectionState;
  readonly checkpoint: string | null;
  /** The newest event `$all` returns now. */
  readonly head: string | null;
  /**
   * Events committed after the checkpoint (approximate: see lag.ts), counting those a transaction
   * still open hides from `$all`: a projection held up there is lagging, not caught up.
   */
  readonly lagEvents: number;
  /** Age of the oldest committed event the projection has not handled yet; 0 when caught up. */
  readonly lagSeconds: number;
  /** Events this process has handled for it since start. */
  readonly processed: number;
  readonly consecutiveFailures: number;
  readonly lastError?: string;
  /** Present while a rebuild or verify works on it in this process. */
  readonly maintenance?: MaintenanceProgress;
}

export interface BatchApplied {
  readonly projection: string;
  readonly events: number;
  readonly durationMs: number;
  readonly checkpoint: Position;
}

export interface ReadSide {
  /** Kysely over the read models, for queries. */
  readonly db: Kysely<object>;
  readonly projections: readonly Projection[];
  /** Starts a runner per projection (rebuilding first those whose version went up). */
  start(): Promise<void>;
  /** Stops the runners after their batch in hand and abandons background rebuilds. */
  stop(): Promise<void>;
  status(): Promise<ProjectionStatus[]>;
  /**
   * Read-your-writes: resolves true once `projection` has handled everything up to `position`
   * (an append's position), false after `timeoutMs`. Works whichever process runs it.
   */
  waitFor(projection: string, position: Position, timeoutMs: number): Promise<boolean>;
  /** Rebuilds the named projections (all when none is named) beside the live tables and swaps them in. */
  rebuild(projections?: string | readonly string[], onProgress?: OnProgress): Promise<RebuildReport>;
  /** Rebuilds every projection into scratch tables and compares them with the live ones. */
  verify(onProgress?: OnProgress): Promise<VerifyReport>;
  /** Called after every batch a live runner commits; returns a function that unsubscribes. */
  onBatch(listener: (batch: BatchApplied) => void): () => void;
}

/** The ReadSideOptions that come from the environment. */
export const readSideSettings = (config: Config) =>
  ({
    batchSize: config.PROJECTION_BATCH_SIZE,
    rebuildBatchSize: config.PROJECTION_REBUILD_BATCH_SIZE,
    retryMaxMs: config.PROJECTION_RETRY_MAX_MS,
    lingerMs: config.PROJECTION_LINGER_MS,
  }) satisfies Partial<ReadSideOptions>;

/** How often waitFor looks at the stored checkpoint when another process runs the projection. */
const WAIT_POLL_MS = 50;

export function createReadSide(options: ReadSideOptions): ReadSide {
  const { sql, store, logger, projections } = options;
  const byName = indexProjections(projections);
  const db = createKysely<object>(sql);
  const log = logger.child({ component: 'read-side' });
  const runners = new Map<string, Subscription>();
  const pauses = new Map<string, number>();
  const outdated = new Map<string, string>();
  const awaitingRebuild = new Set<string>();
  const maintenance = new Map<string, MaintenanceProgress>();
  const processed = new Map<string, number>();
  const listeners = new Set<(batch: BatchApplied) => void>();
  const background = new Set<Promise<void>>();
  let running = false;
  let stopping = new AbortController();

  const consumerFor = (projection: Projection): SubscriptionConsumer => ({
    name: subscriptionName(projection.name),
    loadCheckpoint: () => sqlCheckpointStore(sql).load(subscriptionName(projection.name)),
    async handleBatch(events, { previous, next }) {
      try {
        await applySteps(db, [{ projection, events, previous, next }]);
      } catch (error) {
        if (error instanceof ProjectionVersionError) retire(projection, error.stored);
        throw error; // a ProjectionVersionError ends the subscription
      }
    },
  });

  /**
   * Another version rebuilt the projection's live tables while this process ran it: the runner
   * ends. A newer version's tables are left alone (outdated, as at start); an older one's are
   * rebuilt by this code, as at start.
   */
  function retire(projection: Projection, stored: number): void {
    const runner = runners.get(projection.name);
    runners.delete(projection.name);
    if (runner) track(runner.stop());
    if (stored > projection.version) return markOutdated(projection, stored);
    awaitingRebuild.add(projection.name);
    track(upgrade(projection));
  }

  function track(work: Promise<void>): void {
    background.add(work);
    void work.finally(() => background.delete(work));
  }

  function startRunner(projection: Projection): void {
    const { name } = projection;
    if (!running || runners.has(name) || pauses.has(name) || outdated.has(name) || awaitingRebuild.has(name)) return;
    const subscription = startSubscription(store, consumerFor(projection), {
      logger: log.child({ projection: name }),
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      ...(options.idleWaitMs === undefined ? {} : { idleWaitMs: options.idleWaitMs }),
      ...(options.standbyRetryMs === undefined ? {} : { standbyRetryMs: options.standbyRetryMs }),
      ...(options.retryInitialMs === undefined ? {} : { retryInitialMs: options.retryInitialMs }),
      ...(options.retryMaxMs === undefined ? {} : { retryMaxMs: options.retryMaxMs }),
      ...(options.lingerMs === undefined ? {} : { lingerMs: options.lingerMs }),
      onBatch: ({ count, checkpoint, durationMs }) => {
        processed.set(name, (processed.get(name) ?? 0) + count);
        for (const listener of listeners) listener({ projection: name, events: count, durationMs, checkpoint });
      },
    });
    runners.set(name, subscription);
  }

  async function stopRunner(name: string): Promise<void> {
    const runner = runners.get(name);
    if (!runner) return;
    runners.delete(name);
    await runner.stop();
  }

  const context: MaintenanceContext = {
    db,
    store,
    dialect: sql.dialect,
    pageSize: options.rebuildBatchSize ?? 2000,
    swapLockTimeoutMs: options.swapLockTimeoutMs ?? 5000,
    logger: log,
    async pause(names) {
      for (const name of names) pauses.set(name, (pauses.get(name) ?? 0) + 1);
      await Promise.all(names.map(stopRunner));
      let resumed = false;
      return () => {
        if (resumed) return Promise.resolve();
        resumed = true;
        for (const name of names) {
          const left = (pauses.get(name) ?? 1) - 1;
          if (left > 0) pauses.set(name, left);
          else {
            pauses.delete(name);
            startRunner(byName.get(name)!);
          }
        }
        return Promise.resolve();
      };
    },
  };

  /** Runs a rebuild or verify, showing its progress in status() meanwhile. */
  async function maintain<T>(
    selected: readonly Projection[],
    onProgress: OnProgress | undefined,
    run: (options: { onProgress: OnProgress; signal: AbortSignal }) => Promise<T>,
  ): Promise<T> {
    const names = selected.map((p) => p.name);
    try {
      return await run({
        signal: stopping.signal,
        onProgress: (progress) => {
          for (const name of names) maintenance.set(name, progress);
          onProgress?.(progress);
        },
      });
    } finally {
      for (const name of names) maintenance.delete(name);
    }
  }

  const rebuild = (selected: readonly Projection[], onProgress?: OnProgress) =>
    maintain(selected, onProgress, (run) => rebuildProjections(context, selected, run));

  function markOutdated(projection: Projection, stored: number): void {
    const reason = `its live tables were built by version ${stored}, newer than this code's ${projection.version}`;
    awaitingRebuild.delete(projection.name);
    outdated.set(projection.name, reason);
    log.error({ projection: projection.name }, `projection not started: ${reason}`);
  }

  /** A projection whose stored version is older is rebuilt before its runner starts. */
  async function upgrade(projection: Projection): Promise<void> {
    let attempt = 0;
    while (!stopping.signal.aborted) {
      try {
        const stored = (await storedVersions(db)).get(projection.name);
        if (stored === projection.version) break;
        // Newer code elsewhere got there first (a rolling deploy): leave its tables alone.
        if (stored !== undefined && stored > projection.version) return markOutdated(projection, stored);
        await rebuild([projection]);
        break;
      } catch (error) {
        if (stopping.signal.aborted) return;
        const busy = error instanceof TesseraError && error.code === 'REBUILD_IN_PROGRESS';
        if (!busy) log.error({ err: error, projection: projection.name }, 'rebuilding a projection for its new version failed; retrying');
        await sleep(Math.min(options.retryMaxMs ?? 30_000, (options.standbyRetryMs ?? 1000) * 2 ** Math.min(attempt++, 5)), stopping.signal);
      }
    }
    awaitingRebuild.delete(projection.name);
    startRunner(projection);
  }

  async function start(): Promise<void> {
    if (running) return;
    running = true;
    stopping = new AbortController();
    const stored = await storedVersions(db);
    for (const projection of projections) {
      const version = stored.get(projection.name);
      if (version === undefined) await registerVersion(db, projection.name, projection.version);
      if (version === undefined || version === projection.version) {
        startRunner(projection);
      } else if (version > projection.version) {
        markOutdated(projection, version);
      } else {
        awaitingRebuild.add(projection.name);
        track(upgrade(projection));
      }
    }
  }

  async function stop(): Promise<void> {
    running = false;
    stopping.abort();
    await Promise.allSettled([...background]);
    await Promise.all([...runners.keys()].map(stopRunner));
    outdated.clear();
    awaitingRebuild.clear();
  }

  async function status(): Promise<ProjectionStatus[]> {
    const names = projections.map((p) => p.name);
    const [head, checkpoints, versions] = await Promise.all([
      store.headPosition(),
      liveCheckpoints(db, 'tessera_checkpoints', names),
      storedVersions(db),
    ]);
    const now = new Date();
    return Promise.all(
      projections.map(async (projection): Promise<ProjectionStatus> => {
        const { name } = projection;
        const checkpoint = checkpoints.get(name) ?? null;
        const lag = await lagOf(store, checkpoint, now);
        const runner = runners.get(name)?.status();
        const lastError = runner?.lastError ?? outdated.get(name);
        const progress = maintenance.get(name);
        return {
          name,
          version: projection.version,
          storedVersion: versions.get(name) ?? null,
          state: stateOf(name, runner?.state),
          checkpoint: checkpoint && positionToString(checkpoint),
          head: head && positionToString(head),
          lagEvents: lag.events,
          lagSeconds: lag.seconds,
          processed: processed.get(name) ?? 0,
          consecutiveFailures: runner?.consecutiveFailures ?? 0,
          ...(lastError === undefined ? {} : { lastError }),
          ...(progress ? { maintenance: progress } : {}),
        };
      }),
    );
  }

  function stateOf(name: string, runnerState: SubscriptionState | undefined): ProjectionState {
    if (runnerState) return runnerState;
    if (outdated.has(name)) return 'outdated';
    if (awaitingRebuild.has(name)) return 'rebuilding';
    if (pauses.has(name)) return 'paused';
    return 'stopped';
  }

  async function waitFor(name: string, position: Position, timeoutMs: number): Promise<boolean> {
    select(byName, name);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const stored = await sqlCheckpointStore(sql).load(subscriptionName(name));
      if (stored && comparePositions(position, stored) <= 0) return true;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return false;
      const runner = runners.get(name);
      // An active local runner says the moment it passes; otherwise another process may be
      // running the projection, so look at the stored checkpoint again shortly.
      const slice = runner?.status().state === 'active' ? remaining : Math.min(remaining, WAIT_POLL_MS);
      if (runner ? await runner.waitFor(position, slice) : (await sleep(slice), false)) return true;
    }
  }

  return {
    db,
    projections,
    start,
    stop,
    status,
    waitFor,
    rebuild: (names, onProgress) => Promise.resolve(names).then((named) => rebuild(selectMany(byName, named), onProgress)),
    verify: (onProgress) => maintain(projections, onProgress, (run) => verifyProjections(context, projections, run)),
    onBatch(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
  };
}

function indexProjections(projections: readonly Projection[]): Map<string, Projection> {
  const byName = new Map<string, Projection>();
  const owners = new Map<string, string>();
  for (const projection of projections) {
    if (byName.has(projection.name)) throw new RangeError(`two projections are named ${projection.name}`);
    byName.set(projection.name, projection);
    for (const table of projection.tables) {
      const owner = owners.get(table);
      if (owner) throw new RangeError(`table ${table} is claimed by projections ${owner} and ${projection.name}`);
      owners.set(table, projection.name);
    }
  }
  return byName;
}

function select(byName: Map<string, Projection>, name: string): Projection {
  const projection = byName.get(name);
  if (!projection) throw new TesseraError('PROJECTION_NOT_FOUND', `no projection is named ${name}`, { projection: name });
  return projection;
}

function selectMany(byName: Map<string, Projection>, names: string | readonly string[] | undefined): Projection[] {
  if (names === undefined) return [...byName.values()];
  // A name given twice is one projection: its maintenance lock is taken once.
  return [...new Set(typeof names === 'string' ? [names] : names)].map((name) => select(byName, name));
}
