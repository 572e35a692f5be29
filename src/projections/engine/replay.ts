import { setImmediate } from 'node:timers/promises';
import { sql, type Kysely, type Transaction } from 'kysely';
import { comparePositions, type EventStore, type Position, type RecordedEvent } from '../../eventstore/event-store.js';
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

/** Pages read ahead of the slowest projection: what a replay holds in memory, at most. */
const PAGES_AHEAD = 2;

/**
 * Replays `$all` into the scratch copies of several projections at once. Each page of events is
 * read once and applied to every projection that still wants it, each projection in
 * transactions of its own with its checkpoint, on a connection of its own and at its own pace:
 * a projection that is quick with a page goes on to the next while a slow one is still writing,
 * so the database and this process both stay busy. Pages are read ahead of the slowest
 * projection by at most PAGES_AHEAD, so memory is bounded however long the history.
 *
 * With `within`, every page is applied to every projection in that one transaction, in turn.
 */
export async function replayIntoScratch(
  db: Kysely<object>,
  store: EventStore,
  scratch: ScratchSchema,
  targets: readonly ReplayTarget[],
  options: ReplayOptions,
): Promise<void> {
  const start = earliest(targets.map((t) => t.position));
  if (!targets.some((t) => wantsMore(t, start))) return;
  const within = options.within;
  const consumers = within ? 1 : targets.length;
  const pages = new PageWindow(store, start, consumers, {
    pageSize: options.pageSize,
    wanted: (after) => targets.some((t) => wantsMore(t, after)),
    ...(targets.every((t) => t.until !== 'head') ? { until: latest(targets.map((t) => t.until as Position | null)) } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onPage ? { onPassed: options.onPage } : {}),
  });
  const apply = async (consumer: number, mine: readonly ReplayTarget[]) => {
    for (let index = 0; mine.some((t) => wantsMore(t, t.position)); index++) {
      const page = await pages.get(index);
      if (!page) break;
      const steps = mine.flatMap((target) => stepFor(target, page.events));
      if (steps.length > 0) {
        if (within) await applyStepsIn(within, steps, { scratch, restore: true });
        else await applySteps(db, steps, scratch);
        for (const step of steps) mine.find((t) => t.projection === step.projection)!.position = step.next;
        if (isAnalyzePage(index)) await analyzeCopies(within ?? db, scratch, steps);
      }
      pages.done(consumer, index);
      if (!mine.some((t) => wantsMore(t, page.last))) break;
    }
    pages.finished(consumer);
  };
  const outcomes = await Promise.allSettled(
    (within ? [targets] : targets.map((t) => [t])).map((mine, consumer) =>
      apply(consumer, mine).catch((error: unknown) => {
        pages.fail(error); // the others stop after the step in hand, their positions true to what committed
        throw error;
      }),
    ),
  );
  const failed = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failed) throw failed.reason;
}

interface Page {
  readonly events: readonly RecordedEvent[];
  readonly last: Position;
}

interface PageWindowOptions {
  readonly pageSize: number;
  /** Whether any projection wants events after this position. */
  readonly wanted: (after: Position | null) => boolean;
  /** Where every projection stops, when each has a fixed end: pages are cut there. */
  readonly until?: Position | null;
  readonly signal?: AbortSignal;
  /** Called for each page, in order, once every consumer is past it. */
  readonly onPassed?: (events: number, last: Position) => void;
}

/**
 * The pages of `$all` a replay works on, read one after another as its consumers need them,
 * never more than PAGES_AHEAD past the slowest; a page is dropped once every consumer is done
 * with it.
 */
class PageWindow {
  readonly #pages = new Map<number, Page>();
  /** Events and end of every page read, for reporting progress after the page is dropped. */
  readonly #read: { readonly events: number; readonly last: Position }[] = [];
  readonly #reached: number[];
  #passed = 0;
  #ended = false;
  #failure: { readonly error: unknown } | undefined;
  #reading = false;
  #waiters: (() => void)[] = [];
  #after: Position | null;

  constructor(
    private readonly store: EventStore,
    start: Position | null,
    consumers: number,
    private readonly options: PageWindowOptions,
  ) {
    this.#after = start;
    this.#reached = Array.from({ length: consumers }, () => 0);
  }

  /** Page `index`, once read; null when history ends before it. Throws once the replay failed. */
  async get(index: number): Promise<Page | null> {
    for (;;) {
      if (this.#failure) throw this.#failure.error;
      const page = this.#pages.get(index);
      if (page) return page;
      if (index < this.#read.length) throw new Error(`page ${index} was dropped before every projection applied it`);
      if (this.#ended) return null;
      if (index - this.#slowest() < PAGES_AHEAD) this.#readNext();
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** A consumer is done with page `index` and every page before it. */
  done(consumer: number, index: number): void {
    this.#reached[consumer] = index + 1;
    this.#advance();
  }

  /** A consumer wants no more pages. */
  finished(consumer: number): void {
    this.#reached[consumer] = Number.POSITIVE_INFINITY;
    this.#advance();
  }

  fail(error: unknown): void {
    this.#failure ??= { error };
    this.#wake();
  }

  #slowest(): number {
    return Math.min(...this.#reached);
  }

  #advance(): void {
    const passed = Math.min(this.#slowest(), this.#read.length);
    for (; this.#passed < passed; this.#passed++) {
      this.#pages.delete(this.#passed);
      const { events, last } = this.#read[this.#passed]!;
      this.options.onPassed?.(events, last);
    }
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #readNext(): void {
    if (this.#reading || this.#ended) return;
    this.#reading = true;
    void (async () => {
      try {
        // PGlite answers in microtasks without I/O: let timers and signals (Ctrl-C) in between pages.
        await setImmediate();
        this.options.signal?.throwIfAborted();
        const { pageSize, until } = this.options;
        const read = await this.store.readAll({ after: this.#after ?? 'start', maxCount: pageSize });
        const events = until === undefined ? read : read.filter((e) => until !== null && comparePositions(e.position, until) <= 0);
        const last = events.at(-1)?.position;
        if (last) {
          this.#pages.set(this.#read.length, { events, last });
          this.#read.push({ events: events.length, last });
          this.#after = last;
        }
        if (read.length < pageSize || events.length < read.length || !this.options.wanted(this.#after)) this.#ended = true;
      } catch (error) {
        this.#failure ??= { error };
      } finally {
        this.#reading = false;
        this.#wake();
      }
    })();
  }
}

/**
 * Pages after which the copies get fresh planner statistics: 1, 4, 16, ... A copy starts empty
 * and never analyzed, and without statistics PostgreSQL guesses that `col = ANY (<ids>)` on a
 * column that is not unique matches a large share of the table, so a handler's lookup by such an
 * index turns into a scan of the whole copy, again for every page. Only the columns that lead
 * the copy's indexes are analyzed: they are all a lookup can use, and wide columns cost the most.
 */
const ANALYZE_GROWTH = 4;

/** Whether the copies are analyzed after the page at `index` (0, 3, 15, 63, ...). */
function isAnalyzePage(index: number): boolean {
  let after = 1;
  while (after < index + 1) after *= ANALYZE_GROWTH;
  return after === index + 1;
}

async function analyzeCopies(db: Kysely<object> | Transaction<object>, scratch: ScratchSchema, steps: readonly ProjectionStep[]): Promise<void> {
  const tables = new Set(steps.flatMap((step) => step.projection.tables));
  for (const table of scratch.tables) {
    if (!tables.has(table.name) || table.lookupColumns.length === 0) continue;
    await sql.raw(`ANALYZE ${table.copy} (${table.lookupColumns.join(', ')})`).execute(db);
  }
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

/** The latest of some positions (null when every one is null). */
function latest(positions: readonly (Position | null)[]): Position | null {
  let max: Position | null = null;
  for (const p of positions) if (p !== null && (max === null || comparePositions(p, max) > 0)) max = p;
  return max;
}

function earliest(positions: readonly (Position | null)[]): Position | null {
  let min: Position | null | undefined;
  for (const p of positions) {
    if (p === null) return null;
    if (min === undefined || (min !== null && comparePositions(p, min) < 0)) min = p;
  }
  return min ?? null;
}
