/**
 * npm run bench:onsale
 *
 * An on-sale through the whole system, then the waiting room alone (issue 21).
 *
 * 1. `sale`: the real server (`tessera serve` in a child process, on a fresh PostgreSQL database,
 *    Redis for the edge stores and the waiting room, the sandbox gateway at zero latency, seed
 *    003's default purchase limits) sells one protected event: a ticket type with a capacity of
 *    BENCH_CAPACITY (2,000) tickets and a waiting room. BENCH_BUYERS (5,000) buyers, each a user,
 *    card and address of their own, join the room at once, poll their place, and once admitted buy
 *    one ticket with their access token; one buyer in ten sends its purchase twice under the same
 *    Idempotency-Key, as a client whose first answer was lost. Concurrent requests are capped at
 *    BENCH_CONNECTIONS (64). Prints joins/s, purchases' p50/p99, the answers by status and code,
 *    5xx, tickets sold against the capacity (the ticket types route and the captured payments),
 *    double charges (a payment captured twice, or a buyer charged for two payments), and how far
 *    admission order strays from join order (waiting_room_activity).
 * 2. `room`: BENCH_QUEUED (250,000) users join one room in Redis through the room's store (no HTTP,
 *    no SQL), are admitted (the room's clock is moved on, so admission runs as fast as Redis lets
 *    it rather than at a real release rate), and their tokens are checked (signature and the
 *    record in Redis, as a purchase checks them) and used once. Prints joins/s, admissions/s,
 *    token checks/s, consumes/s and the admission order's deviation from join order.
 *
 * BENCH_MODE: sale, room, or both (default). BENCH_DATABASE_URL (else DATABASE_URL, else the local
 * server), REDIS_URL (else the local one). BENCH_ROOM_CAPACITY (active buyers, 300) and
 * BENCH_RELEASE_RATE (buyers a minute, 6,000) configure the sale's room.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import pg from 'pg';
import { waitingRoomService, type AccessRequest, type WaitingRoomStore } from '../src/commands/waiting-room.js';
import { closeRedis, connectRedis, deleteKeysUnder } from '../src/db/redis.js';
import { openPglite } from '../src/db/sql-client.js';
import { migrate } from '../src/db/migrate.js';
import { ACCESS_TOKEN_SCOPE, ACCESS_TOKEN_TTL_MS, roomIdOf, signAccessToken, type AdmissionRules, type RoomKey } from '../src/domain/waiting-room.js';
import type { WaitingRoomSettings } from '../src/events/catalogue.js';
import { createRedisWaitingRoomStore } from '../src/gateways/waiting-room-redis.js';
import { createSqlActivityLog } from '../src/gateways/waiting-room-sql.js';
import { createLogger } from '../src/logger.js';
import { sqlEventStore } from '../src/runtime.js';
import { dropDatabase, freshDatabase, round } from './harness.js';

const mode = process.env.BENCH_MODE ?? 'both';
if (!['sale', 'room', 'both'].includes(mode)) throw new Error(`BENCH_MODE must be sale, room or both, not "${mode}"`);
const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const buyers = Number(process.env.BENCH_BUYERS ?? 5_000);
const capacity = Number(process.env.BENCH_CAPACITY ?? 2_000);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const roomCapacity = Number(process.env.BENCH_ROOM_CAPACITY ?? 300);
const releaseRate = Number(process.env.BENCH_RELEASE_RATE ?? 6_000);
const queued = Number(process.env.BENCH_QUEUED ?? 250_000);

const TENANT = 'bench';
const logger = createLogger({ level: 'warn' });

/** Latencies in ms: p50 and p99. */
function percentiles(values: readonly number[]): { p50Ms: number; p99Ms: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50Ms: round(at(0.5), 1), p99Ms: round(at(0.99), 1) };
}

/**
 * How far an admission order strays from the join order: each admitted user's join rank against
 * their admission rank. `inversions`: pairs admitted one after the other whose joins were the
 * other way round; `maxDisplacement`: the largest difference of ranks.
 */
function deviation(joinRank: ReadonlyMap<string, number>, admitted: readonly string[]) {
  let inversions = 0;
  let maxDisplacement = 0;
  const ranks = admitted.map((user) => joinRank.get(user) ?? Number.NaN);
  // Where each rank would stand were the admitted let in exactly in join order.
  const inOrder = new Map([...ranks].sort((a, b) => a - b).map((rank, i) => [rank, i]));
  ranks.forEach((rank, i) => {
    if (i > 0 && rank < ranks[i - 1]!) inversions++;
    if (!Number.isNaN(rank)) maxDisplacement = Math.max(maxDisplacement, Math.abs(inOrder.get(rank)! - i));
  });
  return { admitted: admitted.length, inversions, maxDisplacement, unknown: ranks.filter(Number.isNaN).length };
}

/** At most `limit` of the calls run at once. */
function limiter(limit: number) {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await work();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/** A purchase's answer in a word: its error code, or its transaction's status. */
function outcomeOf(json: { code?: unknown; transaction?: unknown }): string {
  if (typeof json.code === 'string') return json.code;
  const status = (json.transaction as { status?: unknown } | undefined)?.status;
  return typeof status === 'string' ? status : 'unknown';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** This process's environment without the stores and settings the server must take from the bench alone. */
const inherited = () => Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(DATABASE_|REDIS_|EVENTSTORE_|DATA_DIR|PGOPTIONS|NODE_ENV|LOG_LEVEL)/.test(key)));

/** `tessera serve` in a child process, so the buyers' requests and the server do not share one event loop. */
async function serve(env: Record<string, string>): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../src/cli.ts'), 'serve'], {
    env: { ...inherited(), ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error('the server exited before it answered');
    const healthy = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (healthy) break;
    if (i > 300) throw new Error('the server did not answer /health within 30 s');
    await sleep(100);
  }
  return {
    url,
    child,
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function sale(): Promise<void> {
  const database = 'tessera_bench_onsale';
  const databaseUrl = await freshDatabase(serverUrl, database);
  const prefix = `bench-onsale-${randomUUID()}:`;
  const jwtSecret = randomBytes(32).toString('hex');
  const server = await serve({
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: databaseUrl,
    DATABASE_POOL_SIZE: '24',
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    JWT_SECRET: jwtSecret,
    INTERNAL_SERVICE_SECRET: randomBytes(32).toString('hex'),
    INTERNAL_SERVICE_SECRETS: JSON.stringify({ 'ticket-service': randomBytes(32).toString('hex'), 'venue-service': randomBytes(32).toString('hex') }),
    GROUP_PAYMENT_LINK_SECRET: randomBytes(32).toString('hex'),
    WAITING_ROOM_SECRET: randomBytes(32).toString('hex'),
    WAITING_ROOM_TICK_MS: '200',
    RATE_LIMIT_GLOBAL_MAX: '1000000000',
    RATE_LIMIT_USER_MAX: '1000000000',
    RATE_LIMIT_ROUTE_MAX: '1000000000',
    GATEWAY: 'sandbox',
    SANDBOX_LATENCY_MS: '0',
    FRAUD_CHECKS: 'false',
    PURCHASE_LIMITS: 'true',
    TRUST_PROXY: 'true',
    PAYMENT_WAIT_MS: '30000',
  });
  const sign = (role: 'user' | 'admin', sub: string) =>
    new SignJWT({ role, tenant_id: TENANT, venues: [] }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('2h').sign(Buffer.from(jwtSecret, 'utf8'));
  const venueId = randomUUID();
  const eventId = randomUUID();
  const ticketTypeId = randomUUID();
  const admin = `Bearer ${await sign('admin', 'bench-admin')}`;
  const put = async (path: string, body: unknown) => {
    const response = await fetch(`${server.url}${path}`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: admin }, body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`setup of ${path} failed: ${response.status} ${await response.text()}`);
  };
  const base = `/api/v1/venues/${venueId}/events/${eventId}`;
  try {
    await put(`/api/v1/venues/${venueId}`, { name: 'Bench Arena', address: { street: '1 Broadway', city: 'Nashville', state: 'TN', zip: '37203' }, tierOverride: 'pro' });
    await put(`${base}/ticket-types/${ticketTypeId}`, { name: 'General admission', price: 10_000, capacity });
    const room: WaitingRoomSettings = { enabled: true, capacity: roomCapacity, releaseRate, order: 'first_come' };
    await put(`${base}/waiting-room`, room);

    const gate = limiter(connections);
    const answers = new Map<string, number>();
    let serverErrors = 0;
    const count = (status: number, code: string) => {
      answers.set(`${status} ${code}`, (answers.get(`${status} ${code}`) ?? 0) + 1);
      if (status >= 500) serverErrors++;
    };
    const call = (method: string, path: string, token: string, headers: Record<string, string> = {}, body?: unknown) =>
      gate(async () => {
        const started = performance.now();
        const response = await fetch(`${server.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const json = (await response.json().catch(() => ({}))) as Record<string, unknown>;
        return { status: response.status, json, ms: performance.now() - started };
      });

    const purchaseMs: number[] = [];
    let joinsDone = 0;
    let joinsEndedAt = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: buyers }, async (_, i) => {
        const user = `fan-${i}`;
        const token = await sign('user', user);
        const address = { 'x-forwarded-for': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` };
        const joined = await call('POST', `${base}/waiting-room/join`, token, address);
        if (++joinsDone === buyers) joinsEndedAt = performance.now();
        if (joined.status !== 200) return count(joined.status, String(joined.json.code));
        let place = joined.json as { status: string; token?: string; estimatedWaitSeconds?: number };
        while (place.status === 'waiting') {
          // Poll about as often as the place is expected to move: a real client backs off too.
          await sleep(Math.min(5_000, Math.max(500, ((place.estimatedWaitSeconds ?? 1) * 1000) / 2)) + Math.random() * 250);
          const polled = await call('GET', `${base}/waiting-room/status`, token, address);
          if (polled.status !== 200) return count(polled.status, String(polled.json.code));
          place = polled.json as typeof place;
        }
        if (place.status !== 'admitted' || !place.token) return count(0, `place ${place.status}`);
        const key = randomUUID();
        const body = { venueId, eventId, tickets: [{ ticketTypeId, quantity: 1 }], paymentMethod: { type: 'card', paymentMethodId: `pm_card_visa--bench-${i}` } };
        const headers = { ...address, 'idempotency-key': key, 'x-access-token': place.token };
        const bought = await call('POST', '/api/v1/payments/process', token, headers, body);
        purchaseMs.push(bought.ms);
        count(bought.status, outcomeOf(bought.json));
        // Refused (sold out), the buyer leaves: their unused token would hold a place for 10 minutes.
        if (bought.status !== 200) await call('DELETE', `${base}/waiting-room`, token, address);
        // A client whose first answer was lost sends the same request again.
        if (i % 10 === 0) {
          const again = await call('POST', '/api/v1/payments/process', token, headers, body);
          count(again.status, `retry ${outcomeOf(again.json)}`);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;

    const listing = await fetch(`${server.url}${base}/ticket-types`, { headers: { authorization: admin } }).then((r) => r.json() as Promise<{ ticketTypes: { sold: number; held: number; remaining: number }[] }>);
    const metrics = await fetch(`${server.url}/metrics`).then((r) => r.text());
    const checks = [...metrics.matchAll(/^waiting_room_token_checks_total\{result="(\w+)"\} (\d+)/gm)].map(([, result, n]) => `${result}=${n}`);
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const one = async (text: string, values: unknown[] = []) => Number((await db.query<{ n: string }>(text, values)).rows[0]!.n);
    const capturedTickets = await one(
      `SELECT coalesce(sum((line->>'quantity')::int), 0)::text AS n FROM tessera_events c
       JOIN tessera_events r ON r.stream_id = c.stream_id AND r.event_type = 'PaymentRequested'
       CROSS JOIN jsonb_array_elements(r.data->'tickets') line
       WHERE c.event_type = 'PaymentCaptured' AND r.data->>'eventId' = $1`,
      [eventId],
    );
    const paymentsCapturedTwice = await one(
      `SELECT count(*)::text AS n FROM (SELECT stream_id FROM tessera_events WHERE event_type = 'PaymentCaptured' GROUP BY stream_id HAVING count(*) > 1) twice`,
    );
    const buyersChargedTwice = await one(
      `SELECT count(*)::text AS n FROM (SELECT data->>'userId' FROM tessera_events WHERE event_type = 'PaymentCaptured' GROUP BY data->>'userId' HAVING count(*) > 1) twice`,
    );
    const { rows: activity } = await db.query<{ user_id: string; action: string }>(
      `SELECT user_id, action FROM waiting_room_activity WHERE event_id = $1 AND action IN ('joined', 'admitted') ORDER BY "timestamp", seq`,
      [eventId],
    );
    await db.end();
    const joinRank = new Map<string, number>();
    for (const row of activity) if (row.action === 'joined' && !joinRank.has(row.user_id)) joinRank.set(row.user_id, joinRank.size);
    const admitted = activity.filter((row) => row.action === 'admitted').map((row) => row.user_id);
    const sold = listing.ticketTypes[0]!;
    console.log(
      JSON.stringify({
        bench: 'onsale:sale',
        buyers,
        capacity,
        room: { capacity: roomCapacity, releaseRate },
        seconds: round(seconds, 1),
        joinsPerSecond: round(buyers / ((joinsEndedAt - started) / 1000), 0),
        purchases: { count: purchaseMs.length, ...percentiles(purchaseMs) },
        answers: Object.fromEntries([...answers].sort()),
        serverErrors,
        tickets: { sold: sold.sold, held: sold.held, capturedTickets, oversold: Math.max(0, capturedTickets - capacity, sold.sold - capacity) },
        doubleCharges: { paymentsCapturedTwice, buyersChargedTwice },
        tokenChecks: checks,
        admissionOrder: deviation(joinRank, admitted),
      }),
    );
  } finally {
    await server.stop();
    await dropDatabase(serverUrl, database);
    const redis = await connectRedis(redisUrl, logger);
    await deleteKeysUnder(redis, prefix);
    await closeRedis(redis);
  }
}

async function roomAlone(): Promise<void> {
  const redis = await connectRedis(redisUrl, logger);
  const prefix = `bench-onsale-room-${randomUUID()}:`;
  // The service reads a room's settings from its catalogue only to join through HTTP; checks and
  // consumes, which this measures, take them from the request. Its activity log is not used here.
  const sql = await openPglite({ dataDir: 'memory://' });
  await migrate(sql);
  const store: WaitingRoomStore = createRedisWaitingRoomStore(redis, prefix);
  const secret = randomBytes(32).toString('hex');
  const service = waitingRoomService({ store: sqlEventStore(sql), rooms: store, activity: createSqlActivityLog(sql), secret, clock: () => new Date() });
  const room: RoomKey = { venueId: randomUUID(), eventId: randomUUID() };
  const settings: WaitingRoomSettings = { enabled: true, capacity: queued, releaseRate: 60 * 1_000_000, order: 'first_come' };
  const rules: AdmissionRules = { capacity: settings.capacity, releaseRate: settings.releaseRate, order: 'first_come' };
  const concurrency = 512;
  try {
    // The room's clock: each call a millisecond later than the one before, so joins keep their
    // order, the release budget refills, and no token lapses (they expire ten minutes after it).
    let clock = Date.now();
    const users = Array.from({ length: queued }, (_, i) => `fan-${i}`);
    // `concurrency` workers take the next index in turn: never more calls in flight, nor promises alive.
    const timed = async (work: (i: number) => Promise<void>, total: number) => {
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < total) await work(next++);
        }),
      );
      return round(total / ((performance.now() - started) / 1000), 0);
    };

    // Each join is one script on one connection, sent in order: Redis runs them in that order.
    const joinsPerSecond = await timed(async (i) => {
      await store.join(room, { ...rules, capacity: 0 }, { tenantId: TENANT, userId: users[i]! }, clock++, 0);
    }, queued);

    const admitted: { tenantId: string; userId: string; jti: string; expiresAt: number }[] = [];
    const admitStarted = performance.now();
    while (admitted.length < queued) {
      // A millisecond refills the budget of a million a second by a thousand, one call's most.
      clock += 1;
      const outcome = await store.admit(room, rules, clock);
      if (outcome.admitted.length === 0) throw new Error(`admission stalled at ${admitted.length} of ${queued}`);
      admitted.push(...outcome.admitted);
    }
    const admissionsPerSecond = round(queued / ((performance.now() - admitStarted) / 1000), 0);

    // Tokens as the room's status route signs them for each admitted buyer.
    const tokens = admitted.map((a) =>
      signAccessToken(secret, {
        jti: a.jti,
        tenantId: a.tenantId,
        userId: a.userId,
        ...room,
        queueId: roomIdOf(room),
        scope: ACCESS_TOKEN_SCOPE,
        iat: Math.floor((a.expiresAt - ACCESS_TOKEN_TTL_MS) / 1000),
        exp: Math.floor(a.expiresAt / 1000),
      }),
    );
    const request = (i: number): AccessRequest => ({ token: tokens[i], tenantId: TENANT, userId: admitted[i]!.userId, venueId: room.venueId, eventId: room.eventId, room: settings });
    // The room's tokens expire ten minutes after the room clock's admission, which runs ahead of the wall clock.
    const checksPerSecond = await timed(async (i) => {
      await service.check(request(i));
    }, queued);
    const consumesPerSecond = await timed(async (i) => {
      const outcome = await store.consume(admitted[i]!.jti, `command-${i}`, clock);
      if (outcome.outcome !== 'consumed') throw new Error(`token ${i} was not consumed: ${JSON.stringify(outcome)}`);
    }, queued);
    const joinRank = new Map(users.map((user, i) => [user, i]));
    console.log(
      JSON.stringify({
        bench: 'onsale:room',
        queued,
        joinsPerSecond,
        admissionsPerSecond,
        tokenChecksPerSecond: checksPerSecond,
        consumesPerSecond,
        admissionOrder: deviation(joinRank, admitted.map((a) => a.userId)),
      }),
    );
  } finally {
    await deleteKeysUnder(redis, prefix);
    await closeRedis(redis);
    await sql.close();
  }
}

if (mode === 'sale' || mode === 'both') await sale();
if (mode === 'room' || mode === 'both') await roomAlone();
