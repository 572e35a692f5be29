import type { Decider, DomainEvent } from '../aggregates/decider.js';
import type { EventStore, Position } from '../eventstore/event-store.js';

/** A state already folded from a stream up to `revision` (null: nothing folded yet). */
export interface FollowFrom<State> {
  readonly state: State;
  readonly revision: number | null;
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
 * Follows one stream, folding it with its decider, until `until` holds or `timeoutMs` passes: a
 * request waiting for what a process manager does next (the gateway's answer). Each read takes
 * only what was appended since the last; an append to this stream in this process wakes it at
 * once (and only such an append: other streams' appends do not make it read).
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
  for (;;) {
    for (const event of await store.readStream(streamId, { fromRevision: revision === null ? 0 : revision + 1 })) {
      if (decider.isEvent(event)) state = decider.evolve(state, event);
      revision = event.revision;
      position = event.position;
    }
    const left = deadline - Date.now();
    if (options.until(state) || left <= 0) return { state, revision, position };
    await store.waitForStream(streamId, Math.min(left, LOOK_AGAIN_MS));
  }
}
