import type { Transaction } from 'kysely';
import { comparePositions, positionToString, type Position } from '../../eventstore/event-store.js';
import { compareTable, type TableComparison } from './compare-tables.js';
import { inScratchSession, type MaintenanceContext, type MaintenanceOptions } from './maintenance.js';
import type { CheckResult, Projection } from './projection.js';
import { liveCheckpoints, storedVersions } from './registry.js';
import { replayIntoScratch, type ReplayTarget } from './replay.js';
import type { ScratchSchema } from './scratch-schema.js';

export interface ProjectionVerification {
  readonly name: string;
  readonly version: number;
  readonly storedVersion: number | null;
  /** The checkpoint at which live tables and rebuilt copies were compared. */
  readonly checkpoint: string | null;
  readonly ok: boolean;
  readonly tables: readonly TableComparison[];
  readonly checks: readonly CheckResult[];
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly projections: readonly ProjectionVerification[];
  readonly events: number;
  readonly durationMs: number;
}

export interface VerifyOptions extends MaintenanceOptions {
  /** At most this many rows of each kind of difference are listed per table (all are counted). */
  readonly limit?: number;
}

/**
 * Rebuilds every projection into a scratch schema, up to exactly the checkpoint its live tables
 * are at, and compares the two row by row, then runs each projection's own checks (such as the
 * ledger's trial balance). Nothing live is changed.
 *
 * The comparison runs in one REPEATABLE READ transaction, so live tables and live checkpoint are
 * read as of one instant. This process's runners pause for the last stretch; should a runner in
 * another process move a checkpoint even so, the copy catches up to it inside that transaction.
 *
 * Then each copy goes on past the checkpoint to the head of the store: a projection stopped on an
 * event its handler refuses (an entry that does not balance) has live tables that match their
 * rebuild up to its checkpoint, but it is not healthy, and verify fails it, naming the error.
 */
export function verifyProjections(
  ctx: MaintenanceContext,
  projections: readonly Projection[],
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const started = performance.now();
  const names = projections.map((p) => p.name);
  return inScratchSession(ctx, 'verify', projections, options, async ({ scratch, progress, signal, pauseRunners, resumeRunners }) => {
    const targets: ReplayTarget[] = projections.map((projection) => ({ projection, position: null, until: null }));
    const catchUp = async (live: Map<string, Position | null>, within?: Transaction<object>) => {
      for (const target of targets) target.until = live.get(target.projection.name) ?? null;
      await replayIntoScratch(ctx.db, ctx.store, scratch, targets, { pageSize: ctx.pageSize, signal, onPage: progress.page, ...(within ? { within } : {}) });
    };
    progress.phase('replaying');
    await catchUp(await liveCheckpoints(ctx.db, scratch.liveCheckpoints, names));
    await pauseRunners();
    progress.phase('catching-up');
    await catchUp(await liveCheckpoints(ctx.db, scratch.liveCheckpoints, names));
    progress.phase('comparing');
    const results = await ctx.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => {
        const live = await liveCheckpoints(trx, scratch.liveCheckpoints, names);
        if (targets.some((t) => !samePosition(t.position, live.get(t.projection.name) ?? null))) {
          assertCanCatchUpInside(ctx, targets, live);
          await catchUp(live, trx);
        }
        return compareAll(trx, scratch, targets, options.limit ?? 20);
      });
    // Compared: the live runners need not wait while the copies go on to the head.
    await resumeRunners();
    const ahead = await applyAhead(ctx, scratch, targets, signal);
    const verified = results.map((result) => {
      const check = ahead.get(result.name)!;
      return { ...result, ok: result.ok && check.ok, checks: [...result.checks, check] };
    });
    progress.phase('done');
    const report = { ok: verified.every((r) => r.ok), projections: verified, events: progress.events, durationMs: Math.round(performance.now() - started) };
    ctx.logger.info({ ok: report.ok, projections: names }, 'projections verified');
    return report;
  });
}

async function compareAll(
  trx: Transaction<object>,
  scratch: ScratchSchema,
  targets: readonly ReplayTarget[],
  limit: number,
): Promise<ProjectionVerification[]> {
  const versions = await storedVersions(trx);
  const results: ProjectionVerification[] = [];
  for (const { projection, position } of targets) {
    const tables: TableComparison[] = [];
    for (const table of scratch.tables.filter((t) => projection.tables.includes(t.name))) {
      tables.push(await compareTable(trx, table, limit));
    }
    const storedVersion = versions.get(projection.name) ?? null;
    const checks: CheckResult[] = [
      { name: 'version', ok: storedVersion === null || storedVersion === projection.version, details: { declared: projection.version, stored: storedVersion } },
      ...((await projection.check?.(trx)) ?? []),
    ];
    results.push({
      name: projection.name,
      version: projection.version,
      storedVersion,
      checkpoint: position && positionToString(position),
      ok: tables.every((t) => t.ok) && checks.every((c) => c.ok),
      tables,
      checks,
    });
  }
  return results;
}

const AHEAD = 'applies every event after its checkpoint, up to the head';

/**
 * Applies, to each copy (already compared, and thrown away after), the events recorded after its
 * checkpoint up to the head as it is now: answers per projection whether its handler takes them.
 */
async function applyAhead(ctx: MaintenanceContext, scratch: ScratchSchema, targets: readonly ReplayTarget[], signal: AbortSignal): Promise<Map<string, CheckResult>> {
  const head = await ctx.store.headPosition();
  const checks = new Map<string, CheckResult>();
  for (const { projection, position } of targets) {
    const probe: ReplayTarget = { projection, position, until: head };
    const from = position && positionToString(position);
    try {
      await replayIntoScratch(ctx.db, ctx.store, scratch, [probe], { pageSize: ctx.pageSize, signal });
      checks.set(projection.name, { name: AHEAD, ok: true, details: { from, to: probe.position && positionToString(probe.position) } });
    } catch (error) {
      if (signal.aborted) throw error;
      const appliedUpTo = probe.position && positionToString(probe.position);
      checks.set(projection.name, { name: AHEAD, ok: false, details: { from, appliedUpTo, error: error instanceof Error ? error.message : String(error) } });
    }
  }
  return checks;
}

/**
 * Reading events while holding a transaction needs a second connection, which PGlite has not;
 * but on PGlite no other process can move a checkpoint, so this cannot happen there unless
 * something is badly wrong.
 */
function assertCanCatchUpInside(ctx: MaintenanceContext, targets: readonly ReplayTarget[], live: Map<string, Position | null>): void {
  for (const { projection, position } of targets) {
    const now = live.get(projection.name) ?? null;
    if (position !== null && (now === null || comparePositions(now, position) < 0)) {
      throw new Error(`projection ${projection.name}: its live checkpoint went back during verify (was it rebuilt meanwhile?)`);
    }
  }
  if (ctx.dialect === 'pglite') throw new Error('a live checkpoint moved during verify although its runner was paused');
}

const samePosition = (a: Position | null, b: Position | null) => (a === null || b === null ? a === b : comparePositions(a, b) === 0);
