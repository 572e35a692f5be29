/**
 * npm run bench:replay [-- --events N] [--page N]
 *
 * How fast Tessera rebuilds every read model from history on PostgreSQL (issue 5's target:
 * 1,000,000 events at 50,000 events/s or more, peak RSS under 300 MB).
 *
 * 1. Generates purchase-shaped history (bench/history.ts) straight into the events table of a
 *    fresh database with multi-row INSERT ... SELECT: the events of 420 real payments, decided by
 *    the Payment decider (purchases captured, a third refunded in part, a third in full, some
 *    refunds refused), are the templates; each generated payment copies one with a payment id of
 *    its own and one of 300 venues, so every event is valid for the real projections.
 * 2. scan: reads all of `$all` with the event store's readAll in pages of the rebuild's size,
 *    applying nothing: the rate a rebuild cannot beat.
 * 3. rebuild: rebuilds every projection in src/projections/all.ts beside its live tables and
 *    swaps the copies in, exactly as `tessera replay` does.
 * Prints one JSON line per measurement (events/s, Node and PostgreSQL CPU seconds, peak RSS from
 * sampling process.memoryUsage().rss and from resourceUsage().maxRSS) and one with the ratio of
 * rebuild to scan. With --each, each projection is then rebuilt alone too. Settings: --events
 * (default 1,000,000), --page (default
 * PROJECTION_REBUILD_BATCH_SIZE's default), BENCH_DATABASE_URL (else DATABASE_URL, else the local
 * server), BENCH_KEEP=1 keeps the database.
 */
import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { sql as raw } from 'kysely';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { connectPostgres, quoteIdentifier, quoteLiteral, sqlErrorInfo, type PostgresSqlClient } from '../src/db/sql-client.js';
import type { Position } from '../src/eventstore/event-store.js';
import { createPostgresEventStore } from '../src/eventstore/postgres.js';
import { createLogger } from '../src/logger.js';
import { projections } from '../src/projections/all.js';
import { createReadSide } from '../src/projections/engine/read-side.js';
import { dropDatabase, freshDatabase, round, serverCpuBetween, serverCpuSeconds } from './harness.js';
import { generateHistory } from './history.js';

const { values } = parseArgs({ options: { events: { type: 'string' }, page: { type: 'string' }, each: { type: 'boolean' } } });
const target = Number(values.events ?? 1_000_000);
const page = Number(values.page ?? loadConfig({}).PROJECTION_REBUILD_BATCH_SIZE);
const serverUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `tessera_bench_replay_${process.pid}`;

/** Runs `work`, measuring wall time, this process's CPU, the server's CPU and the peak RSS. */
async function measure<T>(sql: PostgresSqlClient, work: () => Promise<T>) {
  let sampledPeak = process.memoryUsage().rss;
  const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, process.memoryUsage().rss)), 20);
  const serverBefore = await serverCpuSeconds(sql);
  const cpu = process.cpuUsage();
  const started = performance.now();
  try {
    const result = await work();
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const serverAfter = await serverCpuSeconds(sql);
    return {
      result,
      seconds,
      nodeCpuSeconds: round((used.user + used.system) / 1e6, 2),
      postgresCpuSeconds: serverCpuBetween(serverBefore, serverAfter),
      peakRssMb: round(Math.max(sampledPeak, process.memoryUsage().rss) / 2 ** 20, 0),
      maxRssMb: round(process.resourceUsage().maxRSS / 1024, 0),
    };
  } finally {
    clearInterval(sampler);
  }
}

async function main(): Promise<void> {
  const url = await freshDatabase(serverUrl, name);
  // Connections stay open: the server's CPU is read per connection, and one closed while idle would take its share with it.
  const sql = connectPostgres({ url, poolSize: 4, idleTimeoutMs: 0 });
  try {
    await migrate(sql);
    const generated = await measure(sql, () => generateHistory(sql, target));
    const { events, payments } = generated.result;
    console.log(JSON.stringify({ bench: 'replay', measure: 'generate', events, payments, seconds: round(generated.seconds, 1) }));
    const store = createPostgresEventStore(sql);
    // Open the pool's connections first, so their server processes are there to be measured.
    await Promise.all(Array.from({ length: 4 }, () => sql.query('SELECT pg_sleep(0.05)')));

    const scan = await measure(sql, async () => {
      let scanned = 0;
      for (let after: Position | 'start' = 'start'; ; ) {
        const batch = await store.readAll({ after, maxCount: page });
        if (batch.length === 0) return scanned;
        scanned += batch.length;
        after = batch[batch.length - 1]!.position;
      }
    });
    const { result: scanned, ...scanFigures } = scan;
    const scanRate = scanned / scan.seconds;
    console.log(JSON.stringify({ bench: 'replay', measure: 'scan $all', page, events: scanned, eventsPerSecond: round(scanRate, 0), ...rounded(scanFigures) }));

    const readSide = createReadSide({ sql, store, logger: createLogger({ level: 'warn' }), projections, rebuildBatchSize: page });
    // Seconds spent in each phase: replaying history, then making the copies durable and indexed.
    const phases: Record<string, number> = {};
    let phase = { name: 'preparing', since: performance.now() };
    const rebuild = await measure(sql, () =>
      readSide.rebuild(undefined, (progress) => {
        if (progress.phase === phase.name) return;
        phases[phase.name] = round((performance.now() - phase.since) / 1000, 2);
        phase = { name: progress.phase, since: performance.now() };
      }),
    );
    const { result: report, ...rebuildFigures } = rebuild;
    const rebuildRate = report.events / rebuild.seconds;
    const { rows } = await raw<{ entries: string; postings: string; balances: string }>`
      SELECT (SELECT count(*) FROM ledger_entries)::text AS entries, (SELECT count(*) FROM ledger_postings)::text AS postings,
             (SELECT count(*) FROM ledger_balances)::text AS balances`.execute(readSide.db);
    console.log(
      JSON.stringify({
        bench: 'replay',
        measure: 'rebuild',
        projections: report.projections.map((p) => p.name),
        page,
        events: report.events,
        eventsPerSecond: round(rebuildRate, 0),
        ...rounded(rebuildFigures),
        phases,
        ledger: rows[0],
      }),
    );
    console.log(
      JSON.stringify({
        bench: 'replay',
        ratio: 'rebuild / scan',
        eventsPerSecond: round(rebuildRate / scanRate, 3),
        targets: { eventsPerSecond: 50_000, met: rebuildRate >= 50_000, peakRssMb: 300, rssMet: Math.max(rebuild.peakRssMb, rebuild.maxRssMb) < 300 },
      }),
    );
    // The floor: the server storing the rebuild's rows and indexes by itself, nothing from this process.
    const floor = await storeFloor(sql, [...new Set(projections.flatMap((p) => p.tables))]);
    if (floor) {
      const { result: floorRows, ...floorFigures } = floor;
      const cores = availableParallelism();
      // Only where the server's CPU was read (its processes are on this machine): otherwise the
      // ceiling would rest on this process's CPU alone.
      const serverCpu = scan.postgresCpuSeconds === null || floor.postgresCpuSeconds === null ? null : scan.postgresCpuSeconds + floor.postgresCpuSeconds;
      const ceiling =
        serverCpu === null
          ? { cores, eventsPerSecond: null, why: "the server's CPU could not be read here (its processes are not on this machine)" }
          : { cores, eventsPerSecond: round(report.events / ((scan.nodeCpuSeconds + serverCpu) / cores), 0) };
      console.log(JSON.stringify({ bench: 'replay', measure: 'store floor', rows: floorRows, ...rounded(floorFigures), ceiling }));
    }
    // --each: what every projection costs alone (one more full pass over history per projection).
    for (const projection of values.each ? projections : []) {
      const alone = await measure(sql, () => readSide.rebuild(projection.name));
      const { result, ...figures } = alone;
      console.log(
        JSON.stringify({ bench: 'replay', measure: `rebuild ${projection.name} alone`, events: result.events, eventsPerSecond: round(result.events / alone.seconds, 0), ...rounded(figures) }),
      );
    }
    await readSide.stop();
    await store.close();
  } finally {
    await sql.close();
    if (!process.env.BENCH_KEEP) await dropDatabase(serverUrl, name);
  }
}

/**
 * The least the server spends storing what a rebuild stores, measured: every rebuilt table is
 * first written to a file of the server's (COPY ... TO, binary; not measured), then loaded into
 * an unindexed copy with COPY ... FROM that file (logged, commits not waited for, as a rebuild's
 * copies), and the table's indexes are built on it, two at a time, each in its own backend (no
 * parallel workers, whose CPU the measurement cannot see). Nothing crosses the wire and nothing
 * is computed, so this is the server's cost alone, less its background writers'. With the scan's,
 * it gives a ceiling for rebuilds that read through `readAll` and store these rows: none can go
 * faster on this machine, however little its projections do. Answers null (and says why) where
 * the server may not write and read its files: that takes a superuser, or both
 * pg_write_server_files and pg_read_server_files. The files are emptied by the server and
 * removed from here, which works when the server runs on this machine, as by default.
 */
async function storeFloor(sql: PostgresSqlClient, tables: readonly string[]) {
  const file = (table: string) => quoteLiteral(`/tmp/${name}_${table}.copy`);
  const live = (table: string) => `public.${quoteIdentifier(table)}`;
  const copy = (table: string) => `bench_floor.${quoteIdentifier(table)}`;
  await sql.exec('DROP SCHEMA IF EXISTS bench_floor CASCADE; CREATE SCHEMA bench_floor');
  const indexes: string[] = [];
  const written: string[] = [];
  try {
    for (const table of tables) {
      await sql.exec(`CREATE TABLE ${copy(table)} (LIKE ${live(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
      await sql.exec(`COPY ${live(table)} TO ${file(table)} WITH (FORMAT binary)`);
      written.push(table);
      const { rows } = await sql.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1`, [table]);
      for (const { indexdef } of rows) indexes.push(indexdef.replace(/^CREATE (UNIQUE )?INDEX \S+ ON public\./, 'CREATE $1INDEX ON bench_floor.'));
    }
    return await measure(sql, async () => {
      let copied = 0;
      for (const table of tables) {
        copied += await sql.transaction(async (tx) => {
          await tx.exec('SET LOCAL synchronous_commit = off');
          return (await tx.query(`COPY ${copy(table)} FROM ${file(table)} WITH (FORMAT binary)`)).rowCount;
        });
      }
      const build = async () => {
        for (let next = indexes.shift(); next !== undefined; next = indexes.shift()) {
          const statement = next;
          await sql.transaction((tx) => tx.exec(`SET LOCAL maintenance_work_mem = '256MB'; SET LOCAL max_parallel_maintenance_workers = 0; ${statement}`));
        }
      };
      await Promise.all([build(), build()]);
      return copied;
    });
  } catch (error) {
    if (sqlErrorInfo(error).code !== '42501') throw error;
    const why = error instanceof Error ? error.message : String(error);
    console.log(JSON.stringify({ bench: 'replay', measure: 'store floor', skipped: `the server may not write and read files here: ${why}` }));
    return null;
  } finally {
    await sql.exec('DROP SCHEMA bench_floor CASCADE');
    for (const table of written) {
      // Emptied by the server, which owns them; then removed, where they are on this machine.
      await sql.exec(`COPY (SELECT WHERE false) TO ${file(table)}`).catch(() => undefined);
      const path = `/tmp/${name}_${table}.copy`;
      await rm(path, { force: true }).catch((error: unknown) => console.error(`could not remove ${path}: ${String(error)}`));
    }
  }
}

const rounded = <T extends { seconds: number }>(figures: T): T => ({ ...figures, seconds: round(figures.seconds, 2) });

await main();
