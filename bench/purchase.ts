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
 *
 * Every purchase is one user's, from one address, with the same test card: the server runs with
 * FRAUD_CHECKS=false, or the risk assessment would refuse all but the first few (velocity limits).
 * BENCH_FRAUD=on screens them, each purchase then from a buyer of its own (user, card, device,
 * address, a person's session: bench/buyers.ts) and the server trusting x-forwarded-for.
 * bench/fraud.ts compares the two.
 */
import { randomUUID } from 'node:crypto';
import { migrate } from '../src/db/migrate.js';
import type { EventData, EventStore, RecordedEvent } from '../src/eventstore/event-store.js';
import { sqlEventStore } from '../src/runtime.js';
import { round, sample, summarize, type Sample } from './harness.js';
import { merge } from './http-driver.js';
import { pgliteDatabases, postgresDatabases, type BenchStore, type PurchaseDatabases } from './purchase-databases.js';
import { books, httpSlice, printStatements, sign, WARMUP_SECONDS, type Books, type HttpSlice, type ServerSettings } from './purchase-server.js';

const store = benchStore(process.env.BENCH_STORE ?? 'postgres');
const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
// PGlite serves one statement at a time in the server's own process: fewer connections queue less.
const connections = Number(process.env.BENCH_CONNECTIONS ?? (store === 'pglite' ? 16 : 32));
const fraud = benchFraud(process.env.BENCH_FRAUD ?? 'off');
const settings: ServerSettings = { connections, logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn', fraudChecks: fraud, trustProxy: fraud };
/** What the purchases are, in every line printed. */
const buyers = fraud ? 'fraud checks on; each purchase a distinct user, card, device and address' : 'fraud checks off (FRAUD_CHECKS=false); one user, one address, one card';

function benchStore(name: string): BenchStore {
  if (name === 'postgres' || name === 'pglite') return name;
  throw new Error(`BENCH_STORE must be postgres or pglite, not "${name}"`);
}

function benchFraud(value: string): boolean {
  if (value === 'on' || value === 'off') return value === 'on';
  throw new Error(`BENCH_FRAUD must be on or off, not "${value}"`);
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

async function main(): Promise<void> {
  const databases = store === 'pglite' ? pgliteDatabases() : await postgresDatabases(serverUrl, connections);
  try {
    const migrator = await databases.open('bare', 1);
    await migrate(migrator);
    await migrator.close();
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${await sign('user', 'bench-buyer')}` };
    const http: HttpSlice[] = [];
    const bare: Sample[] = [];
    let shape: EventData[][] | undefined;
    const slice = seconds / rounds;
    for (let r = 0; r < rounds; r++) {
      // Rotate who goes first, so drift in the machine's load falls on both alike. The bare
      // run needs a real purchase's events, so the very first slice is HTTP.
      for (const system of r % 2 === 0 ? (['http', 'bare'] as const) : (['bare', 'http'] as const)) {
        if (system === 'http') http.push(await httpSlice(databases, settings, { headers, measured: slice, distinctBuyers: fraud }));
        else bare.push(await bareSlice(databases, (shape ??= await purchaseShape(databases)), slice));
      }
    }
    const statementsPerPurchase = round(http.reduce((sum, r) => sum + r.statements, 0) / http.reduce((sum, r) => sum + r.requests, 0), 1);
    // Each append is one statement: the bare purchase's round trips are its batches.
    report({ ...merge(http), statementsPerPurchase }, { ...summarize(bare), statementsPerPurchase: shape?.length ?? 0 }, await books(databases));
  } finally {
    await databases.dispose();
  }
}

function report(
  http: ReturnType<typeof merge> & { statementsPerPurchase: number },
  bare: ReturnType<typeof summarize> & { statementsPerPurchase: number },
  counted: Books,
): void {
  const purchasesPerSecond = http.requestsPerSecond;
  console.log(JSON.stringify({ bench: 'purchase', store, system: 'tessera-http', buyers, connections, ...http }));
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
  console.log(JSON.stringify({ bench: 'purchase', store, check: 'every purchase requested over HTTP was captured', ...counted, ok: counted.requested === counted.captured }));
  printStatements(http.statementsPerPurchase);
}

await main();
