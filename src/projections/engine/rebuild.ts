import { sqlErrorInfo } from '../../db/sql-client.js';
import { positionToString } from '../../eventstore/event-store.js';
import { inScratchSession, type MaintenanceContext, type MaintenanceOptions } from './maintenance.js';
import { subscriptionName, type Projection } from './projection.js';
import { recordRebuild, resetCheckpoint } from './registry.js';
import { replayIntoScratch, type ReplayTarget } from './replay.js';
import { finishScratch, swapInScratch, type ScratchSchema } from './scratch-schema.js';

export interface RebuildReport {
  readonly projections: readonly { readonly name: string; readonly version: number; readonly checkpoint: string | null }[];
  /** Events read from the store (each page once, however many projections it fed). */
  readonly events: number;
  readonly durationMs: number;
}

/**
 * Rebuilds projections beside their live tables and swaps the copies in, so queries see the old
 * tables until the new ones are complete, then only the new ones.
 *
 * 1. Empty copies of the tables go into a scratch schema, and history is replayed into them
 *    while the live runners carry on.
 * 2. Near the head, the copies are made durable and get their deferred indexes; then this
 *    process's live runners pause, and the copies catch up with the last events the store has.
 * 3. One transaction drops the live tables, moves the copies into their place and sets each
 *    live checkpoint to where its copy got to; the runners resume from there. Events appended
 *    meanwhile lie after that checkpoint, so none is lost. A runner in another process that was
 *    still writing fails its checkpoint compare-and-set, rolls its batch back and resumes from
 *    the new checkpoint too.
 */
const LOCK_NOT_AVAILABLE = '55P03';
const DEADLOCK_DETECTED = '40P01';
const SWAP_ATTEMPTS = 5;

/**
 * Swaps the copies in and sets each live checkpoint and version, in one transaction (the swap
 * locks the live checkpoints before the tables: see swapInScratch). A runner's very first batch
 * has no checkpoint row to lock; should it deadlock with the swap all the same, the swap is
 * tried again.
 */
function swap(ctx: MaintenanceContext, scratch: ScratchSchema, targets: readonly ReplayTarget[]): Promise<void> {
  return ctx.db.transaction().execute(async (trx) => {
    const subscriptions = targets.map((t) => subscriptionName(t.projection.name));
    await swapInScratch(trx, scratch, subscriptions, ctx.swapLockTimeoutMs);
    for (const { projection, position } of targets) {
      await resetCheckpoint(trx, scratch.liveCheckpoints, projection.name, position);
      await recordRebuild(trx, projection.name, projection.version);
    }
  });
}

export function rebuildProjections(
  ctx: MaintenanceContext,
  projections: readonly Projection[],
  options: MaintenanceOptions = {},
): Promise<RebuildReport> {
  const started = performance.now();
  return inScratchSession(ctx, 'rebuild', projections, options, async ({ scratch, progress, signal, pauseRunners }) => {
    const targets: ReplayTarget[] = projections.map((projection) => ({ projection, position: null, until: null }));
    // Each pass replays up to the head as it was when the pass began, not a head that moves on:
    // with appends coming faster than a replay applies them, chasing the head would never end.
    // What is appended after the last pass, the live runners apply once the copies are in.
    const replay = async () => {
      const head = await ctx.store.headPosition();
      for (const target of targets) target.until = head;
      await replayIntoScratch(ctx.db, ctx.store, scratch, targets, { pageSize: ctx.pageSize, signal, onPage: progress.page });
    };
    progress.phase('replaying');
    await replay();
    // Durable and indexed before the pause, so the live runners stop only for the last events.
    progress.phase('indexing');
    await finishScratch(ctx.db, scratch, ctx.dialect);
    await pauseRunners();
    for (let attempt = 1; ; attempt++) {
      progress.phase('catching-up');
      await replay();
      progress.phase('swapping');
      signal.throwIfAborted();
      try {
        await swap(ctx, scratch, targets);
        break;
      } catch (error) {
        // Some query held a live table longer than the swap would wait, or a runner's first batch
        // (no checkpoint row yet to lock) deadlocked with it: catch up and try again.
        const code = sqlErrorInfo(error).code;
        if ((code !== LOCK_NOT_AVAILABLE && code !== DEADLOCK_DETECTED) || attempt >= SWAP_ATTEMPTS) throw error;
        ctx.logger.warn({ attempt }, 'live tables busy; retrying the swap');
      }
    }
    progress.phase('done');
    ctx.logger.info({ projections: targets.map((t) => t.projection.name), events: progress.events }, 'projections rebuilt and swapped in');
    return {
      projections: targets.map(({ projection, position }) => ({
        name: projection.name,
        version: projection.version,
        checkpoint: position && positionToString(position),
      })),
      events: progress.events,
      durationMs: Math.round(performance.now() - started),
    };
  });
}
