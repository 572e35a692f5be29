import type { EventStore, Position } from '../../eventstore/event-store.js';

/** How far a checkpoint trails the head of `$all`. */
export interface Lag {
  /** Events not yet handled; approximate (see `eventsBehind`). */
  readonly events: number;
  /** Age of the oldest event not yet handled; 0 when caught up. */
  readonly seconds: number;
}

/** Beyond this many events, EventStoreDB's lag is reported as this many (a floor, not a count). */
export const COUNTED_LAG_CAP = 10_000;

/**
 * Events between `checkpoint` and `head`, estimated without scanning them where possible. In the
 * SQL stores a position's `prepare` part is the events table's identity column, so the difference
 * counts the events appended since, give or take identity values burnt by rolled-back appends.
 * EventStoreDB's positions are byte offsets in its log, so there the events are counted by
 * reading them, up to COUNTED_LAG_CAP.
 */
export async function eventsBehind(store: EventStore, checkpoint: Position | null, head: Position | null): Promise<number> {
  if (head === null) return 0;
  if (store.kind !== 'eventstoredb') {
    const behind = head.prepare - (checkpoint?.prepare ?? 0n);
    return behind > 0n ? Number(behind) : 0;
  }
  const events = await store.readAll({ after: checkpoint ?? 'start', maxCount: COUNTED_LAG_CAP });
  return events.length;
}

/**
 * How far `checkpoint` trails every event committed after it, including events `$all` does not
 * return yet because an older transaction is still open (the store's backlog): a projection held
 * up there is behind, and its lag grows, rather than reading 0 while it waits.
 */
export async function lagOf(store: EventStore, checkpoint: Position | null, now: Date): Promise<Lag> {
  const { head, oldest } = await store.backlog(checkpoint);
  if (oldest === null) return { events: 0, seconds: 0 };
  const events = await eventsBehind(store, checkpoint, head);
  return { events: Math.max(events, 1), seconds: Math.max(0, (now.getTime() - oldest.getTime()) / 1000) };
}
