import type { Kysely } from 'kysely';
import { TesseraError } from '../../errors.js';
import { positionToString, type EventStore, type Position, type SubscriptionLease } from '../../eventstore/event-store.js';
import type { Logger } from '../../logger.js';
import { eventsBehind } from './lag.js';
import { maintenanceLockName, type Projection } from './projection.js';
import { createScratchSchema, dropLeftoverScratchSchemas, dropScratchSchema, type ScratchSchema } from './scratch-schema.js';

/** What rebuild and verify need from the engine that runs the live projections. */
export interface MaintenanceContext {
  readonly db: Kysely<object>;
  readonly store: EventStore;
  readonly dialect: 'postgres' | 'pglite';
  /** Events per page when replaying history. */
  readonly pageSize: number;
  /** How long a swap waits for queries holding the live tables before it catches up and retries. */
  readonly swapLockTimeoutMs: number;
  readonly logger: Logger;
  /** Stops this process's live runners of these projections until the returned function runs. */
  pause(names: readonly string[]): Promise<() => Promise<void>>;
}

export type MaintenancePhase = 'preparing' | 'replaying' | 'indexing' | 'catching-up' | 'swapping' | 'comparing' | 'done';

/** What a progress bar needs: how many events have been replayed of about how many. */
export interface MaintenanceProgress {
  readonly operation: 'rebuild' | 'verify';
  readonly phase: MaintenancePhase;
  readonly projections: readonly string[];
  readonly events: number;
  /** Events the replay expects to read (an estimate; null when the store cannot say cheaply). */
  readonly total: number | null;
  readonly position: string | null;
}

export type OnProgress = (progress: MaintenanceProgress) => void;

export interface MaintenanceOptions {
  readonly onProgress?: OnProgress;
  readonly signal?: AbortSignal;
}

export type ProgressTracker = ReturnType<typeof progressTracker>;

/** Reports progress as phases change and pages are applied. */
export function progressTracker(operation: MaintenanceProgress['operation'], projections: readonly string[], onProgress?: OnProgress) {
  let current: MaintenanceProgress = { operation, phase: 'preparing', projections, events: 0, total: null, position: null };
  const emit = (change: Partial<MaintenanceProgress>) => {
    current = { ...current, ...change };
    onProgress?.(current);
  };
  return {
    get events() {
      return current.events;
    },
    phase: (phase: MaintenancePhase) => emit({ phase }),
    total: (total: number | null) => emit({ total }),
    page: (events: number, position: Position) => emit({ events: current.events + events, position: positionToString(position) }),
  };
}

/** About how many events a replay from the start will read. */
export async function estimateTotal(store: EventStore): Promise<number | null> {
  if (store.kind === 'eventstoredb') return null;
  return eventsBehind(store, null, await store.headPosition());
}

export interface MaintenanceLease {
  /** Aborted when any of the locks is lost, or when `signal` (if given) aborts. */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

/**
 * Takes every projection's maintenance lock, so one rebuild or verify at a time works on a
 * projection across all processes; REBUILD_IN_PROGRESS when another holds one.
 */
export async function acquireMaintenance(store: EventStore, names: readonly string[], signal?: AbortSignal): Promise<MaintenanceLease> {
  const leases: SubscriptionLease[] = [];
  const release = async () => {
    await Promise.all(leases.map((lease) => lease.release().catch(() => undefined)));
  };
  for (const name of names) {
    const lease = await store.locks.tryAcquire(maintenanceLockName(name)).catch(async (error: unknown) => {
      await release();
      throw error;
    });
    if (!lease) {
      await release();
      throw new TesseraError('REBUILD_IN_PROGRESS', `projection ${name} is already being rebuilt or verified`, { projection: name });
    }
    leases.push(lease);
  }
  return { signal: AbortSignal.any([...leases.map((lease) => lease.lost), ...(signal ? [signal] : [])]), release };
}

/** What a rebuild or verify works with while it holds its projections' maintenance locks. */
export interface ScratchSession {
  readonly scratch: ScratchSchema;
  readonly progress: ProgressTracker;
  /** Aborted when a lock is lost or the engine stops. */
  readonly signal: AbortSignal;
  /** Pauses this process's live runners of the projections until the session ends. */
  readonly pauseRunners: () => Promise<void>;
  /** Resumes them before the session ends, once the work no longer needs them still. */
  readonly resumeRunners: () => Promise<void>;
}

/**
 * Runs `work` holding the projections' maintenance locks, with a scratch schema of copies of
 * their tables; afterwards, however it ends, drops the scratch schema, resumes the runners it
 * paused and releases the locks.
 */
export async function inScratchSession<T>(
  ctx: MaintenanceContext,
  operation: MaintenanceProgress['operation'],
  projections: readonly Projection[],
  options: MaintenanceOptions,
  work: (session: ScratchSession) => Promise<T>,
): Promise<T> {
  const names = projections.map((p) => p.name);
  const lease = await acquireMaintenance(ctx.store, names, options.signal);
  const progress = progressTracker(operation, names, options.onProgress);
  let scratch: ScratchSchema | undefined;
  let resume: (() => Promise<void>) | undefined;
  try {
    const leftovers = await dropLeftoverScratchSchemas(ctx.db, projections);
    if (leftovers.length > 0) ctx.logger.warn({ schemas: leftovers }, 'dropped scratch schemas an interrupted rebuild or verify left behind');
    progress.total(await estimateTotal(ctx.store));
    scratch = await createScratchSchema(ctx.db, projections, operation, { logged: operation === 'rebuild' });
    return await work({
      scratch,
      progress,
      signal: lease.signal,
      pauseRunners: async () => {
        resume ??= await ctx.pause(names);
      },
      resumeRunners: async () => {
        await resume?.();
      },
    });
  } finally {
    const schema = scratch?.schema;
    if (scratch) await dropScratchSchema(ctx.db, scratch).catch((error: unknown) => ctx.logger.warn({ err: error, schema }, 'could not drop scratch schema'));
    await resume?.();
    await lease.release();
  }
}
