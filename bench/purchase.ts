/**
 * npm run bench:purchase (BENCH_STORE=pglite: npm run bench:purchase:pglite)
 *
 * Purchases per second through the whole system, next to what the event store alone does with
 * the same writes. Two systems, each on a fresh database of the store BENCH_STORE names (a
 * PostgreSQL server, or the embedded PGlite in a fresh temp folder as `npm start` opens it without
 * DATABASE_URL), taking turns over rounds:
 *   - tessera-http: the real server (startServer: migrations, process managers, projections,
 *     deadline poller, listening socket) with the sandbox gateway at zero latency. autocannon,
 *     from a child process, sends POST /api/v1/payments/process with a fresh Idempotency-Key and
 *     a user's JWT; each answer waits for the gateway's answer (200), or PAYMENT_WAIT_MS (202).
 *   - bare-appends: the appends one purchase makes, straight to the event store with no reads,
 *     no HTTP and no gateway: [PaymentRequested] to a new stream, [PaymentSubmitted] expecting
 *     revision 0, [PaymentAuthorized, PaymentCaptured] expecting revision 1, with the event data
 *     of a real purchase.
 *
 * Prints one JSON line per system, then the ratios (http / bare), then a check that every
 * purchase answered was captured. Settings: BENCH_STORE (postgres, or pglite), BENCH_DATABASE_URL
 * (else DATABASE_URL, else the local server; PostgreSQL only), BENCH_SECONDS per system (default
 * 10), BENCH_ROUNDS (2), BENCH_CONNECTIONS (32 on PostgreSQL, 16 on PGlite: HTTP connections, and
 * the bare run's concurrency), BENCH_LOG_LEVEL (warn). Idempotency keys live in the SQL database
 * (no Redis), as in the single-server shape without REDIS_URL.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import type { SqlClient } from '../src/db/sql-client.js';
import type { EventData, EventStore, RecordedEvent } from '../src/eventstore/event-store.js';
import { createLogger } from '../src/logger.js';
import { sqlEventStore, type Storage } from '../src/runtime.js';
import { startServer, type RunningServer } from '../src/server.js';
import { round, sample, summarize, type Sample } from './harness.js';
import { load, merge } from './http-driver.js';
import type { LoadResult } from './http-load.js';
import { pgliteDatabases, postgresDatabases, type BenchStore, type PurchaseDatabases } from './purchase-databases.js';

const store = benchStore(process.env.BENCH_STORE ?? 'postgres');
const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
// PGlite serves one statement at a time in the server's own process: fewer connections queue less.
const connections = Number(process.env.BENCH_CONNECTIONS ?? (store === 'pglite' ? 16 : 32));
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
const WARMUP_SECONDS = 1;
const jwtSecret = randomBytes(32).toString('hex');
const venueId = randomUUID();

function benchStore(name: string): BenchStore {
  if (name === 'postgres' || name === 'pglite') return name;
  throw new Error(`BENCH_STORE must be postgres or pglite, not "${name}"`);
}

const sign = (role: 'user' | 'admin', sub: string) =>
  new SignJWT({ role, tenant_id: 'bench', venues: [] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime('2h')
    .sign(Buffer.from(jwtSecret, 'utf8'));

const eventId = randomUUID();
const ticketTypeId = randomUUID();
const purchaseBody = JSON.stringify({
  venueId,
  eventId,
  tickets: [{ ticketTypeId, quantity: 1, price: 10_000 }],
  paymentMethod: { type: 'card', paymentMethodId: 'pm_card_visa' },
});

async function startTessera(databases: PurchaseDatabases): Promise<RunningServer> {
  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: logLevel,
    HOST: '127.0.0.1',
    PORT: '0',
    ...databases.serverEnv,
    JWT_SECRET: jwtSecret,
    INTERNAL_SERVICE_SECRET: randomBytes(32).toString('hex'),
    INTERNAL_SERVICE_SECRETS: JSON.stringify({ 'ticket-service': randomBytes(32).toString('hex'), 'venue-service': randomBytes(32).toString('hex') }),
    GROUP_PAYMENT_LINK_SECRET: randomBytes(32).toString('hex'),
    RATE_LIMIT_GLOBAL_MAX: '1000000000',
    RATE_LIMIT_USER_MAX: '1000000000',
    RATE_LIMIT_ROUTE_MAX: '1000000000',
    GATEWAY: 'sandbox',
    SANDBOX_LATENCY_MS: '0',
  });
  const server = await startServer(config, createLogger({ level: config.LOG_LEVEL }), { openStorage: () => countedStorage(databases) });
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
const byStatement = new Map<string, number>();
/** Only statements sent while a slice is measured count. */
let counting = false;

function countStatement(text: string): void {
  if (!counting) return;
  sent.statements++;
  if (process.env.BENCH_STATEMENTS !== '1') return;
  const words = text.replace(/\s+/g, ' ').trim();
  // A read of the events names its WHERE clause: a stream's, or $all's.
  const where = words.indexOf(' WHERE ');
  const key = words.startsWith('SELECT e.stream_id') ? `SELECT <event> ${words.slice(where, where + 60)}` : words.slice(0, 90);
  byStatement.set(key, (byStatement.get(key) ?? 0) + 1);
}

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
  countStatement(textOf(args[0]));
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
    target.query = (...args) => (countStatement(textOf(args[0])), query(...args));
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

/** The server's storage (as src/runtime.ts opens it on either store), counting every statement. */
async function countedStorage(databases: PurchaseDatabases): Promise<Storage> {
  const sql = await databases.open('http', connections);
  countPglite(sql);
  await migrate(sql);
  const eventStore = sqlEventStore(sql);
  return {
    sql,
    eventStore,
    async close() {
      await eventStore.close();
      await sql.close();
    },
  };
}

async function httpSlice(databases: PurchaseDatabases, headers: Record<string, string>, measured: number): Promise<LoadResult & { statements: number }> {
  const server = await startTessera(databases);
  try {
    const target = { url: `${server.url}/api/v1/payments/process`, headers, body: purchaseBody, connections };
    await load({ ...target, seconds: WARMUP_SECONDS });
    const before = sent.statements;
    counting = true;
    try {
      const result = await load({ ...target, seconds: measured });
      return { ...result, statements: sent.statements - before };
    } finally {
      counting = false;
    }
  } finally {
    await server.stop();
  }
}

/** The append batches of one real purchase, grouped by the command that wrote them. */
async function purchaseShape(databases: PurchaseDatabases): Promise<EventData[][]> {
  const sql = await databases.open('http', 1);
  try {
    const { rows } = await sql.query<{ stream_id: string }>(
      `SELECT stream_id FROM tessera_events WHERE event_type = 'PaymentCaptured' ORDER BY position LIMIT 1`,
    );
    if (!rows[0]) throw new Error('no purchase was captured; cannot take its shape');
    return batchesOf(await sqlEventStore(sql).readStream(rows[0].stream_id));
  } finally {
    await sql.close();
  }
}

function batchesOf(events: readonly RecordedEvent[]): EventData[][] {
  const batches: EventData[][] = [];
  let cause: string | undefined;
  for (const { id, type, data, metadata } of events) {
    if (metadata.causationId !== cause) batches.push([]);
    cause = metadata.causationId;
    batches[batches.length - 1]!.push({ id, type, data, metadata });
  }
  return batches;
}

function barePurchase(store: EventStore, shape: readonly EventData[][]) {
  return async () => {
    const stream = `payment-${randomUUID()}`;
    let expected: 'no_stream' | number = 'no_stream';
    for (const batch of shape) {
      const appended = await store.append(stream, batch.map((event) => ({ ...event, id: randomUUID() })), { expected });
      expected = appended.nextExpectedRevision;
    }
  };
}

async function bareSlice(databases: PurchaseDatabases, shape: readonly EventData[][], measured: number): Promise<Sample> {
  const sql = await databases.open('bare', connections);
  const store = sqlEventStore(sql);
  try {
    const purchase = barePurchase(store, shape);
    await sample(WARMUP_SECONDS, connections, purchase);
    return await sample(measured, connections, purchase);
  } finally {
    await store.close();
    await sql.close();
  }
}

async function capturedCount(databases: PurchaseDatabases): Promise<{ requested: number; captured: number }> {
  const sql = await databases.open('http', 1);
  try {
    const { rows } = await sql.query<{ requested: number; captured: number }>(
      `SELECT count(*) FILTER (WHERE event_type = 'PaymentRequested')::int AS requested,
              count(*) FILTER (WHERE event_type = 'PaymentCaptured')::int AS captured FROM tessera_events`,
    );
    return rows[0]!;
  } finally {
    await sql.close();
  }
}

async function main(): Promise<void> {
  const databases = store === 'pglite' ? pgliteDatabases() : await postgresDatabases(serverUrl, connections);
  try {
    const migrator = await databases.open('bare', 1);
    await migrate(migrator);
    await migrator.close();
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${await sign('user', 'bench-buyer')}` };
    const http: (LoadResult & { statements: number })[] = [];
    const bare: Sample[] = [];
    let shape: EventData[][] | undefined;
    const slice = seconds / rounds;
    for (let r = 0; r < rounds; r++) {
      // Rotate who goes first, so drift in the machine's load falls on both alike. The bare
      // run needs a real purchase's events, so the very first slice is HTTP.
      for (const system of r % 2 === 0 ? (['http', 'bare'] as const) : (['bare', 'http'] as const)) {
        if (system === 'http') http.push(await httpSlice(databases, headers, slice));
        else bare.push(await bareSlice(databases, (shape ??= await purchaseShape(databases)), slice));
      }
    }
    const statementsPerPurchase = round(http.reduce((sum, r) => sum + r.statements, 0) / http.reduce((sum, r) => sum + r.requests, 0), 1);
    // Each append is one statement: the bare purchase's round trips are its batches.
    report({ ...merge(http), statementsPerPurchase }, { ...summarize(bare), statementsPerPurchase: shape?.length ?? 0 }, await capturedCount(databases));
  } finally {
    await databases.dispose();
  }
}

function report(
  http: ReturnType<typeof merge> & { statementsPerPurchase: number },
  bare: ReturnType<typeof summarize> & { statementsPerPurchase: number },
  books: { requested: number; captured: number },
): void {
  const purchasesPerSecond = http.requestsPerSecond;
  console.log(JSON.stringify({ bench: 'purchase', store, system: 'tessera-http', connections, ...http }));
  console.log(JSON.stringify({ bench: 'purchase', store, system: 'bare-appends', concurrency: connections, ...bare }));
  console.log(
    JSON.stringify({
      bench: 'purchase',
      store,
      ratio: 'tessera-http / bare-appends',
      purchasesPerSecond: round(purchasesPerSecond / bare.perSecond, 3),
      p99: round(http.p99Ms / bare.p99Ms, 2),
    }),
  );
  console.log(JSON.stringify({ bench: 'purchase', store, check: 'every purchase requested over HTTP was captured', ...books, ok: books.requested === books.captured }));
  if (byStatement.size > 0) {
    const total = [...byStatement.values()].reduce((a, b) => a + b, 0);
    for (const [text, count] of [...byStatement].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
      console.log(`${((count / total) * http.statementsPerPurchase).toFixed(2).padStart(6)}  ${text}`);
    }
  }
}

await main();
