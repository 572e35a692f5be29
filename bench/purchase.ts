/**
 * npm run bench:purchase
 *
 * Purchases per second through the whole system, next to what the event store alone does with
 * the same writes. Two systems, each on a fresh PostgreSQL database, taking turns over rounds:
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
 * purchase answered was captured. Settings: BENCH_DATABASE_URL (else DATABASE_URL, else the local
 * server), BENCH_SECONDS per system (default 10), BENCH_ROUNDS (2), BENCH_CONNECTIONS (32: HTTP
 * connections, and the bare run's concurrency), BENCH_LOG_LEVEL (warn). Idempotency keys live in
 * PostgreSQL (no Redis), as in the single-server shape without REDIS_URL.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { connectPostgres } from '../src/db/sql-client.js';
import type { EventData, EventStore, RecordedEvent } from '../src/eventstore/event-store.js';
import { createPostgresEventStore } from '../src/eventstore/postgres.js';
import { createLogger } from '../src/logger.js';
import { startServer, type RunningServer } from '../src/server.js';
import { dropDatabase, freshDatabase, round, sample, summarize, type Sample } from './harness.js';
import { load, merge } from './http-driver.js';
import type { LoadResult } from './http-load.js';

const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
const WARMUP_SECONDS = 1;
const DATABASES = { http: 'tessera_bench_purchase', bare: 'tessera_bench_purchase_bare' } as const;
const jwtSecret = randomBytes(32).toString('hex');
const venueId = randomUUID();

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

async function startTessera(url: string): Promise<RunningServer> {
  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: logLevel,
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: url,
    DATABASE_POOL_SIZE: String(connections),
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
  const server = await startServer(config, createLogger({ level: config.LOG_LEVEL }));
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
const countStatement = (text: string) => {
  sent.statements++;
  if (process.env.BENCH_STATEMENTS !== '1') return;
  const words = text.replace(/\s+/g, ' ');
  // A read of the events names its WHERE clause: a stream's, or $all's.
  const key = words.startsWith('SELECT e.stream_id') ? `SELECT <event> ${words.slice(words.indexOf(' WHERE '), words.indexOf(' WHERE ') + 60)}` : words.slice(0, 90);
  byStatement.set(key, (byStatement.get(key) ?? 0) + 1);
};

/**
 * Every statement any pg client of this process sends while `counting` is on: the server's pool,
 * its query builder's, its lock session's, BEGIN and COMMIT included. The load itself runs in a
 * child process, so the count is the server's alone.
 */
let counting = false;
type Query = (this: pg.Client, ...args: unknown[]) => unknown;
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with apply, on the client
const clientQuery = pg.Client.prototype.query as unknown as Query;
(pg.Client.prototype as unknown as { query: Query }).query = function (this: pg.Client, ...args: unknown[]) {
  if (counting) {
    const [first] = args;
    const text = typeof first === 'string' ? first : (first as { text?: unknown } | undefined)?.text;
    countStatement(typeof text === 'string' ? text : '(other)');
  }
  return clientQuery.apply(this, args);
};

async function httpSlice(url: string, headers: Record<string, string>, measured: number): Promise<LoadResult & { statements: number }> {
  const server = await startTessera(url);
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
async function purchaseShape(url: string): Promise<EventData[][]> {
  const sql = connectPostgres({ url, poolSize: 1 });
  try {
    const { rows } = await sql.query<{ stream_id: string }>(
      `SELECT stream_id FROM tessera_events WHERE event_type = 'PaymentCaptured' ORDER BY position LIMIT 1`,
    );
    if (!rows[0]) throw new Error('no purchase was captured; cannot take its shape');
    return batchesOf(await createPostgresEventStore(sql).readStream(rows[0].stream_id));
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

async function bareSlice(url: string, shape: readonly EventData[][], measured: number): Promise<Sample> {
  const sql = connectPostgres({ url, poolSize: connections });
  const store = createPostgresEventStore(sql);
  try {
    const purchase = barePurchase(store, shape);
    await sample(WARMUP_SECONDS, connections, purchase);
    return await sample(measured, connections, purchase);
  } finally {
    await store.close();
    await sql.close();
  }
}

async function capturedCount(url: string): Promise<{ requested: number; captured: number }> {
  const sql = connectPostgres({ url, poolSize: 1 });
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
  const urls = { http: await freshDatabase(serverUrl, DATABASES.http), bare: await freshDatabase(serverUrl, DATABASES.bare) };
  const migrator = connectPostgres({ url: urls.bare, poolSize: 1 });
  await migrate(migrator);
  await migrator.close();
  try {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${await sign('user', 'bench-buyer')}` };
    const http: (LoadResult & { statements: number })[] = [];
    const bare: Sample[] = [];
    let shape: EventData[][] | undefined;
    const slice = seconds / rounds;
    for (let r = 0; r < rounds; r++) {
      // Rotate who goes first, so drift in the machine's load falls on both alike. The bare
      // run needs a real purchase's events, so the very first slice is HTTP.
      for (const system of r % 2 === 0 ? (['http', 'bare'] as const) : (['bare', 'http'] as const)) {
        if (system === 'http') http.push(await httpSlice(urls.http, headers, slice));
        else bare.push(await bareSlice(urls.bare, (shape ??= await purchaseShape(urls.http)), slice));
      }
    }
    const statementsPerPurchase = round(http.reduce((sum, r) => sum + r.statements, 0) / http.reduce((sum, r) => sum + r.requests, 0), 1);
    // Each append is one statement: the bare purchase's round trips are its batches.
    report({ ...merge(http), statementsPerPurchase }, { ...summarize(bare), statementsPerPurchase: shape?.length ?? 0 }, await capturedCount(urls.http));
  } finally {
    await dropDatabase(serverUrl, DATABASES.http);
    await dropDatabase(serverUrl, DATABASES.bare);
  }
}

function report(
  http: ReturnType<typeof merge> & { statementsPerPurchase: number },
  bare: ReturnType<typeof summarize> & { statementsPerPurchase: number },
  books: { requested: number; captured: number },
): void {
  const purchasesPerSecond = http.requestsPerSecond;
  console.log(JSON.stringify({ bench: 'purchase', system: 'tessera-http', connections, ...http }));
  console.log(JSON.stringify({ bench: 'purchase', system: 'bare-appends', concurrency: connections, ...bare }));
  console.log(
    JSON.stringify({
      bench: 'purchase',
      ratio: 'tessera-http / bare-appends',
      purchasesPerSecond: round(purchasesPerSecond / bare.perSecond, 3),
      p99: round(http.p99Ms / bare.p99Ms, 2),
    }),
  );
  console.log(JSON.stringify({ bench: 'purchase', check: 'every purchase requested over HTTP was captured', ...books, ok: books.requested === books.captured }));
  if (byStatement.size > 0) {
    const total = [...byStatement.values()].reduce((a, b) => a + b, 0);
    for (const [text, count] of [...byStatement].sort((a, b) => b[1] - a[1]).slice(0, 40)) {
      console.log(`${((count / total) * http.statementsPerPurchase).toFixed(2).padStart(6)}  ${text}`);
    }
  }
}

await main();
