import { setImmediate } from 'node:timers/promises';
import type { Kysely, Transaction } from 'kysely';
import { comparePositions, type EventStore, type Position, type RecordedEvent } from '../eventstore/event-store.js';
import { applySteps, applyStepsIn, type ProjectionStep } from './apply-batch.js';
import type { Projection } from './projection.js';
import type { ScratchSchema } from './scratch-schema.js';

/** A projection whose scratch copy is being replayed, and how far it should go. */
export interface ReplayTarget {
  readonly projection: Projection;
  /** Where the copy has got to (null: nothing applied yet). Advanced by the replay. */
  position: Position | null;
  /** Stop at this position (null: apply nothing), or go as far as the store has events. */
  until: Position | null | 'head';
}

export interface ReplayOptions {
  readonly pageSize: number;
  readonly signal?: AbortSignal;
  /** Called after each page with how many events it held and where it ended. */
  readonly onPage?: (events: number, position: Position) => void;
  /** Apply every page inside this transaction rather than one transaction per page. */
  readonly within?: Transaction<object>;
}

/**
 * Replays `$all` into the scratch copies of several projections at once: each page of events is
 * read once and applied to every projection that still wants it, each projection in a
 * transaction of its own with its checkpoint, side by side on separate connections (so the
 * database works on several projections at once). The next page is read while this one is
 * applied, and at most two pages are in memory, however long the history.
 */
export async function replayIntoScratch(
  db: Kysely<object>,
  store: EventStore,
  scratch: ScratchSchema,
  targets: readonly ReplayTarget[],
  options: ReplayOptions,
): Promise<void> {
  const wanting = (after: Position | null) => targets.some((t) => wantsMore(t, after));
  const start = earliest(targets.map((t) => t.position));
  if (!wanting(start)) return;
  const read = (after: Position | null) => {
    const page = store.readAll({ after: after ?? 'start', maxCount: options.pageSize });
    page.catch(() => undefined); // awaited below; a failure must not surface as unhandled meanwhile
    return page;
  };
  let pending = read(start);
  for (;;) {
    // PGlite answers in microtasks without I/O: let timers and signals (Ctrl-C) in between pages.
    await setImmediate();
    options.signal?.throwIfAborted();
    const page = await pending;
    if (page.length === 0) return;
    const last = page[page.length - 1]!.position;
    const more = page.length === options.pageSize && wanting(last);
    if (more) pending = read(last);
    const steps = targets.flatMap((target) => stepFor(target, page));
    await applyAll(db, steps, scratch, targets, options.within);
    options.onPage?.(page.length, last);
    if (!more) return;
  }
}

/** Applies the page's steps and advances the targets whose step committed. */
async function applyAll(
  db: Kysely<object>,
  steps: readonly ProjectionStep[],
  scratch: ScratchSchema,
  targets: readonly ReplayTarget[],
  within: Transaction<object> | undefined,
): Promise<void> {
  const advance = (step: ProjectionStep) => void (targets.find((t) => t.projection === step.projection)!.position = step.next);
  if (within) {
    await applyStepsIn(within, steps, scratch);
    steps.forEach(advance);
    return;
  }
  const outcomes = await Promise.allSettled(steps.map((step) => applySteps(db, [step], scratch)));
  outcomes.forEach((outcome, i) => outcome.status === 'fulfilled' && advance(steps[i]!));
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Whether `target` still wants events that come after `after`. */
function wantsMore({ position, until }: ReplayTarget, after: Position | null): boolean {
  if (until === 'head') return true;
  if (until === null) return false;
  const reached = (p: Position | null) => p !== null && comparePositions(p, until) >= 0;
  return !reached(position) && !reached(after);
}

/** The part of `page` that `target` has not applied and that lies before its `until`. */
function stepFor(target: ReplayTarget, page: readonly RecordedEvent[]): ProjectionStep[] {
  const { position, until } = target;
  if (until === null) return [];
  let events = page;
  if (position && comparePositions(events[0]!.position, position) <= 0) {
    events = events.filter((e) => comparePositions(e.position, position) > 0);
  }
  if (until !== 'head' && events.length > 0 && comparePositions(events[events.length - 1]!.position, until) > 0) {
    events = events.filter((e) => comparePositions(e.position, until) <= 0);
  }
  if (events.length === 0) return [];
  return [{ projection: target.projection, events, previous: position, next: events[events.length - 1]!.position }];
}

function earliest(positions: readonly (Position | null)[]): Position | null {
  let min: Position | null | undefined;
  for (const p of positions) {
    if (p === null) return null;
    if (min === undefined || (min !== null && comparePositions(p, min) < 0)) min = p;
  }
  return min ?? null;
}
