import type { Kysely, Transaction } from 'kysely';
import { sqlExecutorOf } from '../db/kysely.js';
import type { Position, RecordedEvent } from '../eventstore/event-store.js';
import { sqlCheckpointStore } from '../eventstore/sql-event-store.js';
import { subscriptionName, type Projection } from './projection.js';
import { redirectToScratch, type ScratchSchema } from './scratch-schema.js';

/** One projection's share of a batch: its events and the checkpoint move they amount to. */
export interface ProjectionStep {
  readonly projection: Projection;
  readonly events: readonly RecordedEvent[];
  readonly previous: Position | null;
  readonly next: Position;
}

/**
 * Applies the steps in `trx` and moves each projection's checkpoint with compare-and-set in the
 * same transaction, so rows and checkpoint commit together or not at all (effectively exactly
 * once), and a consumer that lost its lock fails on the checkpoint instead of writing twice.
 * With `scratch`, the same handlers write the scratch copies and their checkpoints instead.
 */
export async function applyStepsIn(trx: Transaction<object>, steps: readonly ProjectionStep[], scratch?: ScratchSchema): Promise<void> {
  const restore = scratch ? await redirectToScratch(trx, scratch) : undefined;
  const checkpoints = sqlCheckpointStore(sqlExecutorOf(trx));
  for (const { projection, events, previous, next } of steps) {
    if (events.length > 0) await projection.handle(events, trx);
    await checkpoints.store(subscriptionName(projection.name), next, previous);
  }
  await restore?.();
}

/** applyStepsIn, in a transaction of its own. */
export function applySteps(db: Kysely<object>, steps: readonly ProjectionStep[], scratch?: ScratchSchema): Promise<void> {
  return db.transaction().execute((trx) => applyStepsIn(trx, steps, scratch));
}
