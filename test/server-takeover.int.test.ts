import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresSqlClient } from '../src/db/sql-client.js';
import { testEnv } from './support/app.js';
import { runCli, type CliRun } from './support/cli.js';
import { env, freshPostgresSchema, type PostgresSchema } from './support/databases.js';
import { authAs, DEFAULT_PRICE, EVENT_ID, TICKET_TYPE_ID } from './support/payments-http.js';
import { NASHVILLE } from './support/payments.js';
import { eventually, sleep } from './support/poll.js';
import { testRedis, type TestRedis } from './support/redis.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

/** The bound: the survivor runs every subscription, and fires every deadline, within this of the kill. */
const TAKEOVER_BOUND_MS = 5_000;
const LOAD_MS = 8_000;
const WORKERS_PER_INSTANCE = 8;
/** 3-D Secure purchases sent at once, half to each instance; their expiry deadlines come due together. */
const THREE_DS_BURST = 30;
/**
 * A polls its deadlines often and B seldom, so A claims nearly every expiry as it comes due; the
 * kill comes the moment the test sees a deadline claimed and not yet fired (A's, almost surely).
 */
const POLL_MS = { a: '20', b: '500' } as const;
/** How long after the last of the burst's deadlines came due the test looks for one in hand. */
const IN_HAND_LIMIT_MS = 3_000;
const TTL_MS = 3_000;
/** How long the test waits for the takeover, and for everything to settle, before it says what is missing. */
const SETTLE_LIMIT_MS = 12_000;

const SETTINGS = {
  // Short, so the burst's deadlines come due (and are claimed) while both instances run; long
  // enough that a card purchase waiting out the takeover is captured before it could expire.
  PENDING_PAYMENT_TTL_MS: String(TTL_MS),
  PAYMENT_WAIT_MS: '3000',
  DATABASE_POOL_SIZE: '10',
};

interface Purchase {
  readonly card: string;
  readonly instance: string;
  status?: number;
  paymentId?: string;
  /** The transaction status the answer gave (pending, processing, completed...). */
  answer?: string;
  nextAction?: boolean;
  error?: string;
}

const acknowledged = (p: Purchase) => p.status === 200 || p.status === 202;

interface PaymentOutcome {
  readonly payment_id: string;
  readonly captured: number;
  readonly expired: number;
  readonly failed: number;
  readonly expired_at: string | null;
  readonly expires_at: string;
}

interface DeadlineRow {
  readonly id: string;
  readonly due_at: Date;
  readonly fired_at: Date | null;
  readonly claimed_until: Date | null;
  readonly attempts: number;
}

interface ProjectionRow {
  readonly name: string;
  readonly state: string;
  readonly lagEvents: number;
}

/** What happened, gathered once; each test below asserts one part of it. */
interface Run {
  readonly killAt: number;
  readonly takeover: { readonly observedMs: number; readonly loggedMs: number };
  readonly survivorLog: string;
  readonly purchases: readonly Purchase[];
  readonly threeDs: readonly Purchase[];
  /** Deadlines claimed by a poller and not yet fired at the moment of the kill. */
  readonly inHandAtKill: readonly string[];
  readonly unsettled: readonly string[];
  readonly outcomes: ReadonlyMap<string, PaymentOutcome>;
  readonly intentsCapturedTwice: readonly string[];
  readonly deadlines: readonly DeadlineRow[];
  readonly verify: CliRun;
}

describe.runIf(env.databaseUrl && env.redisUrl)('two API instances on one PostgreSQL and Redis, one killed with SIGKILL under purchase load', () => {
  let schema: PostgresSchema;
  let redis: TestRedis;
  let sql: PostgresSqlClient;
  const instances: ServerProcess[] = [];
  let run: Run;

  const stores = () => ({ DATABASE_URL: env.databaseUrl!, PGOPTIONS: `-c search_path=${schema.schema}` });
  const start = async (name: 'a' | 'b') => {
    const instance = await startServerProcess(
      name,
      testEnv({ ...stores(), ...SETTINGS, DEADLINE_POLL_MS: POLL_MS[name], REDIS_URL: env.redisUrl!, REDIS_KEY_PREFIX: redis.prefix, LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0' }),
    );
    instances.push(instance);
    return instance;
  };

  beforeAll(async () => {
    schema = await freshPostgresSchema(env.databaseUrl!);
    redis = await testRedis(env.redisUrl!);
    sql = schema.connect({ poolSize: 2 });

    // A starts alone and takes every subscription; B, started once A runs them all, stands by.
    const a = await start('a');
    await eventually(async () => ((await projectionsOf(a)).every((p) => p.state === 'active') ? true : undefined), { timeoutMs: 15_000 });
    const b = await start('b');
    await sleep(1_500); // longer than B's standby retry: it would have taken any lock A did not hold
    const expected = [...a.activeSubscriptions().keys()].sort();
    expect(expected).toEqual(expect.arrayContaining(['pm:purchase', ...(await projectionsOf(a)).map((p) => `projection:${p.name}`)]));
    expect([...b.activeSubscriptions().keys()], 'B runs nothing while A holds the subscriptions').toEqual([]);

    const venueId = await registerVenue(a);
    const purchases: Purchase[] = [];
    let killed = false;
    const loadStart = Date.now();
    const workers = [a, b].flatMap((home) =>
      Array.from({ length: WORKERS_PER_INSTANCE }, () => keepBuying(() => (killed ? b : home), venueId, purchases, () => Date.now() - loadStart > LOAD_MS)),
    );

    const threeDs = Array.from({ length: THREE_DS_BURST }, (_, i): Purchase => ({ card: 'pm_card_authenticationRequired', instance: i % 2 ? 'b' : 'a' }));
    await Promise.all(threeDs.map((p) => buy(p.instance === 'a' ? a : b, venueId, p)));
    const lastDue = await lastDueOf(sql, threeDs);
    const inHandAtKill = await firstInHand(sql, lastDue + IN_HAND_LIMIT_MS);

    expect([...b.activeSubscriptions().keys()], 'B still stands by just before the kill').toEqual([]);
    const killAt = Date.now();
    a.kill('SIGKILL');
    killed = true;
    const takeover = await measureTakeover(b, expected, killAt);
    await Promise.all(workers);

    const settled = await settle(b, sql, [...purchases, ...threeDs].filter(acknowledged));
    const outcomes = new Map((await paymentOutcomes(sql)).map((o) => [o.payment_id, o]));
    const verify = await runCli(['verify'], testEnv({ ...stores(), LOG_LEVEL: 'warn' }));
    run = {
      killAt,
      takeover,
      survivorLog: b.tail(),
      purchases,
      threeDs,
      inHandAtKill,
      unsettled: settled.pending,
      outcomes,
      intentsCapturedTwice: await intentsCapturedTwice(sql),
      deadlines: await deadlinesDueBy(sql, settled.at),
      verify,
    };
    console.log(`takeover figures ${JSON.stringify(figures(run))}`);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(instances.map((instance) => instance.stop()));
    await schema?.drop();
    await redis?.cleanup();
  });

  it('runs every subscription of the killed instance on the survivor within 5 s', () => {
    expect(run.takeover.observedMs, `the survivor's log:\n${run.survivorLog}`).toBeLessThan(TAKEOVER_BOUND_MS);
  });

  it('fires within 5 s every deadline the killed instance had claimed, and every one due after the kill', () => {
    expect(run.inHandAtKill.length, 'deadlines claimed and not yet fired at the kill').toBeGreaterThan(0);
    const { unfired, lateness } = deadlineLateness(run.deadlines, run.killAt);
    expect(unfired, 'deadlines due but never fired').toEqual([]);
    expect(Math.max(0, ...lateness.map((d) => d.lateMs)), JSON.stringify(lateness.slice(-3))).toBeLessThan(TAKEOVER_BOUND_MS);
  });

  it('expires each 3-D Secure purchase left pending within 5 s of its deadline, without capturing it', () => {
    for (const p of run.threeDs) {
      expect(p, 'answered 202 pending with a next action').toMatchObject({ status: 202, answer: 'pending', nextAction: true });
      const outcome = run.outcomes.get(p.paymentId!);
      expect(outcome, `payment ${p.paymentId}`).toMatchObject({ captured: 0, expired: 1 });
      const dueOrKill = Math.max(Date.parse(outcome!.expires_at), run.killAt);
      expect(Date.parse(outcome!.expired_at!) - dueOrKill, `payment ${p.paymentId} expired late`).toBeLessThan(TAKEOVER_BOUND_MS);
    }
  });

  it('captures each acknowledged card purchase exactly once, at the gateway too', () => {
    const acked = run.purchases.filter(acknowledged);
    expect(acked.length).toBeGreaterThan(0);
    for (const p of acked) {
      const outcome = run.outcomes.get(p.paymentId!);
      // Answered completed, or processing (submitted): only the gateway's capture ends it. One
      // answered pending was not submitted yet, and could have expired instead.
      const ended = p.answer === 'pending' ? (outcome?.captured ?? 0) + (outcome?.expired ?? 0) : outcome?.captured;
      expect(ended, `purchase ${p.paymentId} answered ${p.status} ${p.answer}`).toBe(1);
    }
    expect([...run.outcomes.values()].filter((o) => o.captured > 1), 'payments captured twice').toEqual([]);
    expect(run.intentsCapturedTwice, 'payments with two gateway intents that took money').toEqual([]);
  });

  it('passes tessera verify afterwards', () => {
    expect(run.verify.stdout, run.verify.stderr).toContain('verified: every read model equals its rebuild');
    expect(run.verify.code).toBe(0);
  });
});

/** The figures to quote: printed by every run, passing or not. */
function figures(run: Run) {
  const acked = run.purchases.filter(acknowledged);
  const { unfired, lateness } = deadlineLateness(run.deadlines, run.killAt);
  return {
    takeoverMs: run.takeover.observedMs,
    takeoverByLogMs: run.takeover.loggedMs,
    purchasesSent: run.purchases.length,
    acknowledged: acked.length,
    acknowledgedByInstance: { a: acked.filter((p) => p.instance === 'a').length, b: acked.filter((p) => p.instance === 'b').length },
    answered202: acked.filter((p) => p.status === 202).length,
    unanswered: run.purchases.filter((p) => p.error !== undefined).length,
    otherStatuses: run.purchases.filter((p) => p.status !== undefined && !acknowledged(p)).map((p) => p.status),
    acknowledgedCapturedOnce: acked.filter((p) => run.outcomes.get(p.paymentId!)?.captured === 1).length,
    paymentsCaptured: [...run.outcomes.values()].filter((o) => o.captured > 0).length,
    threeDsExpired: run.threeDs.filter((p) => run.outcomes.get(p.paymentId ?? '')?.expired === 1).length,
    acknowledgedNotFinal: run.unsettled.length,
    deadlinesInHandAtKill: run.inHandAtKill.length,
    deadlinesFiredAfterKill: lateness.length,
    deadlineLatestAfterKillMs: Math.max(0, ...lateness.map((d) => d.lateMs)),
    deadlinesUnfired: unfired.length,
    unfiredExample: unfired[0],
    verifyExitCode: run.verify.code,
  };
}

async function api(target: ServerProcess, method: 'GET' | 'POST' | 'PUT', path: string, headers: Record<string, string>, body?: unknown) {
  const response = await fetch(`${target.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function projectionsOf(target: ServerProcess): Promise<ProjectionRow[]> {
  const { status, body } = await api(target, 'GET', '/admin/projections', await authAs('admin'));
  if (status !== 200) throw new Error(`/admin/projections answered ${status}`);
  return body.projections as ProjectionRow[];
}

async function registerVenue(target: ServerProcess): Promise<string> {
  const venueId = randomUUID();
  const admin = await authAs('admin');
  const venue = await api(target, 'PUT', `/api/v1/venues/${venueId}`, admin, { name: 'Ryman Auditorium', address: NASHVILLE });
  const ticketType = await api(target, 'PUT', `/api/v1/venues/${venueId}/events/${EVENT_ID}/ticket-types/${TICKET_TYPE_ID}`, admin, {
    name: 'General admission',
    price: DEFAULT_PRICE,
  });
  if (venue.status >= 300 || ticketType.status >= 300) throw new Error(`venue setup failed: ${venue.status} ${ticketType.status}`);
  return venueId;
}

/** One purchase with a fresh Idempotency-Key; what came back is written on `p`. */
async function buy(target: ServerProcess, venueId: string, p: Purchase): Promise<void> {
  try {
    const { status, body } = await api(target, 'POST', '/api/v1/payments/process', { ...(await authAs()), 'idempotency-key': randomUUID() }, {
      venueId,
      eventId: EVENT_ID,
      tickets: [{ ticketTypeId: TICKET_TYPE_ID, quantity: 1, price: DEFAULT_PRICE }],
      paymentMethod: { type: 'card', paymentMethodId: p.card },
    });
    p.status = status;
    const transaction = body.transaction as { id: string; status: string; nextAction?: unknown } | undefined;
    if (transaction) {
      p.paymentId = transaction.id;
      p.answer = transaction.status;
      p.nextAction = transaction.nextAction !== undefined;
    }
  } catch (error) {
    // Requests in flight to the killed instance end here: "other side closed", then refused.
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    p.error = `${error instanceof Error ? error.message : String(error)}${cause}`;
  }
}

async function keepBuying(target: () => ServerProcess, venueId: string, purchases: Purchase[], done: () => boolean): Promise<void> {
  while (!done()) {
    const instance = target();
    const p: Purchase = { card: 'pm_card_visa', instance: instance.name };
    purchases.push(p);
    await buy(instance, venueId, p);
  }
}

/** When the last expiry deadline of these purchases comes due (epoch ms). */
async function lastDueOf(sql: PostgresSqlClient, purchases: readonly Purchase[]): Promise<number> {
  const ids = purchases.map((p) => p.paymentId).filter((id) => id !== undefined);
  if (ids.length !== purchases.length) throw new Error(`3-D Secure purchases not all answered: ${JSON.stringify(purchases)}`);
  const { rows } = await sql.query<{ due: Date | null }>(
    `SELECT max(due_at) AS due FROM tessera_deadlines WHERE kind = 'payment-expiry' AND payload->>'paymentId' = ANY($1::text[])`,
    [ids],
  );
  if (!rows[0]?.due) throw new Error('no expiry deadline scheduled for the 3-D Secure purchases');
  return rows[0].due.getTime();
}

/** Polls until some deadline is claimed and not yet fired (answers those), or `until` (epoch ms) passes (answers none). */
async function firstInHand(sql: PostgresSqlClient, until: number): Promise<string[]> {
  while (Date.now() < until) {
    const { rows } = await sql.query<{ id: string }>('SELECT id FROM tessera_deadlines WHERE claimed_until > now() AND fired_at IS NULL');
    if (rows.length > 0) return rows.map((row) => row.id);
    await sleep(2);
  }
  return [];
}

/**
 * From the kill until the survivor reports every subscription A ran as its own (its log) and
 * every projection active (GET /admin/projections). `loggedMs` is when it took the last one, by
 * its own log; `observedMs` when this test saw both.
 */
async function measureTakeover(survivor: ServerProcess, expected: readonly string[], killAt: number): Promise<{ observedMs: number; loggedMs: number }> {
  while (Date.now() < killAt + SETTLE_LIMIT_MS) {
    const active = survivor.activeSubscriptions();
    if (expected.every((name) => active.has(name)) && (await projectionsOf(survivor)).every((p) => p.state === 'active')) {
      const observedMs = Date.now() - killAt;
      return { observedMs, loggedMs: Math.max(...expected.map((name) => active.get(name)!)) - killAt };
    }
    await sleep(25);
  }
  return { observedMs: Infinity, loggedMs: Infinity };
}

/**
 * Waits until every acknowledged purchase has ended (captured, failed or expired), every
 * purchase's expiry deadline has fired and the survivor's projections have caught up, or
 * SETTLE_LIMIT_MS have passed (the tests then say what is missing). Answers the database's time.
 */
async function settle(survivor: ServerProcess, sql: PostgresSqlClient, acked: readonly Purchase[]): Promise<{ at: Date; pending: string[] }> {
  const limit = Date.now() + SETTLE_LIMIT_MS;
  for (;;) {
    const ended = new Set((await paymentOutcomes(sql)).filter((o) => o.captured + o.expired + o.failed > 0).map((o) => o.payment_id));
    const pending = acked.filter((p) => !ended.has(p.paymentId!)).map((p) => p.paymentId!);
    const { rows } = await sql.query<{ at: Date; unfired: number }>(
      `SELECT now() AS at, count(*)::int AS unfired FROM tessera_deadlines
        WHERE kind = 'payment-expiry' AND fired_at IS NULL AND parked_at IS NULL`,
    );
    const caughtUp = (await projectionsOf(survivor)).every((p) => p.state === 'active' && p.lagEvents === 0);
    if ((pending.length === 0 && rows[0]!.unfired === 0 && caughtUp) || Date.now() > limit) return { at: rows[0]!.at, pending };
    await sleep(200);
  }
}

async function paymentOutcomes(sql: PostgresSqlClient): Promise<PaymentOutcome[]> {
  const { rows } = await sql.query<PaymentOutcome>(
    `SELECT substr(stream_id, length('payment-') + 1) AS payment_id,
            count(*) FILTER (WHERE event_type = 'PaymentCaptured')::int AS captured,
            count(*) FILTER (WHERE event_type = 'PaymentExpired')::int AS expired,
            count(*) FILTER (WHERE event_type = 'PaymentFailed')::int AS failed,
            max(data->>'expiredAt') FILTER (WHERE event_type = 'PaymentExpired') AS expired_at,
            max(data->>'expiresAt') FILTER (WHERE event_type = 'PaymentRequested') AS expires_at
       FROM tessera_events WHERE stream_id LIKE 'payment-%' GROUP BY stream_id`,
  );
  return rows;
}

/** The gateway's side of "captured once": no payment has two intents that took money. */
async function intentsCapturedTwice(sql: PostgresSqlClient): Promise<string[]> {
  const { rows } = await sql.query<{ payment_id: string }>(
    `SELECT metadata->>'paymentId' AS payment_id FROM sandbox_gateway_intents
      WHERE captured > 0 GROUP BY 1 HAVING count(*) > 1`,
  );
  return rows.map((row) => row.payment_id);
}

async function deadlinesDueBy(sql: PostgresSqlClient, at: Date): Promise<DeadlineRow[]> {
  const { rows } = await sql.query<DeadlineRow>(
    'SELECT id, due_at, fired_at, claimed_until, attempts FROM tessera_deadlines WHERE due_at <= $1 AND parked_at IS NULL ORDER BY due_at',
    [at],
  );
  return rows;
}

/**
 * How late the deadlines that fired after the kill were: from when they came due, or from the
 * kill for those due before it (the killed instance may have held their claim). Unfired ones
 * are listed with their claim.
 */
function deadlineLateness(deadlines: readonly DeadlineRow[], killAt: number) {
  const lateness = deadlines
    .filter((d) => d.fired_at && d.fired_at.getTime() > killAt)
    .map((d) => ({ id: d.id, attempts: d.attempts, lateMs: d.fired_at!.getTime() - Math.max(d.due_at.getTime(), killAt) }))
    .sort((x, y) => x.lateMs - y.lateMs);
  const unfired = deadlines
    .filter((d) => !d.fired_at)
    .map((d) => ({ id: d.id, dueAt: d.due_at.toISOString(), claimedUntil: d.claimed_until?.toISOString() ?? null, attempts: d.attempts }));
  return { lateness, unfired };
}
