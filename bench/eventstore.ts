/**
 * npm run bench:eventstore
 *
 * A purchase-shaped workload: append 2 events to a new stream, then 1 event expecting the stream
 * at its second event. Run side by side in one process, each on its own fresh database:
 *   - tessera:  our PostgreSQL event store (one round trip per append);
 *   - emmett:   @event-driven-io/emmett-postgresql, the reference TypeScript event store;
 *   - raw-pg:   bare `pg` INSERTs of the same rows with no concurrency checks (the limit).
 * Then the same workload on PGlite against bare PGlite INSERTs.
 *
 * Prints one JSON line per system and concurrency, then a line of ratios. Settings:
 * BENCH_DATABASE_URL (else DATABASE_URL, else the local server), BENCH_SECONDS per system
 * (default 9), BENCH_ROUNDS (default 3: systems take turns, rotating, so machine noise falls on
 * all alike), BENCH_CONCURRENCY (default "16,32").
 */
import { randomUUID } from 'node:crypto';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { STREAM_DOES_NOT_EXIST } from '@event-driven-io/emmett';
import pg from 'pg';
import { migrate } from '../src/db/migrate.js';
import { connectPostgres, openPglite, type PgliteSqlClient, type SqlExecutor } from '../src/db/sql-client.js';
import type { EventStore } from '../src/eventstore/event-store.js';
import { createPgliteEventStore } from '../src/eventstore/pglite.js';
import { createPostgresEventStore } from '../src/eventstore/postgres.js';
import { benchMetadata, dropDatabase, freshDatabase, interleave, purchaseEvents, round, type RunResult } from './harness.js';

const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const seconds = Number(process.env.BENCH_SECONDS ?? 9);
const concurrencies = (process.env.BENCH_CONCURRENCY ?? '16,32').split(',').map(Number);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const warmupSeconds = 1;

interface System {
  readonly name: string;
  purchase(): Promise<void>;
  close(): Promise<void>;
}

function tesseraPurchase(store: EventStore) {
  return async () => {
    const paymentId = randomUUID();
    const stream = `payment-${paymentId}`;
    const metadata = benchMetadata(paymentId);
    const { requested, authorized, captured } = purchaseEvents(paymentId);
    await store.append(
      stream,
      [
        { id: randomUUID(), ...requested, metadata },
        { id: randomUUID(), ...authorized, metadata },
      ],
      { expected: 'no_stream' },
    );
    await store.append(stream, [{ id: randomUUID(), ...captured, metadata }], { expected: 1 });
  };
}

async function tessera(url: string, concurrency: number): Promise<System> {
  const sql = connectPostgres({ url, poolSize: concurrency });
  await migrate(sql);
  const store = createPostgresEventStore(sql);
  return {
    name: 'tessera',
    purchase: tesseraPurchase(store),
    async close() {
      await store.close();
      await sql.close();
    },
  };
}

async function emmett(url: string, concurrency: number): Promise<System> {
  const pool = new pg.Pool({ connectionString: url, max: concurrency });
  const store = getPostgreSQLEventStore(url, { connectionOptions: { pool } });
  await store.schema.migrate();
  return {
    name: 'emmett',
    async purchase() {
      const paymentId = randomUUID();
      const stream = `payment-${paymentId}`;
      const metadata = benchMetadata(paymentId);
      const { requested, authorized, captured } = purchaseEvents(paymentId);
      await store.appendToStream(stream, [{ ...requested, metadata }, { ...authorized, metadata }], {
        expectedStreamVersion: STREAM_DOES_NOT_EXIST,
      });
      // Emmett counts stream versions from 1: after two events the stream is at version 2.
      await store.appendToStream(stream, [{ ...captured, metadata }], { expectedStreamVersion: 2n });
    },
    async close() {
      await store.close();
      await pool.end();
    },
  };
}

const RAW_TABLE = `CREATE TABLE IF NOT EXISTS raw_events (
  position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  stream_id text NOT NULL, revision bigint NOT NULL, event_id uuid NOT NULL, event_type text NOT NULL,
  data jsonb NOT NULL, metadata jsonb NOT NULL, recorded_at timestamptz NOT NULL DEFAULT now())`;

const RAW_INSERT_TWO = `INSERT INTO raw_events (stream_id, revision, event_id, event_type, data, metadata)
  VALUES ($1, 0, $2, $3, $4, $5), ($1, 1, $6, $7, $8, $9)`;
const RAW_INSERT_ONE = `INSERT INTO raw_events (stream_id, revision, event_id, event_type, data, metadata)
  VALUES ($1, 2, $2, $3, $4, $5)`;

function rawPurchase(executor: SqlExecutor) {
  return async () => {
    const paymentId = randomUUID();
    const stream = `payment-${paymentId}`;
    const metadata = JSON.stringify(benchMetadata(paymentId));
    const { requested, authorized, captured } = purchaseEvents(paymentId);
    await executor.query(
      RAW_INSERT_TWO,
      [stream, randomUUID(), requested.type, JSON.stringify(requested.data), metadata, randomUUID(), authorized.type, JSON.stringify(authorized.data), metadata],
      'raw_two',
    );
    await executor.query(RAW_INSERT_ONE, [stream, randomUUID(), captured.type, JSON.stringify(captured.data), metadata], 'raw_one');
  };
}

async function rawPg(url: string, concurrency: number): Promise<System> {
  const sql = connectPostgres({ url, poolSize: concurrency });
  await sql.exec(RAW_TABLE);
  return { name: 'raw-pg', purchase: rawPurchase(sql), close: () => sql.close() };
}

function report(system: string, backend: string, concurrency: number, result: RunResult) {
  const line = {
    system,
    backend,
    concurrency,
    purchasesPerSecond: result.perSecond,
    eventsPerSecond: result.perSecond * 3,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    purchases: result.operations,
    seconds: result.seconds,
  };
  console.log(JSON.stringify(line));
  return line;
}

async function postgresRuns() {
  const names = { tessera: 'tessera_bench_ours', emmett: 'tessera_bench_emmett', raw: 'tessera_bench_raw' };
  for (const concurrency of concurrencies) {
    const urls = {
      tessera: await freshDatabase(serverUrl, names.tessera),
      emmett: await freshDatabase(serverUrl, names.emmett),
      raw: await freshDatabase(serverUrl, names.raw),
    };
    const results = await interleave(
      [
        { name: 'tessera', open: () => tessera(urls.tessera, concurrency) },
        { name: 'emmett', open: () => emmett(urls.emmett, concurrency) },
        { name: 'raw-pg', open: () => rawPg(urls.raw, concurrency) },
      ],
      { seconds, rounds, warmupSeconds, concurrency },
    );
    const ours = report('tessera', 'postgres', concurrency, results.get('tessera')!);
    const theirs = report('emmett', 'postgres', concurrency, results.get('emmett')!);
    const limit = report('raw-pg', 'postgres', concurrency, results.get('raw-pg')!);
    console.log(
      JSON.stringify({
        ratios: 'postgres',
        concurrency,
        oursOverEmmett: round(ours.purchasesPerSecond / theirs.purchasesPerSecond, 2),
        oursOverRawPg: round(ours.purchasesPerSecond / limit.purchasesPerSecond, 2),
        p99OursOverEmmett: round(ours.p99Ms / theirs.p99Ms, 2),
      }),
    );
  }
  for (const name of Object.values(names)) await dropDatabase(serverUrl, name);
}

async function pgliteRuns() {
  const concurrency = concurrencies[0] ?? 16;
  const pglite = async (setup: (sql: PgliteSqlClient) => Promise<() => Promise<void>>) => {
    const sql = await openPglite({ dataDir: 'memory://' });
    return { purchase: await setup(sql), close: () => sql.close() };
  };
  const results = await interleave(
    [
      {
        name: 'tessera',
        open: () =>
          pglite(async (sql) => {
            await migrate(sql);
            return tesseraPurchase(createPgliteEventStore(sql));
          }),
      },
      {
        name: 'raw-pglite',
        open: () =>
          pglite(async (sql) => {
            await sql.exec(RAW_TABLE);
            return rawPurchase(sql);
          }),
      },
    ],
    { seconds, rounds, warmupSeconds, concurrency },
  );
  const ours = report('tessera', 'pglite', concurrency, results.get('tessera')!);
  const limit = report('raw-pglite', 'pglite', concurrency, results.get('raw-pglite')!);
  console.log(JSON.stringify({ ratios: 'pglite', concurrency, oursOverRawPglite: round(ours.purchasesPerSecond / limit.purchasesPerSecond, 2) }));
}

await postgresRuns();
await pgliteRuns();
