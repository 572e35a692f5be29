import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { CommandContext } from '../../commands/handle-command.js';
import type { SqlClient, SqlExecutor } from '../../db/sql-client.js';
import { derivedId } from '../../domain/ids.js';
import { PermanentFailure } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { sleep } from '../../eventstore/sleep.js';
import type { Parking } from './parking.js';
import { backoffMs, describeError, isRetryable, type RetryPolicy } from './retry.js';

/**
 * Durable deadlines: "do this at that time", surviving restarts, firing once. Issues 6 and 7
 * reuse them (escrow release, group-payment expiry, balance availability).
 *
 * - Scheduling is idempotent by id: scheduling an id again keeps the first row.
 * - A poller claims due rows with a short lease (`claimed_until`), chosen `FOR UPDATE SKIP LOCKED`,
 *   so concurrent pollers on PostgreSQL take different rows. It renews the lease of the rows it
 *   has not finished while it works through them (a slow handler keeps its rows), so a poller
 *   that dies lets its rows be claimed again within a lease (3 s). The handler runs outside the claim's
 *   transaction (PGlite has a single connection; a handler appending events must not wait on it).
 * - Handlers send idempotent commands (ids derived from the deadline id), so a deadline that
 *   runs twice after a crash between its handler and being marked fired has one effect.
 * - A handler that keeps failing is retried with backoff, then parked.
 */
export interface Deadline<Payload = Record<string, unknown>> {
  readonly id: string;
  readonly kind: string;
  readonly dueAt: Date;
  readonly payload: Payload;
}

export type DeadlineHandler = (deadline: Deadline & { readonly attempts: number }) => Promise<void>;

/** What every deadline a process manager schedules carries: the tenant and correlation of the event that scheduled it. */
export const deadlineCause = { tenantId: z.string(), correlationId: z.string() };

/**
 * A deadline handler whose payload is checked by `schema` first, so the handler reads it typed
 * without a cast. A payload the schema refuses will not pass later: it is parked at once.
 */
export function deadlineHandler<Schema extends z.ZodType<Readonly<Record<string, unknown>>>>(
  schema: Schema,
  handle: (deadline: Deadline<z.output<Schema>> & { readonly attempts: number }) => Promise<void>,
): DeadlineHandler {
  return async (deadline) => {
    const parsed = schema.safeParse(deadline.payload);
    if (!parsed.success) throw new PermanentFailure(`deadline ${deadline.id} has a malformed ${deadline.kind} payload: ${z.prettifyError(parsed.error)}`);
    await handle({ ...deadline, payload: parsed.data });
  };
}

/**
 * The context of a command a deadline sends: its id derives from the deadline's id and the step,
 * so a deadline run again after a crash sends the same command (as contextFromEvent for events).
 */
export function contextFromDeadline(
  deadline: Deadline<{ readonly tenantId: string; readonly correlationId: string }>,
  step: string,
  actor: string,
  now: Date,
): CommandContext {
  return {
    commandId: derivedId(deadline.id, step),
    now,
    actor,
    tenantId: deadline.payload.tenantId,
    correlationId: deadline.payload.correlationId,
    causationId: derivedId(deadline.id, 'deadline'),
  };
}

export interface DeadlineRecord extends Deadline {
  readonly attempts: number;
  readonly firedAt: Date | null;
  readonly parkedAt: Date | null;
  readonly lastError: string | null;
}

export interface DeadlinesOptions {
  readonly handlers: Readonly<Record<string, DeadlineHandler>>;
  readonly clock?: () => Date;
  readonly pollMs?: number;
  readonly batchSize?: number;
  /**
   * How long a claim lasts unless renewed. The poller renews its claims while it works through
   * them, so this is not a handler's time budget but how soon the rows of a poller that died are
   * taken over by another.
   */
  readonly leaseMs?: number;
  readonly retry: RetryPolicy;
  readonly parking: Parking;
  readonly logger?: Logger;
}

export interface Deadlines {
  /** Schedules a deadline; `executor` may be a transaction so it commits with other writes. */
  schedule(deadline: Deadline, executor?: SqlExecutor): Promise<void>;
  cancel(id: string): Promise<boolean>;
  find(id: string): Promise<DeadlineRecord | undefined>;
  /** Claims and runs what is due now; answers how many ran. The poller calls it in a loop. */
  pollOnce(): Promise<number>;
  /** Un-parks a deadline and runs it now. */
  retryParked(id: string): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

interface DeadlineRow {
  id: string;
  kind: string;
  due_at: Date;
  payload: Record<string, unknown>;
  attempts: number;
  fired_at: Date | null;
  parked_at: Date | null;
  last_error: string | null;
}

const toRecord = (row: DeadlineRow): DeadlineRecord => ({
  id: row.id,
  kind: row.kind,
  dueAt: new Date(row.due_at),
  payload: row.payload,
  attempts: row.attempts,
  firedAt: row.fired_at && new Date(row.fired_at),
  parkedAt: row.parked_at && new Date(row.parked_at),
  lastError: row.last_error,
});

export function createDeadlines(sql: SqlClient, options: DeadlinesOptions): Deadlines {
  const clock = options.clock ?? (() => new Date());
  const pollMs = options.pollMs ?? 1000;
  const batchSize = options.batchSize ?? 50;
  const leaseMs = options.leaseMs ?? 3_000;
  const log = options.logger?.child({ component: 'deadlines' });
  const stopping = new AbortController();
  let loop: Promise<void> | undefined;

  async function claim(now: Date, token: string): Promise<DeadlineRow[]> {
    const { rows } = await sql.query<DeadlineRow>(
      `UPDATE tessera_deadlines SET claimed_until = $2, claim_token = $4, attempts = attempts + 1
        WHERE id IN (
          SELECT id FROM tessera_deadlines
           WHERE fired_at IS NULL AND parked_at IS NULL AND due_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1)
           ORDER BY due_at LIMIT $3 FOR UPDATE SKIP LOCKED)
        RETURNING id, kind, due_at, payload, attempts, fired_at, parked_at, last_error`,
      [now, new Date(now.getTime() + leaseMs), batchSize, token],
    );
    return rows;
  }

  /** Records what became of a claimed deadline, if the claim is still this poll's. */
  async function settle(id: string, token: string, set: string, values: readonly unknown[]): Promise<boolean> {
    const { rowCount } = await sql.query(
      `UPDATE tessera_deadlines SET ${set}, claimed_until = NULL, claim_token = NULL WHERE id = $1 AND claim_token = $2`,
      [id, token, ...values],
    );
    if (rowCount === 0) log?.warn({ deadline: id }, 'the claim on a deadline was lost while it ran; its new holder decides');
    return rowCount > 0;
  }

  async function run(row: DeadlineRow, token: string): Promise<void> {
    const deadline = toRecord(row);
    try {
      const handler = options.handlers[deadline.kind];
      if (!handler) throw new Error(`no handler for deadline kind ${deadline.kind}`);
      await handler(deadline);
      await settle(deadline.id, token, 'fired_at = $3, last_error = NULL', [clock()]);
    } catch (error) {
      await failed(deadline, token, error);
    }
  }

  async function failed(deadline: DeadlineRecord, token: string, error: unknown): Promise<void> {
    const now = clock();
    const message = describeError(error);
    if (!isRetryable(error) || deadline.attempts >= options.retry.maxAttempts) {
      log?.error({ err: error, deadline: deadline.id, attempts: deadline.attempts }, 'deadline parked');
      if (!(await settle(deadline.id, token, 'parked_at = $3, last_error = $4', [now, message]))) return;
      await options.parking.park({
        id: `deadline:${deadline.id}`,
        source: 'deadline',
        item: { deadlineId: deadline.id, kind: deadline.kind },
        error: message,
        attempts: deadline.attempts,
        at: now,
      });
      return;
    }
    log?.warn({ err: error, deadline: deadline.id, attempts: deadline.attempts }, 'deadline failed; will retry');
    await settle(deadline.id, token, 'due_at = $3, last_error = $4', [new Date(now.getTime() + backoffMs(options.retry, deadline.attempts)), message]);
  }

  async function find(id: string): Promise<DeadlineRecord | undefined> {
    const { rows } = await sql.query<DeadlineRow>(
      'SELECT id, kind, due_at, payload, attempts, fired_at, parked_at, last_error FROM tessera_deadlines WHERE id = $1',
      [id],
    );
    return rows[0] && toRecord(rows[0]);
  }

  async function pollOnce(): Promise<number> {
    const token = randomUUID();
    const rows = await claim(clock(), token);
    if (rows.length === 0) return 0;
    const unfinished = new Set(rows.map((row) => row.id));
    const renewing = renewWhile(unfinished, token);
    try {
      for (const row of rows) {
        await run(row, token);
        unfinished.delete(row.id);
      }
    } finally {
      await renewing.stop();
    }
    return rows.length;
  }

  /** Extends the claim on `ids` every third of a lease until stopped (rows leave as they finish). */
  function renewWhile(ids: ReadonlySet<string>, token: string): { stop(): Promise<void> } {
    let renewal: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      if (ids.size === 0) return;
      const until = new Date(clock().getTime() + leaseMs);
      renewal = sql
        .query('UPDATE tessera_deadlines SET claimed_until = $2 WHERE id = ANY ($1::text[]) AND claim_token = $3 AND fired_at IS NULL', [[...ids], until, token])
        .catch((error: unknown) => log?.warn({ err: error }, 'could not renew the claim on deadlines'));
    }, Math.max(10, Math.floor(leaseMs / 3)));
    return {
      async stop() {
        clearInterval(timer);
        await renewal;
      },
    };
  }

  return {
    async schedule(deadline, executor = sql) {
      await executor.query(
        `INSERT INTO tessera_deadlines (id, kind, due_at, payload) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
        [deadline.id, deadline.kind, deadline.dueAt, JSON.stringify(deadline.payload)],
      );
    },
    async cancel(id) {
      const { rowCount } = await sql.query('DELETE FROM tessera_deadlines WHERE id = $1 AND fired_at IS NULL', [id]);
      return rowCount > 0;
    },
    find,
    pollOnce,
    async retryParked(id) {
      await sql.query(
        'UPDATE tessera_deadlines SET parked_at = NULL, attempts = 0, due_at = LEAST(due_at, $2), claimed_until = NULL, claim_token = NULL WHERE id = $1',
        [id, clock()],
      );
      await pollOnce();
      const after = await find(id);
      if (after?.parkedAt) throw new Error(after.lastError ?? 'deadline failed again');
    },
    start() {
      if (loop) return;
      loop = (async () => {
        while (!stopping.signal.aborted) {
          let ran = 0;
          try {
            ran = await pollOnce();
          } catch (error) {
            log?.error({ err: error }, 'deadline poll failed');
          }
          // A full batch means more may be due: poll again at once.
          if (ran < batchSize) await sleep(pollMs, stopping.signal);
        }
      })();
    },
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}
