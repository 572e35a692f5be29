import { sql, type Kysely, type Transaction } from 'kysely';
import { sqlExecutorOf } from '../../db/kysely.js';
import type { Position, RecordedEvent } from '../../eventstore/event-store.js';
import { CheckpointConflictError, ConsumerRetiredError } from '../../eventstore/errors.js';
import { sqlCheckpointStore } from '../../eventstore/sql-event-store.js';
import { subscriptionName, type Projection } from './projection.js';
import { quoteIdentifier } from '../../db/sql-client.js';
import type { ScratchSchema } from './scratch-schema.js';

/** One projection's share of a batch: its events and the checkpoint move they amount to. */
export interface ProjectionStep {
  readonly projection: Projection;
  readonly events: readonly RecordedEvent[];
  readonly previous: Position | null;
  readonly next: Position;
}

/** Which tables applyStepsIn writes. */
export interface StepTarget {
  /** The scratch copies and their checkpoints instead of the live tables. */
  readonly scratch?: ScratchSchema;
  /** Point the transaction back at the live tables once the steps are applied (a longer transaction of the caller's). */
  readonly restore?: boolean;
  /** The handlers' BatchContext.tables; by default the scratch schema, or else the transaction itself (nothing is remembered). */
  readonly tables?: object;
}

/**
 * Applies the steps in `trx` and moves each projection's checkpoint with compare-and-set in the
 * same transaction, so rows and checkpoint commit together or not at all (effectively exactly
 * once), and a consumer that lost its lock fails on the checkpoint instead of writing twice.
 * With `scratch`, the same handlers write the scratch copies and their checkpoints instead; the
 * redirection lasts until the transaction ends, or until the steps are applied when `trx` is a
 * longer transaction of the caller's (`restore`).
 */
export async function applyStepsIn(trx: Transaction<object>, steps: readonly ProjectionStep[], target: StepTarget = {}): Promise<void> {
  const { scratch, restore = false } = target;
  const tables = target.tables ?? scratch ?? trx;
  const previousPath = scratch ? await prepareScratch(trx, scratch) : undefined;
  await holdCheckpoints(trx, steps, !scratch);
  const checkpoints = sqlCheckpointStore(sqlExecutorOf(trx));
  for (const { projection, events, previous, next } of steps) {
    if (events.length > 0) await projection.handle(events, trx, { previous, next, tables });
    await checkpoints.store(subscriptionName(projection.name), next, previous);
  }
  if (restore && previousPath !== undefined) await sql`SELECT set_config('search_path', ${previousPath}, true)`.execute(trx);
}

/**
 * applyStepsIn, in a transaction of its own: to the scratch copies, or else to the live tables,
 * which the handlers know by `db` (one read side's).
 */
export function applySteps(db: Kysely<object>, steps: readonly ProjectionStep[], scratch?: ScratchSchema): Promise<void> {
  return db.transaction().execute((trx) => applyStepsIn(trx, steps, scratch ? { scratch } : { tables: db }));
}

/**
 * Locks the checkpoints the steps move and checks each is still where its step starts, before
 * anything is written: of two runners that overlap (one lost its lock), the second waits here
 * for the first to commit, then fails with CheckpointConflictError and hands over, instead of
 * failing later on a row the first appended (rows go in with COPY, which knows no ON CONFLICT).
 * A checkpoint not stored yet has no row to lock; its insert at the end is the check. With
 * `versions`, then checks the versions the live tables were built by (checkVersions).
 */
async function holdCheckpoints(trx: Transaction<object>, steps: readonly ProjectionStep[], versions: boolean): Promise<void> {
  const held = steps.filter((step) => step.previous !== null);
  if (held.length > 0) {
    const names = held.map((step) => subscriptionName(step.projection.name));
    const { rows } = await sql<{ subscription: string; commit_pos: string; prepare_pos: string }>`
      SELECT subscription, commit_pos::text AS commit_pos, prepare_pos::text AS prepare_pos FROM tessera_checkpoints
       WHERE subscription = ANY (${names}::text[]) ORDER BY subscription FOR UPDATE`.execute(trx);
    const stored = new Map(rows.map((row) => [row.subscription, row]));
    for (const [i, step] of held.entries()) {
      const row = stored.get(names[i]!);
      const { commit, prepare } = step.previous!;
      if (row?.commit_pos !== commit.toString() || row.prepare_pos !== prepare.toString()) throw new CheckpointConflictError(names[i]!);
    }
  }
  if (versions) await checkVersions(trx, steps);
}

/**
 * A projection's live tables were rebuilt by another version of it (recorded in
 * tessera_projections): this code must not write them any more.
 */
export class ProjectionVersionError extends ConsumerRetiredError {
  constructor(
    readonly projection: string,
    readonly version: number,
    readonly stored: number,
  ) {
    super(subscriptionName(projection), `its live tables were built by version ${stored}, this code is version ${version}`);
    this.name = 'ProjectionVersionError';
  }
}

/**
 * Refuses the batch if a projection's live tables are recorded as built by another version than
 * the one applying it: during a rolling deploy, newer code elsewhere may rebuild and swap in the
 * tables, and an older runner that still holds (or takes back) the projection's lock would
 * otherwise go on writing them by its own rules, even with a checkpoint that happens to match.
 * Read after the checkpoints are locked, so a swap either committed before (its version is seen
 * here) or waits for this batch, whose checkpoint it then replaces. No row: nothing recorded.
 */
async function checkVersions(trx: Transaction<object>, steps: readonly ProjectionStep[]): Promise<void> {
  const names = steps.map((step) => step.projection.name);
  const { rows } = await sql<{ name: string; version: number }>`
    SELECT name, version FROM tessera_projections WHERE name = ANY (${names}::text[])`.execute(trx);
  const stored = new Map(rows.map((row) => [row.name, Number(row.version)]));
  for (const { projection } of steps) {
    const version = stored.get(projection.name);
    if (version !== undefined && version !== projection.version) throw new ProjectionVersionError(projection.name, projection.version, version);
  }
}

/**
 * A scratch schema's settings for this transaction, in one round trip; answers the search_path it
 * replaced: the schema first on the search_path, so the handlers write the copies; and
 * `synchronous_commit` off, as a crash loses the scratch copies anyway (a rebuild starts over),
 * so a page's commit need not wait for the write-ahead log to reach the disk. (JIT is off for
 * every session: see connectPostgres.)
 */
async function prepareScratch(trx: Transaction<object>, scratch: ScratchSchema): Promise<string> {
  const { rows } = await sql<{ previous: string }>`
    SELECT s.previous, set_config('synchronous_commit', 'off', true),
           set_config('search_path', ${quoteIdentifier(scratch.schema)} || ', ' || s.previous, true)
      FROM (SELECT current_setting('search_path') AS previous) s`.execute(trx);
  return rows[0]!.previous;
}
