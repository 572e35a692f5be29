/**
 * What the purchase benchmarks share (bench/purchase.ts, bench/fraud.ts): the real server
 * (startServer) on a fresh database with the sandbox gateway at zero latency and a venue, event
 * and ticket type to buy, its SQL statements counted at the driver, one HTTP slice of purchases
 * driven by autocannon from a child process, and the check that every purchase was captured.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { closeRedis, connectRedis, deleteKeysUnder } from '../src/db/redis.js';
import { migrate } from '../src/db/migrate.js';
import type { SqlClient } from '../src/db/sql-client.js';
import type { BrokerPublisher } from '../src/gateways/broker.js';
import { createLogger } from '../src/logger.js';
import { sqlEventStore, type Storage } from '../src/runtime.js';
import { startServer, type RunningServer } from '../src/server.js';
import { BUYERS_PER_LOAD, type Buyers } from './buyers.js';
import { round, serverCpuBetween, serverCpuSeconds } from './harness.js';
import { load } from './http-driver.js';
import type { LoadResult } from './http-load.js';
import type { PurchaseDatabases } from './purchase-databases.js';

export const WARMUP_SECONDS = 1;
export const TENANT = 'bench';
export const jwtSecret = randomBytes(32).toString('hex');
const venueId = randomUUID();
const eventId = randomUUID();
const ticketTypeId = randomUUID();

export const sign = (role: 'user' | 'admin', sub: string) =>
  new SignJWT({ role, tenant_id: TENANT, venues: [] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime('2h')
    .sign(Buffer.from(jwtSecret, 'utf8'));

/** One ticket at $100 with a test card; with distinct buyers the load generator adds each one's card, device and session. */
export const purchaseBody = JSON.stringify({
  venueId,
  eventId,
  tickets: [{ ticketTypeId, quantity: 1, price: 10_000 }],
  paymentMethod: { type: 'card', paymentMethodId: 'pm_card_visa' },
});

export interface ServerSettings {
  /** HTTP connections, and the SQL pool's size. */
  readonly connections: number;
  readonly logLevel: string;
  /** FRAUD_CHECKS: the risk assessment before every card purchase. */
  readonly fraudChecks: boolean;
  /** REDIS_URL and a key prefix of the run's: edge stores and risk features in Redis. */
  readonly redis?: { readonly url: string; readonly prefix: string };
  /** TRUST_PROXY: clients' addresses from x-forwarded-for (distinct buyers send their own). */
  readonly trustProxy?: boolean;
  /** Events out: the brokers the server publishes to (none unless set: the config names none). */
  readonly brokers?: readonly BrokerPublisher[];
}

export async function startTessera(databases: PurchaseDatabases, settings: ServerSettings): Promise<RunningServer> {
  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: settings.logLevel,
    HOST: '127.0.0.1',
    PORT: '0',
    ...databases.serverEnv,
    JWT_SECRET: jwtSecret,
    INTERNAL_SERVICE_SECRET: randomBytes(32).toString('hex'),
    INTERNAL_SERVICE_SECRETS: JSON.stringify({ 'ticket-service': randomBytes(32).toString('hex'), 'venue-service': randomBytes(32).toString('hex') }),
    GROUP_PAYMENT_LINK_SECRET: randomBytes(32).toString('hex'),
    WAITING_ROOM_SECRET: randomBytes(32).toString('hex'),
    RATE_LIMIT_GLOBAL_MAX: '1000000000',
    RATE_LIMIT_USER_MAX: '1000000000',
    RATE_LIMIT_ROUTE_MAX: '1000000000',
    GATEWAY: 'sandbox',
    SANDBOX_LATENCY_MS: '0',
    FRAUD_CHECKS: String(settings.fraudChecks),
    // One event sells to the whole run (one user, without screening): seed 003's default limits
    // would stop it after 4 tickets. Capacity and limits have a bench of their own (bench:onsale).
    PURCHASE_LIMITS: 'false',
    TRUST_PROXY: String(settings.trustProxy ?? false),
    ...(settings.redis ? { REDIS_URL: settings.redis.url, REDIS_KEY_PREFIX: settings.redis.prefix } : {}),
  });
  const logger = createLogger({ level: config.LOG_LEVEL });
  const server = await startServer(config, logger, {
    openStorage: () => countedStorage(databases, settings, logger),
    ...(settings.brokers ? { brokers: settings.brokers } : {}),
  });
  // PUT is safe to repeat: later rounds find the venue as it is and write nothing.
  const put = async (path: string, body: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await sign('admin', 'bench-admin')}` },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`setup of ${path} failed: ${response.status} ${await response.text()}`);
  };
  await put(`/api/v1/venues/${venueId}`, { name: 'Bench Hall', address: { street: '1 Broadway', city: 'Nashville', state: 'TN', zip: '37203' }, tierOverride: 'pro' });
  // Purchases are priced from the catalogue: the ticket type they buy is registered at their price.
  await put(`/api/v1/venues/${venueId}/events/${eventId}/ticket-types/${ticketTypeId}`, { name: 'General admission', price: 10_000 });
  return server;
}

/** SQL statements sent, to report how many round trips a purchase costs the database. */
const sent = { statements: 0 };
/** With BENCH_STATEMENTS=1, statements by their first words, to see where a purchase's go. */
let byStatement = new Map<string, number>();
/** Only statements sent while a slice is measured count. */
let counting = false;

function countStatement(text: string, values?: unknown): void {
  if (!counting) return;
  sent.statements++;
  if (process.env.BENCH_STATEMENTS !== '1') return;
  const words = text.replace(/\s+/g, ' ').trim();
  // A read of the events names its WHERE clause: a stream's (and which kind of stream), or $all's.
  const where = words.indexOf(' WHERE ');
  const stream = Array.isArray(values) && typeof values[0] === 'string' && words.includes('e.stream_id = $1') ? ` <${streamKind(values[0])}>` : '';
  const key = words.startsWith('SELECT e.stream_id') ? `SELECT <event> ${words.slice(where, where + 60)}${stream}` : words.slice(0, 90);
  byStatement.set(key, (byStatement.get(key) ?? 0) + 1);
}

/** A stream's kind: its id up to the id of its aggregate (`payment`, `risk-policy`, `venue`). */
const streamKind = (streamId: string): string => streamId.replace(/-[0-9a-f]{8}-[0-9a-f-]{27}.*$|-[^-]*$/, '');

/** The statements counted so far by their first words (BENCH_STATEMENTS=1); counting starts again from none. */
export function takeStatements(): Map<string, number> {
  const taken = byStatement;
  byStatement = new Map();
  return taken;
}

/** Prints statements counted by their first words (BENCH_STATEMENTS=1) as a share of `perPurchase`. */
export function printStatements(perPurchase: number, counted: ReadonlyMap<string, number> = takeStatements(), heading?: string): void {
  if (counted.size === 0) return;
  if (heading) console.log(heading);
  const total = [...counted.values()].reduce((a, b) => a + b, 0);
  for (const [text, count] of [...counted].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
    console.log(`${((count / total) * perPurchase).toFixed(2).padStart(6)}  ${text}`);
  }
}

const valuesOf = (args: readonly unknown[]): unknown => args[1] ?? (args[0] as { values?: unknown } | undefined)?.values;

const textOf = (query: unknown): string => {
  const text = typeof query === 'string' ? query : (query as { text?: unknown } | undefined)?.text;
  return typeof text === 'string' ? text : '(other)';
};

/**
 * On PostgreSQL, every statement any pg client of this process sends: the server's pool, its
 * query builder's (the read models), its lock session's, BEGIN and COMMIT included. The load
 * itself runs in a child process, so the count is the server's alone.
 */
type Query = (this: pg.Client, ...args: unknown[]) => unknown;
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with apply, on the client
const clientQuery = pg.Client.prototype.query as unknown as Query;
(pg.Client.prototype as unknown as { query: Query }).query = function (this: pg.Client, ...args: unknown[]) {
  countStatement(textOf(args[0]), valuesOf(args));
  return clientQuery.apply(this, args);
};

/**
 * On PGlite, every statement sent to the database the server opened, whoever sends it (its SQL
 * client or its query builder): a transaction counts its BEGIN and COMMIT.
 */
function countPglite(sql: SqlClient): void {
  if (sql.dialect !== 'pglite') return;
  type Runner = { query: (...args: unknown[]) => Promise<unknown>; exec: (...args: unknown[]) => Promise<unknown> };
  const countOn = (target: Runner) => {
    const { query, exec } = { query: target.query.bind(target), exec: target.exec.bind(target) };
    target.query = (...args) => (countStatement(textOf(args[0]), valuesOf(args)), query(...args));
    target.exec = (...args) => (countStatement(textOf(args[0])), exec(...args));
  };
  const db = sql.db as unknown as Runner & { transaction: (work: (tx: Runner) => Promise<unknown>) => Promise<unknown> };
  countOn(db);
  const transaction = db.transaction.bind(db);
  db.transaction = (work) => {
    countStatement('BEGIN');
    countStatement('COMMIT');
    return transaction((tx) => (countOn(tx), work(tx)));
  };
}

/** The server's storage (as src/runtime.ts opens it on either store, Redis too when set), counting every statement. */
async function countedStorage(databases: PurchaseDatabases, settings: ServerSettings, logger: ReturnType<typeof createLogger>): Promise<Storage> {
  const sql = await databases.open('http', settings.connections);
  countPglite(sql);
  await migrate(sql);
  const eventStore = sqlEventStore(sql);
  const redis: Redis | undefined = settings.redis ? await connectRedis(settings.redis.url, logger) : undefined;
  return {
    sql,
    eventStore,
    ...(redis ? { redis } : {}),
    async close() {
      if (redis) await closeRedis(redis);
      await eventStore.close();
      await sql.close();
    },
  };
}

/** Deletes what a run left in Redis under its prefix. */
export async function clearRedis(url: string, prefix: string): Promise<void> {
  const redis = await connectRedis(url, createLogger({ level: 'warn' }));
  try {
    await deleteKeysUnder(redis, prefix);
  } finally {
    await closeRedis(redis);
  }
}

export interface HttpSlice extends LoadResult {
  readonly statements: number;
  /** CPU this process (the server) used in the measured slice, in seconds. */
  readonly serverCpuSeconds: number;
  /** CPU the server's PostgreSQL backends used in it (null: PGlite, or the server's processes are not readable here). */
  readonly databaseCpuSeconds: number | null;
  /** CPU Redis used in it (null without Redis); all of Redis's, whoever else uses it. */
  readonly redisCpuSeconds: number | null;
}

/** CPU Redis has used since it started, in seconds (INFO cpu). */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_sys') + field('used_cpu_user');
}

async function redisCpu(url: string): Promise<number> {
  const redis = await connectRedis(url, createLogger({ level: 'warn' }));
  try {
    return await redisCpuSeconds(redis);
  } finally {
    await closeRedis(redis);
  }
}

/** CPU of the other stores, read before and after a measured slice. */
async function storesCpu(databases: PurchaseDatabases, settings: ServerSettings): Promise<() => Promise<{ database: number | null; redis: number | null }>> {
  const probe = databases.store === 'postgres' ? await databases.open('http', 1) : undefined;
  const [database, redis] = [probe ? await serverCpuSeconds(probe) : null, settings.redis ? await redisCpu(settings.redis.url) : null];
  return async () => {
    try {
      const [databaseAfter, redisAfter] = [probe ? await serverCpuSeconds(probe) : null, settings.redis ? await redisCpu(settings.redis.url) : null];
      return { database: serverCpuBetween(database, databaseAfter), redis: redis === null || redisAfter === null ? null : round(redisAfter - redis, 2) };
    } finally {
      await probe?.close();
    }
  };
}

/** Distinct buyers: each load of a run takes the next range of buyer numbers. */
let nextBuyer = 0;
const runTag = randomBytes(4).toString('hex');

/**
 * Starts the server, warms it up, measures `measured` seconds of purchases and stops it. With
 * `distinctBuyers`, each purchase is a buyer's own (bench/buyers.ts); otherwise every purchase is
 * one user's, with `headers` (its token), from one address, with the same test card.
 */
export async function httpSlice(
  databases: PurchaseDatabases,
  settings: ServerSettings,
  options: { readonly headers: Record<string, string>; readonly measured: number; readonly distinctBuyers: boolean },
): Promise<HttpSlice> {
  const server = await startTessera(databases, settings);
  const buyers = (): { buyers: Buyers } | Record<string, never> => {
    if (!options.distinctBuyers) return {};
    const first = nextBuyer;
    nextBuyer += BUYERS_PER_LOAD;
    return { buyers: { jwtSecret, tenantId: TENANT, tag: runTag, first } };
  };
  try {
    const target = { url: `${server.url}/api/v1/payments/process`, headers: options.headers, body: purchaseBody, connections: settings.connections };
    await load({ ...target, seconds: WARMUP_SECONDS, ...buyers() });
    const storesUsed = await storesCpu(databases, settings);
    const before = sent.statements;
    const cpu = process.cpuUsage();
    counting = true;
    let result: LoadResult;
    let statements: number;
    let used: NodeJS.CpuUsage;
    try {
      result = await load({ ...target, seconds: options.measured, ...buyers() });
      used = process.cpuUsage(cpu);
      statements = sent.statements - before;
    } finally {
      counting = false;
    }
    const stores = await storesUsed();
    return { ...result, statements, serverCpuSeconds: round((used.user + used.system) / 1e6, 2), databaseCpuSeconds: stores.database, redisCpuSeconds: stores.redis };
  } finally {
    await server.stop();
  }
}

export interface Books {
  readonly requested: number;
  readonly captured: number;
  /** Purchases with a risk assessment, and how many it did not approve. */
  readonly assessed: number;
  readonly notApproved: number;
}

export async function books(databases: PurchaseDatabases): Promise<Books> {
  const sql = await databases.open('http', 1);
  try {
    const { rows } = await sql.query<Books>(
      `SELECT count(*) FILTER (WHERE event_type = 'PaymentRequested')::int AS requested,
              count(*) FILTER (WHERE event_type = 'PaymentCaptured')::int AS captured,
              count(*) FILTER (WHERE event_type = 'PaymentRiskAssessed')::int AS assessed,
              count(*) FILTER (WHERE event_type = 'PaymentRiskAssessed' AND data->>'decision' <> 'approve')::int AS "notApproved"
         FROM tessera_events`,
    );
    return rows[0]!;
  } finally {
    await sql.close();
  }
}
