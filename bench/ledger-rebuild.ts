/**
 * npm run bench:ledger-rebuild
 *
 * How fast the projection engine replays history into the ledger on PostgreSQL. Seeds a fresh
 * database with purchase-shaped events (3 per purchase, as bench:eventstore writes them), then:
 *   - scan:    pages through $all with the event store's readAll, applying nothing (the limit);
 *   - rebuild: rebuilds the ledger beside its live tables and swaps it in, one purchase in three
 *              booking a 6-posting entry.
 * Prints one JSON line per measurement with events/s, this process's CPU time (user + system:
 * on a shared machine a steadier figure than wall time), the CPU time of the database's server
 * processes when the server runs on this machine (read from /proc; null otherwise), and this
 * process's peak RSS.
 *
 * Settings: BENCH_DATABASE_URL (else DATABASE_URL, else the local server), BENCH_EVENTS
 * (default 300000), BENCH_PAGE (events per page and transaction, default 2000).
 */
import { sql as raw } from 'kysely';
import { connectPostgres } from '../src/db/sql-client.js';
import { migrate } from '../src/db/migrate.js';
import type { Position } from '../src/eventstore/event-store.js';
import { createPostgresEventStore } from '../src/eventstore/postgres.js';
import { credit, debit } from '../src/projections/ledger/journal.js';
import { ledgerProjection } from '../src/projections/ledger/ledger-projection.js';
import { createLogger } from '../src/logger.js';
import { createReadSide } from '../src/projections/engine/read-side.js';
import { benchMetadata, dropDatabase, freshDatabase, purchaseEvents, round, serverCpuBetween, serverCpuSeconds } from './harness.js';

const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const events = Number(process.env.BENCH_EVENTS ?? 300_000);
const page = Number(process.env.BENCH_PAGE ?? 2000);
const name = `tessera_bench_ledger_${process.pid}`;

type Requested = ReturnType<typeof purchaseEvents>['requested'];

/** Bench-only rule: books the purchase from the request's fee breakdown. */
const ledger = ledgerProjection<{ type: 'PaymentRequested'; data: Requested['data'] }>(
  {
    PaymentRequested: ({ data }) => ({
      description: `purchase ${data.paymentId}`,
      postings: [
        debit('gateway:clearing', data.currency, data.fees.total),
        credit(`venue:${data.venueId}:pending`, data.currency, data.fees.ticketPrice),
        credit('platform:fees', data.currency, data.fees.platformFee),
        credit('platform:gas', data.currency, data.fees.gasEstimate),
        credit('tax:TN:payable', data.currency, data.fees.stateTax),
        credit('tax:TN-nashville:payable', data.currency, data.fees.localTax),
      ],
    }),
  },
  { version: 1 },
);

async function seed(url: string): Promise<void> {
  const sql = connectPostgres({ url, poolSize: 2 });
  await migrate(sql);
  const { requested, authorized, captured } = purchaseEvents('__PID__');
  const metadata = JSON.stringify(benchMetadata('__PID__'));
  const purchases = Math.ceil(events / 3);
  const chunk = 20_000;
  for (let from = 0; from < purchases; from += chunk) {
    // One transaction per chunk, rows in purchase order: what a steady stream of appends leaves.
    await sql.query(
      `INSERT INTO tessera_events (stream_id, revision, event_id, event_type, data, metadata)
       SELECT 'payment-' || p.id, v.revision, gen_random_uuid(), v.type, replace(v.data, '__PID__', p.id::text)::jsonb,
              replace($4, '__PID__', p.id::text)::jsonb
         FROM (SELECT gen_random_uuid() AS id, g FROM generate_series($5::int, $6::int) g) p,
              (VALUES (0, 'PaymentRequested', $1), (1, 'PaymentAuthorized', $2), (2, 'PaymentCaptured', $3)) AS v(revision, type, data)
        ORDER BY p.g, v.revision`,
      [JSON.stringify(requested.data), JSON.stringify(authorized.data), JSON.stringify(captured.data), metadata, from, Math.min(from + chunk, purchases) - 1],
    );
  }
  await sql.query('ANALYZE tessera_events');
  await sql.close();
}

function report(measure: string, count: number, ms: number, cpu: NodeJS.CpuUsage, extra: Record<string, unknown> = {}): void {
  const peakRssMb = round(process.resourceUsage().maxRSS / 1024, 0);
  const nodeCpuSeconds = round((cpu.user + cpu.system) / 1e6, 2);
  console.log(
    JSON.stringify({ measure, events: count, seconds: round(ms / 1000, 2), eventsPerSecond: round(count / (ms / 1000), 0), nodeCpuSeconds, peakRssMb, ...extra }),
  );
}

async function main(): Promise<void> {
  const url = await freshDatabase(serverUrl, name);
  try {
    await seed(url);
    const sql = connectPostgres({ url, poolSize: 4 });
    const store = createPostgresEventStore(sql);

    let started = performance.now();
    let cpu = process.cpuUsage();
    let scanned = 0;
    for (let after: Position | 'start' = 'start'; ; ) {
      const batch = await store.readAll({ after, maxCount: page });
      if (batch.length === 0) break;
      scanned += batch.length;
      after = batch[batch.length - 1]!.position;
    }
    report('scan', scanned, performance.now() - started, process.cpuUsage(cpu));

    const readSide = createReadSide({ sql, store, logger: createLogger({ level: 'warn' }), projections: [ledger], rebuildBatchSize: page });
    // Open the pool's connections first, so their server processes are there to be measured.
    await Promise.all(Array.from({ length: 4 }, () => sql.query('SELECT pg_sleep(0.05)')));
    const serverBefore = await serverCpuSeconds(sql);
    started = performance.now();
    cpu = process.cpuUsage();
    const rebuilt = await readSide.rebuild('ledger');
    cpu = process.cpuUsage(cpu);
    const serverAfter = await serverCpuSeconds(sql);
    const postgresCpuSeconds = serverCpuBetween(serverBefore, serverAfter);
    const { rows } = await raw<{ entries: string; postings: string }>`
      SELECT (SELECT count(*) FROM ledger_entries)::text AS entries, (SELECT count(*) FROM ledger_postings)::text AS postings`.execute(readSide.db);
    report('rebuild ledger', rebuilt.events, performance.now() - started, cpu, { postgresCpuSeconds, page, ...rows[0] });
    await store.close();
    await sql.close();
  } finally {
    await dropDatabase(serverUrl, name);
  }
}

await main();
