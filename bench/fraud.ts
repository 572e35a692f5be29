/**
 * npm run bench:fraud
 *
 * What the risk assessment before every card purchase (issue 20) costs, against the issue's
 * criteria: the decision's p99 under 5 ms in process (seed 002 allows 100 ms), and purchases/s
 * with fraud checks on at least 0.85 of those with them off, in the same run.
 *
 * Part `decisions`: riskAssessor(...).assess(...) called directly, wired as src/composition.ts
 * wires it (the tenant's risk policy through the aggregate cache a shared tail keeps fresh, the
 * live model and the shadow, the metrics), over each feature store: `sql` (tessera_risk_observe
 * on a fresh PostgreSQL database), `redis` (the Lua script under a key prefix of the run's,
 * deleted at the end; events on PostgreSQL) and `pglite` (the SQL store on embedded PGlite, in a
 * temp folder). The tenant blocks a few addresses, devices and cards and allows two users, and a
 * venue has overrides. BENCH_HISTORY purchases over the past 30 days come first (not measured), by
 * a population of buyers, so returning buyers have history; then BENCH_ASSESSMENTS with 32 in
 * flight, as a server's concurrent requests (a closed loop that saturates the machine: its latency
 * is mostly waiting for the CPU), then a quarter as many one at a time (the assessment's own
 * latency; BENCH_CONCURRENCY). The purchases: half new buyers, most of the rest returning ones (a second card or
 * device now and then, a shared carrier address for a quarter), a few heavy buyers who run into
 * the velocity limits, 1% on stolen cards, 1% on account-farm devices, 3% without a fingerprint,
 * sessions of people (94%), hurried ones (2%), headless browsers (1%) or none (3%). It prints the
 * p50/p95/p99/max of assess(), of the feature store's call alone, and of the pure part
 * (model.predict and riskVerdict, live model and shadow, as assess runs them), the CPU per
 * assessment of this process and of the database (its backends, or Redis), and the decisions.
 *
 * Part `http`: purchases over HTTP through the real server (bench/purchase-server.ts, as
 * bench:purchase runs it) with FRAUD_CHECKS off and on, taking turns over BENCH_ROUNDS rounds
 * (off first, then on first, ...; first a slice not measured, so neither mode runs cold code),
 * on a fresh PostgreSQL database, per feature store: `sql`, and
 * `redis` (REDIS_URL set: the edge's idempotency keys and rate limits move to Redis too, in both
 * modes). The feature store first holds BENCH_HTTP_HISTORY purchases of other buyers over the
 * past 30 days (the platform's month, which every screened purchase is counted against). Every purchase is a buyer's own (bench/buyers.ts: user and token, card
 * `pm_card_visa--<id>`, device, address through x-forwarded-for with TRUST_PROXY, a person's
 * session), so no limit fires, in both modes alike. It prints purchases/s, p50/p99, SQL statements
 * per purchase and CPU per purchase (server, PostgreSQL, Redis) for each mode, the ratios on/off,
 * the assessments' own latency as recorded on their events, the feature store's statement's mean
 * time inside PostgreSQL (track_functions on the bench's database, where the bench may set it), and a check that every purchase was
 * captured and approved.
 *
 * Settings: BENCH_PART (`decisions,http`), BENCH_FEATURES (default every reachable one of `sql`,
 * `redis`, `pglite`; the http part takes `sql` and `redis`), BENCH_DATABASE_URL (else
 * DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres), REDIS_URL (else
 * redis://127.0.0.1:6379), BENCH_ASSESSMENTS (20000; 5000 on PGlite), BENCH_HISTORY (10000; 2500
 * on PGlite), BENCH_HTTP_HISTORY (30000), BENCH_CONCURRENCY (`32,1`), BENCH_SECONDS per mode (16), BENCH_ROUNDS (4),
 * BENCH_CONNECTIONS (32), BENCH_LOG_LEVEL (warn), BENCH_STATEMENTS=1 (statements by their first
 * words, per purchase, for each mode).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listHits, thresholdsFor, type RiskPolicyCommand } from '../src/aggregates/risk-policy.js';
import { createRiskMetrics } from '../src/api/risk-metrics.js';
import { cacheAggregates, createAggregateCache } from '../src/commands/aggregate-cache.js';
import type { CommandContext } from '../src/commands/handle-command.js';
import { riskAssessor, riskPolicyHandler, sendRiskPolicyCommand, type AssessInput, type RiskFeatureStore, type RiskObservation } from '../src/commands/risk.js';
import { fraudModel } from '../src/domain/fraud-model.js';
import { riskVerdict, type RiskModel, type SessionSignals } from '../src/domain/risk.js';
import { migrate } from '../src/db/migrate.js';
import { closeRedis, connectRedis, deleteKeysUnder } from '../src/db/redis.js';
import { connectPostgres, openPglite, type SqlClient } from '../src/db/sql-client.js';
import { createSharedTail } from '../src/eventstore/shared-tail.js';
import { createRedisRiskFeatureStore } from '../src/gateways/risk-features-redis.js';
import { createSqlRiskFeatureStore } from '../src/gateways/risk-features-sql.js';
import { createLogger } from '../src/logger.js';
import { sqlEventStore } from '../src/runtime.js';
import { headlessSession, humanSession, hurriedSession, seededRandom } from './buyers.js';
import { dropDatabase, freshDatabase, round, serverCpuBetween, serverCpuSeconds } from './harness.js';
import { merge } from './http-driver.js';
import { postgresDatabases, type PurchaseDatabases } from './purchase-databases.js';
import { books, clearRedis, httpSlice, printStatements, redisCpuSeconds, takeStatements, TENANT, type HttpSlice, type ServerSettings } from './purchase-server.js';

type Features = 'sql' | 'redis' | 'pglite';
const FEATURES: readonly Features[] = ['sql', 'redis', 'pglite'];

const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const parts = (process.env.BENCH_PART ?? 'decisions,http').split(',').map((part) => part.trim());
const asked = process.env.BENCH_FEATURES?.split(',').map((name) => name.trim());
/** Assessments in flight: as a server's concurrent requests (32), and one alone (its own latency). */
const concurrencies = (process.env.BENCH_CONCURRENCY ?? '32,1').split(',').map(Number);
const concurrency = Math.max(...concurrencies);
const seconds = Number(process.env.BENCH_SECONDS ?? 16);
const rounds = Number(process.env.BENCH_ROUNDS ?? 4);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
const logger = createLogger({ level: logLevel });
/** Per store: PGlite runs every statement in this one thread, so it gets a smaller workload. */
const assessmentsFor = (features: Features) => Number(process.env.BENCH_ASSESSMENTS ?? (features === 'pglite' ? 5_000 : 20_000));
const historyFor = (features: Features) => Number(process.env.BENCH_HISTORY ?? (features === 'pglite' ? 2_500 : 10_000));
/** Purchases of the last 30 days in the feature store before the HTTP rounds. */
const httpHistory = Number(process.env.BENCH_HTTP_HISTORY ?? 30_000);

for (const part of parts) if (part !== 'decisions' && part !== 'http') throw new Error(`BENCH_PART lists decisions and http, not "${part}"`);
for (const name of asked ?? []) if (!FEATURES.includes(name as Features)) throw new Error(`BENCH_FEATURES lists sql, redis and pglite, not "${name}"`);

// ---------------------------------------------------------------------------------------------
// The workload of the decisions part.

const DAY = 86_400_000;
const VENUES = 20;
const EVENTS = 100;

interface Buyer {
  readonly user: string;
  readonly cards: readonly string[];
  readonly devices: readonly string[];
  readonly ip: string;
}

/** Who buys: a growing population of buyers, heavy buyers, and the pools fraud shares. */
function population(random: () => number) {
  const buyers: Buyer[] = [];
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const pool = (size: number, name: (i: number) => string) => Array.from({ length: size }, (_, i) => name(i));
  const octet = () => 1 + Math.floor(random() * 254);
  const newBuyer = (): Buyer => {
    const n = buyers.length;
    const buyer = { user: `user-${n}`, cards: [`pm_card_visa--u${n}`, `pm_card_visa--u${n}b`], devices: [`dev-u${n}`, `dev-u${n}b`], ip: `${octet()}.${octet()}.${octet()}.${octet()}` };
    buyers.push(buyer);
    return buyer;
  };
  const heavy = Array.from({ length: 40 }, newBuyer);
  return {
    buyers,
    heavy,
    newBuyer,
    pick,
    carrierIps: pool(2_000, (i) => `100.64.${i >> 8}.${i & 255}`),
    stolenCards: pool(30, (i) => `pm_card_visa--stolen${i}`),
    farmDevices: pool(20, (i) => `dev-farm${i}`),
  };
}

type Population = ReturnType<typeof population>;

interface Purchase {
  readonly buyer: Buyer;
  readonly card: string;
  readonly device?: string;
  readonly ip: string;
  readonly venueId: string;
  readonly eventId: string;
  readonly tickets: number;
  readonly amount: number;
  readonly session?: SessionSignals;
}

/** One purchase: `fresh` is the share of new buyers. */
function purchase(people: Population, random: () => number, fresh: number): Purchase {
  const { pick } = people;
  const r = random();
  const buyer = r < fresh || people.buyers.length <= people.heavy.length ? people.newBuyer() : r < 0.97 ? pick(people.buyers) : pick(people.heavy);
  const c = random();
  const card = c < 0.01 ? pick(people.stolenCards) : c < 0.1 ? buyer.cards[1]! : buyer.cards[0]!;
  const d = random();
  const device = d < 0.03 ? undefined : d < 0.04 ? pick(people.farmDevices) : d < 0.12 ? buyer.devices[1]! : buyer.devices[0]!;
  const ip = random() < 0.25 ? pick(people.carrierIps) : buyer.ip;
  // A third of the purchases are for one event on sale now; the rest spread over the others.
  const event = random() < 0.3 ? 0 : 1 + Math.floor(random() * (EVENTS - 1));
  const t = random();
  const tickets = t < 0.4 ? 1 : t < 0.75 ? 2 : t < 0.85 ? 3 : 4;
  const price = random() < 0.01 ? 40_000 + Math.floor(random() * 60_000) : 2_500 + Math.floor(random() * 22_500);
  const s = random();
  const session = s < 0.03 ? undefined : s < 0.04 ? headlessSession() : s < 0.06 ? hurriedSession(random) : humanSession(random);
  return {
    buyer,
    card,
    ip,
    venueId: `venue-${event % VENUES}`,
    eventId: `event-${event}`,
    tickets,
    amount: Math.round(tickets * price * 1.12),
    ...(device ? { device } : {}),
    ...(session ? { session } : {}),
  };
}

/** What an operator has on the tenant's lists, and a venue with overrides. */
function policyCommands(people: Population): RiskPolicyCommand[] {
  const at = new Date().toISOString();
  const entry = (list: 'block' | 'allow', kind: 'ip' | 'device' | 'card' | 'user', value: string, reason: string): RiskPolicyCommand => ({
    type: 'AddRiskListEntry',
    data: { list, kind, value, reason, addedBy: 'admin:bench', addedAt: at },
  });
  return [
    ...people.carrierIps.slice(0, 20).map((ip) => entry('block', 'ip', ip, 'chargebacks from this address')),
    ...people.farmDevices.slice(0, 5).map((device) => entry('block', 'device', device, 'account farm')),
    ...people.stolenCards.slice(0, 3).map((card) => entry('block', 'card', card, 'reported stolen')),
    ...people.heavy.slice(0, 2).map((buyer) => entry('allow', 'user', buyer.user, 'box office')),
    { type: 'SetRiskThresholds', data: { scope: 'venue:venue-0', thresholds: { ticketsPerEventPerUser: 6, largeAmount: 150_000 }, setBy: 'admin:bench', setAt: at } },
  ];
}

// ---------------------------------------------------------------------------------------------
// The decisions part.

const loadModel = (path: string): RiskModel => fraudModel(JSON.parse(readFileSync(fileURLToPath(new URL(`../${path}`, import.meta.url)), 'utf8')));

interface Percentiles {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

function percentiles(values: number[], digits = 3): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: round(at(0.5), digits), p95: round(at(0.95), digits), p99: round(at(0.99), digits), max: round(sorted[sorted.length - 1] ?? 0, digits) };
}

const count = (map: Record<string, number>, key: string) => (map[key] = (map[key] ?? 0) + 1);

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Where a decisions run keeps its events and features. */
interface DecisionStores {
  readonly sql: SqlClient;
  readonly database: 'postgres' | 'pglite';
  readonly features: RiskFeatureStore;
  /** Reads the CPU the feature store's server has used; the answer reads it again and gives the difference (null: not readable here). */
  cpu(): Promise<() => Promise<number | null>>;
  close(): Promise<void>;
}

const DECISIONS_DATABASE = 'tessera_bench_fraud_decisions';

async function openDecisionStores(features: Features): Promise<DecisionStores> {
  if (features === 'pglite') {
    const folder = mkdtempSync(join(tmpdir(), 'tessera-bench-fraud-'));
    const sql = await openPglite({ dataDir: folder });
    await migrate(sql);
    return {
      sql,
      database: 'pglite',
      features: createSqlRiskFeatureStore(sql),
      // PGlite runs in this process: its CPU is this process's.
      cpu: () => Promise.resolve(() => Promise.resolve(null)),
      async close() {
        await sql.close();
        rmSync(folder, { recursive: true, force: true });
      },
    };
  }
  const url = await freshDatabase(serverUrl, DECISIONS_DATABASE);
  const sql = connectPostgres({ url, poolSize: concurrency });
  await migrate(sql);
  if (features === 'sql') {
    return {
      sql,
      database: 'postgres',
      features: createSqlRiskFeatureStore(sql),
      async cpu() {
        const before = await serverCpuSeconds(sql);
        return async () => serverCpuBetween(before, await serverCpuSeconds(sql));
      },
      async close() {
        await sql.close();
        await dropDatabase(serverUrl, DECISIONS_DATABASE);
      },
    };
  }
  const redis = await connectRedis(redisUrl, logger);
  const prefix = `tessera-bench-fraud-${randomBytes(4).toString('hex')}:`;
  return {
    sql,
    database: 'postgres',
    features: createRedisRiskFeatureStore(redis, prefix),
    async cpu() {
      const before = await redisCpuSeconds(redis);
      return async () => round((await redisCpuSeconds(redis)) - before, 2);
    },
    async close() {
      await deleteKeysUnder(redis, prefix);
      await closeRedis(redis);
      await sql.close();
      await dropDatabase(serverUrl, DECISIONS_DATABASE);
    },
  };
}

const contextAt = (now: Date, actor: string): CommandContext => ({ commandId: randomUUID(), now, actor, tenantId: TENANT, correlationId: randomUUID() });

const inputOf = (p: Purchase): AssessInput => ({
  paymentId: randomUUID(),
  subject: 'purchase',
  userId: p.buyer.user,
  venueId: p.venueId,
  eventId: p.eventId,
  amount: p.amount,
  tickets: p.tickets,
  paymentMethodId: p.card,
  signals: { ip: p.ip, ...(p.device ? { deviceFingerprint: p.device } : {}), ...(p.session ? { sessionData: p.session } : {}) },
});

/** Runs `one` over `items` with `inFlight` at a time, as a server's concurrent requests would. */
async function drive<T>(items: readonly T[], inFlight: number, one: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < items.length) {
        const index = next++;
        await one(items[index]!, index);
      }
    }),
  );
}

async function decisions(features: Features): Promise<void> {
  const stores = await openDecisionStores(features);
  // As src/composition.ts: one reader of $all keeps the aggregate cache fresh; aggregates are read through it.
  const cache = createAggregateCache();
  let started = false;
  const tail = createSharedTail(sqlEventStore(stores.sql), { logger, onEvents: (events) => cache.observe(events), onReading: (ok) => cache.setActive(ok && started) });
  cacheAggregates(tail.store, cache);
  try {
    await tail.start();
    started = true;
    cache.setActive(true);
    const store = tail.store;
    const random = seededRandom(3);
    const people = population(random);
    for (const command of policyCommands(people)) await sendRiskPolicyCommand(store, TENANT, command, contextAt(new Date(), 'admin:bench'));

    let timing = false;
    const observeMs: number[] = [];
    const timed: RiskFeatureStore = {
      kind: stores.features.kind,
      purge: (olderThan) => stores.features.purge(olderThan),
      async observe(observation, limits) {
        const t0 = performance.now();
        try {
          return await stores.features.observe(observation, limits);
        } finally {
          if (timing) observeMs.push(performance.now() - t0);
        }
      },
      forget: (id) => stores.features.forget(id),
      releaseTickets: (id) => stores.features.releaseTickets(id),
    };
    // src/composition.ts's riskAssessorFor with the default FRAUD_MODEL and FRAUD_SHADOW_MODEL.
    const model = loadModel('models/fraud-v1.json');
    const shadow = loadModel('models/fraud-v2.json');
    const assessor = riskAssessor({ store, features: timed, model, shadow, metrics: createRiskMetrics() });

    // History: purchases over the past 30 days, in order, so returning buyers have some.
    const historyCount = historyFor(features);
    const since = Date.now() - 30 * DAY;
    const history = Array.from({ length: historyCount }, () => purchase(people, random, 0.6));
    const historyStarted = performance.now();
    await drive(history, concurrency, async (p, i) => {
      await assessor.assess(inputOf(p), contextAt(new Date(since + Math.floor((i * 30 * DAY) / historyCount)), `user:${p.buyer.user}`));
    });
    const historySeconds = (performance.now() - historyStarted) / 1000;

    const { state: policy } = await riskPolicyHandler.loadRecent(store, TENANT);
    let earlier = historyCount;
    for (const inFlight of concurrencies) {
      // One in flight: the assessment's own latency, with no other assessment queued beside it.
      const n = inFlight === 1 ? Math.ceil(assessmentsFor(features) / 4) : assessmentsFor(features);
      const measured = Array.from({ length: n }, () => purchase(people, random, 0.5));
      const assessMs: number[] = [];
      const pureMs: number[] = [];
      const decided: Record<string, number> = {};
      const declineCodes: Record<string, number> = {};
      const rules: Record<string, number> = {};
      observeMs.length = 0;
      timing = true;
      const databaseCpu = await stores.cpu();
      const cpu = process.cpuUsage();
      const measuring = performance.now();
      await drive(measured, inFlight, async (p) => {
        const input = inputOf(p);
        const t0 = performance.now();
        const { assessment } = await assessor.assess(input, contextAt(new Date(), `user:${p.buyer.user}`));
        assessMs.push(performance.now() - t0);
        // The pure part, as assess runs it on these features: live model and shadow, each with the rules.
        const lists = listHits(policy, { user: input.userId, card: input.paymentMethodId, ip: p.ip, ...(p.device ? { device: p.device } : {}) });
        const thresholds = thresholdsFor(policy, input.venueId, input.eventId);
        const f = assessment.features;
        const p0 = performance.now();
        riskVerdict(f, lists, model.predict(f), thresholds);
        riskVerdict(f, lists, shadow.predict(f), thresholds);
        pureMs.push(performance.now() - p0);
        count(decided, assessment.decision);
        if (assessment.declineCode) count(declineCodes, assessment.declineCode);
        for (const rule of assessment.rules) count(rules, rule.rule);
      });
      const elapsed = (performance.now() - measuring) / 1000;
      const used = process.cpuUsage(cpu);
      const databaseSeconds = await databaseCpu();
      timing = false;
      const assess = percentiles(assessMs);
      console.log(
        JSON.stringify({
          bench: 'fraud',
          part: 'decisions',
          features,
          database: stores.database,
          concurrency: inFlight,
          earlierPurchases: earlier,
          historySeconds: round(historySeconds, 1),
          assessments: n,
          perSecond: round(n / elapsed, 0),
          assessMs: assess,
          featureStoreMs: percentiles(observeMs),
          pureMs: percentiles(pureMs, 4),
          nodeCpuMsPerAssessment: round((used.user + used.system) / 1000 / n, 3),
          storeCpuMsPerAssessment: databaseSeconds === null ? null : round((databaseSeconds * 1000) / n, 3),
          decisions: decided,
          declineCodes,
          rules: Object.fromEntries(Object.entries(rules).sort((a, b) => b[1] - a[1])),
          target: 'assess p99 < 5 ms',
          ok: assess.p99 < 5,
        }),
      );
      earlier += n;
    }
  } finally {
    await tail.stop();
    cache.setActive(false);
    await stores.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The http part.

type Mode = 'off' | 'on';

/**
 * PostgreSQL times functions on the bench's database (track_functions, for sessions that start
 * later: the servers'), so the run can say what tessera_risk_observe costs inside the database.
 * False where the bench may not (it takes a superuser).
 */
async function trackFunctions(databases: PurchaseDatabases): Promise<boolean> {
  const sql = await databases.open('http', 1);
  try {
    await sql.query(`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET track_functions = %L', current_database(), 'all'); END $$`);
    return true;
  } catch {
    return false;
  } finally {
    await sql.close();
  }
}

/** Calls of tessera_risk_observe and their mean time inside PostgreSQL (wall time: lock waits and waiting for a core included). */
async function observeTime(databases: PurchaseDatabases): Promise<{ calls: number; meanMs: number } | null> {
  const sql = await databases.open('http', 1);
  try {
    const { rows } = await sql.query<{ calls: string; total: number }>(
      `SELECT calls::text AS calls, total_time AS total FROM pg_stat_user_functions WHERE funcname = 'tessera_risk_observe'`,
    );
    return rows[0] ? { calls: Number(rows[0].calls), meanMs: round(rows[0].total / Number(rows[0].calls), 3) } : null;
  } finally {
    await sql.close();
  }
}

/** The assessments' latency as they recorded it (latencyMs on PaymentRiskAssessed), under the HTTP load. */
async function recordedLatency(databases: PurchaseDatabases): Promise<Percentiles> {
  const sql = await databases.open('http', 1);
  try {
    const { rows } = await sql.query<{ ms: number }>(`SELECT (data->>'latencyMs')::float8 AS ms FROM tessera_events WHERE event_type = 'PaymentRiskAssessed'`);
    return percentiles(rows.map((row) => row.ms));
  } finally {
    await sql.close();
  }
}

function modeFigures(slices: readonly HttpSlice[]) {
  const merged = merge(slices);
  const per = (total: number) => round(total / merged.requests, 2);
  const sum = (pick: (slice: HttpSlice) => number | null) => slices.reduce<number | null>((total, slice) => (total === null || pick(slice) === null ? null : total + pick(slice)!), 0);
  const database = sum((slice) => slice.databaseCpuSeconds);
  const redis = sum((slice) => slice.redisCpuSeconds);
  return {
    ...merged,
    statementsPerPurchase: per(slices.reduce((total, slice) => total + slice.statements, 0)),
    serverCpuMsPerPurchase: per(slices.reduce((total, slice) => total + slice.serverCpuSeconds, 0) * 1000),
    databaseCpuMsPerPurchase: database === null ? null : per(database * 1000),
    redisCpuMsPerPurchase: redis === null ? null : per(redis * 1000),
  };
}

/**
 * The platform's purchases of the last 30 days as the feature store holds them, before the HTTP
 * rounds: what every screened purchase counts against (other buyers, other events, so no limit
 * of the bench's buyers moves). In SQL, the rows tessera_risk_observe would have written, in a
 * few statements; in Redis, through the store's own script.
 */
async function seedObservations(databases: PurchaseDatabases, features: 'sql' | 'redis', prefix: string): Promise<void> {
  const now = Date.now();
  const buyers = Math.max(1, Math.floor(httpHistory / 2));
  const observations: RiskObservation[] = Array.from({ length: httpHistory }, (_, i) => ({
    id: `history-${i}`,
    at: new Date(now - 60_000 - Math.floor((i * 30 * DAY) / Math.max(1, httpHistory))),
    userId: `history-user-${i % buyers}`,
    ip: `172.${16 + ((i >>> 16) & 15)}.${(i >>> 8) & 255}.${i & 255}`,
    card: `pm_card_visa--history${i % buyers}`,
    device: `dev-history${i % buyers}`,
    eventId: `history-event-${i % EVENTS}`,
    tickets: 1 + (i % 3),
    amount: 5_000 + ((i * 7_919) % 20_000),
  }));
  const sql = await databases.open('http', 1);
  try {
    await migrate(sql);
    if (features === 'sql') {
      for (let from = 0; from < observations.length; from += 5_000) {
        const chunk = observations.slice(from, from + 5_000);
        await sql.query(
          `INSERT INTO tessera_risk_observations (id, at, user_id, ip, card, device, event_id, tickets, amount)
           SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int[], $9::bigint[])`,
          [
            chunk.map((o) => o.id),
            chunk.map((o) => o.at),
            chunk.map((o) => o.userId),
            chunk.map((o) => o.ip),
            chunk.map((o) => o.card),
            chunk.map((o) => o.device),
            chunk.map((o) => o.eventId),
            chunk.map((o) => o.tickets),
            chunk.map((o) => o.amount),
          ],
        );
      }
      await sql.query('ANALYZE tessera_risk_observations');
    } else {
      const redis = await connectRedis(redisUrl, logger);
      try {
        const store = createRedisRiskFeatureStore(redis, prefix);
        const unlimited = { userHour: 1e12, userDay: 1e12, userWeek: 1e12, ipMinute: 1e12, ipHour: 1e12, cardDay: 1e12, cardUsers: 1e12, eventTickets: 1e12 };
        await drive(observations, concurrency, async (o) => void (await store.observe(o, unlimited)));
      } finally {
        await closeRedis(redis);
      }
    }
  } finally {
    await sql.close();
  }
}

async function purchases(features: 'sql' | 'redis'): Promise<void> {
  const databases = await postgresDatabases(serverUrl, connections, 'tessera_bench_fraud');
  const prefix = `tessera-bench-fraud-${randomBytes(4).toString('hex')}:`;
  const base = { connections, logLevel, trustProxy: true, ...(features === 'redis' ? { redis: { url: redisUrl, prefix } } : {}) };
  const settings: Record<Mode, ServerSettings> = { off: { ...base, fraudChecks: false }, on: { ...base, fraudChecks: true } };
  const slices: Record<Mode, HttpSlice[]> = { off: [], on: [] };
  const statements: Record<Mode, Map<string, number>> = { off: new Map(), on: new Map() };
  try {
    await seedObservations(databases, features, prefix);
    const tracking = features === 'sql' && (await trackFunctions(databases));
    // The process's first slice runs its code cold: one slice with the checks on, not measured, warms both modes' code.
    await httpSlice(databases, settings.on, { headers: { 'content-type': 'application/json' }, measured: 2, distinctBuyers: true });
    for (let r = 0; r < rounds; r++) {
      // Alternate who goes first, so drift in the machine's load falls on both alike.
      for (const mode of r % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        takeStatements();
        slices[mode].push(await httpSlice(databases, settings[mode], { headers: { 'content-type': 'application/json' }, measured: seconds / rounds, distinctBuyers: true }));
        for (const [text, n] of takeStatements()) statements[mode].set(text, (statements[mode].get(text) ?? 0) + n);
      }
    }
    const figures = { off: modeFigures(slices.off), on: modeFigures(slices.on) };
    for (const mode of ['off', 'on'] as const) {
      console.log(JSON.stringify({ bench: 'fraud', part: 'http', features, fraudChecks: mode, connections, earlierPurchases: httpHistory, ...figures[mode] }));
    }
    const { off, on } = figures;
    const ratio = round(on.requestsPerSecond / off.requestsPerSecond, 3);
    // Each round's on and off ran back to back: the spread of their ratios is the run's noise.
    const byRound = slices.on.map((slice, i) => round(slice.requestsPerSecond / slices.off[i]!.requestsPerSecond, 3));
    console.log(
      JSON.stringify({
        bench: 'fraud',
        part: 'http',
        features,
        ratio: 'fraud checks on / off',
        purchasesPerSecond: ratio,
        byRound,
        medianOfRounds: round(median(byRound), 3),
        p50: round(on.p50Ms / off.p50Ms, 2),
        p99: round(on.p99Ms / off.p99Ms, 2),
        statementsAdded: round(on.statementsPerPurchase - off.statementsPerPurchase, 2),
        serverCpuMsAdded: round(on.serverCpuMsPerPurchase - off.serverCpuMsPerPurchase, 2),
        databaseCpuMsAdded: on.databaseCpuMsPerPurchase === null || off.databaseCpuMsPerPurchase === null ? null : round(on.databaseCpuMsPerPurchase - off.databaseCpuMsPerPurchase, 2),
        redisCpuMsAdded: on.redisCpuMsPerPurchase === null || off.redisCpuMsPerPurchase === null ? null : round(on.redisCpuMsPerPurchase - off.redisCpuMsPerPurchase, 2),
        assessMsRecorded: await recordedLatency(databases),
        ...(tracking ? { observeInDatabase: await observeTime(databases) } : {}),
        target: 'purchases/s on >= 0.85 x off',
        ok: ratio >= 0.85,
      }),
    );
    const counted = await books(databases);
    const failed = off.non2xx + on.non2xx + off.errors + on.errors;
    console.log(
      JSON.stringify({
        bench: 'fraud',
        part: 'http',
        features,
        check: 'every purchase requested was captured, every assessment approved, no request failed',
        ...counted,
        failed,
        ok: counted.requested === counted.captured && counted.notApproved === 0 && counted.assessed > 0 && failed === 0,
      }),
    );
    if (process.env.BENCH_STATEMENTS === '1') {
      for (const mode of ['off', 'on'] as const) printStatements(figures[mode].statementsPerPurchase, statements[mode], `statements per purchase, fraud checks ${mode} (${features}):`);
    }
  } finally {
    await databases.dispose();
    if (features === 'redis') await clearRedis(redisUrl, prefix);
  }
}

// ---------------------------------------------------------------------------------------------

async function reachable(features: Features): Promise<boolean> {
  try {
    if (features === 'redis') {
      await closeRedis(await connectRedis(redisUrl, createLogger({ level: 'silent' })));
      // The redis runs keep their events in PostgreSQL.
    }
    if (features !== 'pglite') {
      const sql = connectPostgres({ url: serverUrl, poolSize: 1 });
      try {
        await sql.query('SELECT 1');
      } finally {
        await sql.close();
      }
    }
    return true;
  } catch (error) {
    if (asked?.includes(features)) throw error;
    console.log(JSON.stringify({ bench: 'fraud', features, skipped: (error as Error).message }));
    return false;
  }
}

async function main(): Promise<void> {
  const available: Features[] = [];
  for (const features of (asked as Features[] | undefined) ?? FEATURES) if (await reachable(features)) available.push(features);
  if (parts.includes('decisions')) for (const features of available) await decisions(features);
  if (parts.includes('http')) {
    for (const features of available) if (features !== 'pglite') await purchases(features);
  }
}

await main();
