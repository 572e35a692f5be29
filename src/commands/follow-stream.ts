import type { Decider, DomainEvent } from '../aggregates/decider.js';
import type { EventStore, Position, RecordedEvent } from '../eventstore/event-store.js';

/** A state already folded from a stream up to `revision` (null: nothing folded yet). */
export interface FollowFrom<State> {
  readonly state: State;
  readonly revision: number | null;
  /** Where the event at `revision` stands in `$all`, when known (a command's own append). */
  readonly position?: Position | null;
}

export interface FollowOptions<State> {
  /** Where to start; the stream's first event by default. */
  readonly from?: FollowFrom<State>;
  /** Stops following once the folded state answers true. */
  readonly until: (state: State) => boolean;
  readonly timeoutMs: number;
}

export interface Followed<State> extends FollowFrom<State> {
  /** Position of the last event read, for read-your-writes; null when nothing new was read. */
  readonly position: Position | null;
}

/** How soon a follower reads again when no append in this process woke it: appends by other instances. */
const LOOK_AGAIN_MS = 100;

/**
 * How long a follower the shared tail serves waits before it reads the stream itself anyway (the
 * tail is stalled or stopping). The tail reads every append of every instance, so this is rare.
 */
const TAIL_FALLBACK_MS = 1_000;

/**
 * Follows one stream, folding it with its decider, until `until` holds or `timeoutMs` passes: a
 * request waiting for what a process manager does next (the gateway's answer).
 *
 * Where the process runs a shared tail (store.nextInStream), the tail hands the follower the
 * stream's new events as it reads `$all`: no read of the stream at all while it keeps up. Otherwise
 * each read takes only what was appended since the last; an append to this stream in this process
 * wakes it at once (and only such an append: other streams' appends do not make it read).
 */
export async function followStream<State, Event extends DomainEvent>(
  store: EventStore,
  streamId: string,
  decider: Pick<Decider<State, never, Event>, 'initialState' | 'evolve' | 'isEvent'>,
  options: FollowOptions<State>,
): Promise<Followed<State>> {
  const deadline = Date.now() + options.timeoutMs;
  let { state, revision } = options.from ?? { state: decider.initialState(), revision: null };
  let position: Position | null = null;
  let since = options.from?.position ?? null;
  const fold = (events: readonly RecordedEvent[]) => {
    for (const event of events) {
      if (revision !== null && event.revision <= revision) continue;
      if (decider.isEvent(event)) state = decider.evolve(state, event);
      revision = event.revision;
      position = event.position;
      since = event.position;
    }
  };
  let mustRead = !(store.nextInStream && since !== null && revision !== null);
  for (;;) {
    if (mustRead) fold(await store.readStream(streamId, { fromRevision: revision === null ? 0 : revision + 1 }));
    const left = deadline - Date.now();
    if (options.until(state) || left <= 0) return { state, revision, position };
    if (store.nextInStream && since !== null && revision !== null) {
      const told = await store.nextInStream(streamId, { revision, position: since }, Math.min(left, TAIL_FALLBACK_MS));
      if (told && told.length > 0) {
        fold(told);
        mustRead = false;
        continue;
      }
      // Not told (no tail, or nothing for a while): read the stream, then listen again.
      mustRead = true;
      if (told === undefined) await store.waitForStream(streamId, Math.min(left, LOOK_AGAIN_MS));
      continue;
    }
    mustRead = true;
    await store.waitForStream(streamId, Math.min(left, LOOK_AGAIN_MS));
  }
}
