import { setTimeout as delay } from 'node:timers/promises';

/**
 * Waits `ms`, or less if `signal` aborts first; never rejects. The one wait of every tailing
 * reader and poller (subscriptions, the read side, deadlines, the mint worker, retry backoff):
 * here, in the lowest layer they all build on, so a stop cuts each of them short the same way.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined);
}
