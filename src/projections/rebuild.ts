import { positionToString } from '../eventstore/event-store.js';
import { acquireMaintenance, estimateTotal, progressTracker, type MaintenanceContext, type MaintenanceOptions } from './maintenance.js';
import type { Projection } from './projection.js';
import { recordRebuild, resetCheckpoint } from './registry.js';
import { replayIntoScratch, type ReplayTarget } from './replay.js';
import { createScratchSchema, dropScratchSchema, finishScratch, swapInScratch, type ScratchSchema } from './scratch-schema.js';

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
export async function rebuildProjections(
  ctx: MaintenanceContext,
  projections: readonly Projection[],
  options: MaintenanceOptions = {},
): Promise<RebuildReport> {
  const started = performance.now();
  const names = projections.map((p) => p.name);
  const lease = await acquireMaintenance(ctx.store, names, options.signal);
  const progress = progressTracker('rebuild', names, options.onProgress);
  let scratch: ScratchSchema | undefined;
  let resume: (() => Promise<void>) | undefined;
  try {
    progress.total(await estimateTotal(ctx.store));
    scratch = await createScratchSchema(ctx.db, projections, 'rebuild');
    const targets: ReplayTarget[] = projections.map((projection) => ({ projection, position: null, until: 'head' }));
    const replay = () => replayIntoScratch(ctx.db, ctx.store, scratch!, targets, { pageSize: ctx.pageSize, signal: lease.signal, onPage: progress.page });
    progress.phase('replaying');
    await replay();
    // Durable and indexed before the pause, so the live runners stop only for the last events.
    await finishScratch(ctx.db, scratch);
    resume = await ctx.pause(names);
    progress.phase('catching-up');
    await replay();
    progress.phase('swapping');
    lease.signal.throwIfAborted();
    await ctx.db.transaction().execute(async (trx) => {
      await swapInScratch(trx, scratch!);
      for (const { projection, position } of targets) {
        await resetCheckpoint(trx, scratch!.liveCheckpoints, projection.name, position);
        await recordRebuild(trx, projection.name, projection.version);
      }
    });
    progress.phase('done');
    ctx.logger.info({ projections: names, events: progress.events }, 'projections rebuilt and swapped in');
    return {
      projections: targets.map(({ projection, position }) => ({
        name: projection.name,
        version: projection.version,
        checkpoint: position && positionToString(position),
      })),
      events: progress.events,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    if (scratch) await dropScratchSchema(ctx.db, scratch).catch((error: unknown) => ctx.logger.warn({ err: error, schema: scratch?.schema }, 'could not drop scratch schema'));
    await resume?.();
    await lease.release();
  }
}
