import { isTesseraError, PermanentFailure } from '../../errors.js';
import { sleep } from '../../eventstore/sleep.js';

/**
 * How process managers, deadlines and webhooks retry. Only failures that may pass are retried
 * (a gateway timeout, a lost connection, a concurrency conflict); a domain refusal such as
 * INVALID_STATE_TRANSITION will refuse again, so it is parked at once for an operator.
 */
export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly initialMs: number;
  readonly maxMs: number;
}

export function isRetryable(error: unknown): boolean {
  if (error instanceof PermanentFailure) return false;
  if (isTesseraError(error)) return error.code === 'CONCURRENCY_CONFLICT' || error.details.retryable === true;
  return true;
}

export const backoffMs = (policy: RetryPolicy, attempt: number): number =>
  Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt - 1, 20));

export const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

/**
 * Runs `work` until it succeeds, fails for good, or runs out of attempts; resolves with the
 * outcome rather than throwing, so the caller can park it. Stops early (as `aborted`) when
 * `signal` fires, leaving the item for the next run instead of parking it.
 */
export async function withRetries(
  work: () => Promise<void>,
  policy: RetryPolicy,
  signal?: AbortSignal,
): Promise<{ ok: true } | { ok: false; error: unknown; attempts: number; aborted: boolean }> {
  for (let attempt = 1; ; attempt++) {
    try {
      await work();
      return { ok: true };
    } catch (error) {
      if (!isRetryable(error) || attempt >= policy.maxAttempts || signal?.aborted) {
        return { ok: false, error, attempts: attempt, aborted: signal?.aborted ?? false };
      }
      await sleep(backoffMs(policy, attempt), signal);
    }
  }
}
