import { comparePositions, type Position } from './event-store.js';

/**
 * Wakes tailing readers in this process as soon as an append commits, so subscriptions react at
 * once instead of on their next poll. Appends made by other processes are seen at the poll.
 *
 * A reader that follows one stream (a request waiting for its payment's outcome) waits for that
 * stream alone: with many such readers, waking every one on every append would have each re-read
 * its stream for nothing, a cost that grows with the square of the requests in flight.
 */
export class AppendNotifier {
  #waiters = new Set<() => void>();
  #streamWaiters = new Map<string, Set<() => void>>();
  #latest: Position | null = null;

  /** The newest position an append in this process committed (null before the first). */
  get latest(): Position | null {
    return this.#latest;
  }

  /** An append committed to `streamId` at `position`: wakes the readers of every append and of that stream. */
  notify(streamId: string, position?: Position): void {
    if (position && (this.#latest === null || comparePositions(position, this.#latest) > 0)) this.#latest = position;
    const waiters = [...this.#waiters, ...(this.#streamWaiters.get(streamId) ?? [])];
    this.#waiters.clear();
    this.#streamWaiters.delete(streamId);
    for (const wake of waiters) wake();
  }

  /** Resolves at the next append (to `streamId`, when given), on `signal`, or after `timeoutMs`. */
  wait(timeoutMs: number, signal?: AbortSignal, streamId?: string): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.#setOf(streamId, false)?.delete(done);
        if (streamId !== undefined && this.#streamWaiters.get(streamId)?.size === 0) this.#streamWaiters.delete(streamId);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener('abort', done, { once: true });
      this.#setOf(streamId, true)!.add(done);
    });
  }

  /** Wakes everyone (the store is closing). */
  close(): void {
    const waiters = [...this.#waiters, ...[...this.#streamWaiters.values()].flatMap((set) => [...set])];
    this.#waiters.clear();
    this.#streamWaiters.clear();
    for (const wake of waiters) wake();
  }

  #setOf(streamId: string | undefined, create: boolean): Set<() => void> | undefined {
    if (streamId === undefined) return this.#waiters;
    let set = this.#streamWaiters.get(streamId);
    if (!set && create) this.#streamWaiters.set(streamId, (set = new Set()));
    return set;
  }
}
