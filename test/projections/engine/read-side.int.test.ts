import { sleep } from '../../../src/eventstore/sleep.js';
import { sql } from 'kysely';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { TesseraError } from '../../../src/errors.js';
import { createKysely } from '../../../src/db/kysely.js';
import { applySteps } from '../../../src/projections/engine/apply-batch.js';
import { eventually } from '../../support/poll.js';
import { registerProjectionMetrics } from '../../../src/projections/engine/metrics.js';
import { comparePositions, type Position } from '../../../src/eventstore/event-store.js';
import { uniqueStream } from '../../support/events.js';
import { onEveryDialect, type ReadModelDatabase } from '../../support/read-model-databases.js';
import { TALLY_TABLES_DDL, tallied, tallyContents, tallyProjection } from '../../support/tally-projection.js';
import { appendAll, ledgerEvent, testLedger } from '../../support/ledger-events.js';
import { trialBalance } from '../../../src/projections/ledger/queries.js';
import { createScratchSchema, ProjectionTableError } from '../../../src/projections/engine/scratch-schema.js';
import { defineProjection, type Projection } from '../../../src/projections/engine/projection.js';

const raise = (): never => {
  throw new Error('tally handler failed');
};

/** Appends `count` Tallied events of `amount` spread over `streams` streams; returns the last position. */
async function appendTallies(db: ReadModelDatabase, count: number, streams = 3, amount = 5): Promise<Position> {
  const names = Array.from({ length: streams }, () => uniqueStream('tally'));
  let last: Position | undefined;
  for (let i = 0; i < count; i++) {
    ({ position: last } = await db.store.append(names[i % streams]!, [tallied(amount)], { expected: 'any' }));
  }
  return last!;
}

onEveryDialect('the read side runs projections', (open) => {
  let db: ReadModelDatabase;
  beforeEach(async () => {
    db = await open();
    await db.sql.exec(TALLY_TABLES_DDL);
  });
  afterEach(() => db.close());

  it('applies events to the read model and commits its checkpoint with the rows', async () => {
    const position = await appendTallies(db, 12, 3, 7);
    await db.store.append(uniqueStream('other'), [{ ...tallied(1), type: 'SomethingElse' }], { expected: 'no_stream' });
    const readSide = db.readSide({ projections: [tallyProjection()] });
    await readSide.start();
    expect(await readSide.waitFor('tally', position, 10_000)).toBe(true);
    const contents = await tallyContents(readSide.db);
    expect(contents.amounts).toEqual([{ currency: 'USD', total: String(12 * 7) }]);
    expect(contents.streams.map((s) => s.events)).toEqual(['4', '4', '4']);
    const [status] = await readSide.status();
    expect(status).toMatchObject({ name: 'tally', state: 'active', storedVersion: 1, consecutiveFailures: 0 });
    expect(status!.processed).toBeGreaterThanOrEqual(12);
  });

  it('answers waitFor with false when the projection does not reach the position in time', async () => {
    const position = await appendTallies(db, 1);
    const readSide = db.readSide({ projections: [tallyProjection()] });
    expect(await readSide.waitFor('tally', position, 60)).toBe(false);
    await expect(readSide.waitFor('nope', position, 10)).rejects.toMatchObject({ code: 'PROJECTION_NOT_FOUND', status: 404 });
    await expect(readSide.rebuild(['tally', 'nope'])).rejects.toMatchObject({ code: 'PROJECTION_NOT_FOUND' });
  });

  it('lets a process that does not run a projection wait for another process to reach a position', async () => {
    const running = db.readSide({ projections: [tallyProjection()] });
    const asking = db.readSide({ projections: [tallyProjection()] }, db.peer());
    const position = await appendTallies(db, 5);
    const reached = asking.waitFor('tally', position, 10_000);
    await running.start();
    expect(await reached).toBe(true);
  });

  it('runs each projection in one process at a time, so nothing is applied twice', async () => {
    const first = db.readSide({ projections: [tallyProjection()] });
    const second = db.readSide({ projections: [tallyProjection()] }, db.peer());
    await Promise.all([first.start(), second.start()]);
    const position = await appendTallies(db, 30, 5, 1);
    expect(await first.waitFor('tally', position, 10_000)).toBe(true);
    const states = [(await first.status())[0]!.state, (await second.status())[0]!.state].sort();
    expect(states).toEqual(['active', 'standby']);
    await first.stop();
    const more = await appendTallies(db, 10, 2, 1);
    expect(await second.waitFor('tally', more, 10_000)).toBe(true);
    expect((await tallyContents(second.db)).amounts).toEqual([{ currency: 'USD', total: '40' }]);
  });

  it('keeps nothing of a batch that fails half-way, reports the failure, and ends as an uninterrupted run would', async () => {
    let failures = 3;
    const flaky = tallyProjection({
      midBatch: () => {
        if (failures > 0) {
          failures--;
          throw new Error('projector crashed mid-batch');
        }
      },
    });
    const position = await appendTallies(db, 25, 4, 3);
    const readSide = db.readSide({ projections: [flaky], retryInitialMs: 40, retryMaxMs: 40 });
    await readSide.start();
    await expect.poll(async () => (await readSide.status())[0]!.consecutiveFailures, { timeout: 5000, interval: 5 }).toBeGreaterThan(0);
    const failing = (await readSide.status())[0]!;
    expect(failing.lastError).toBe('projector crashed mid-batch');
    // The batch's first write never became visible, and the checkpoint did not move.
    if (failures > 0) expect(failing.checkpoint).toBeNull();
    expect(await readSide.waitFor('tally', position, 10_000)).toBe(true);

    const reference = await open();
    try {
      await reference.sql.exec(TALLY_TABLES_DDL);
      let copied: Position | undefined;
      for (const e of await db.store.readAll({ maxCount: 1000 })) ({ position: copied } = await reference.store.append(e.streamId, [e], { expected: 'any' }));
      const uninterrupted = reference.readSide({ projections: [tallyProjection()] });
      await uninterrupted.start();
      expect(await uninterrupted.waitFor('tally', copied!, 10_000)).toBe(true);
      expect(await tallyContents(readSide.db)).toEqual(await tallyContents(uninterrupted.db));
    } finally {
      await reference.close();
    }
    expect((await readSide.verify()).ok).toBe(true);
  });

  it('reports lag in events and seconds while a projection is behind, and none once it caught up', async () => {
    const readSide = db.readSide({ projections: [tallyProjection()] });
    const position = await appendTallies(db, 6);
    const [behind] = await readSide.status();
    expect(behind).toMatchObject({ state: 'stopped', checkpoint: null, lagEvents: 6 });
    expect(behind!.lagSeconds).toBeGreaterThanOrEqual(0);
    await readSide.start();
    expect(await readSide.waitFor('tally', position, 10_000)).toBe(true);
    // (behind.head may lag the appends while another suite's transaction is open; this one does not.)
    expect(await readSide.status()).toMatchObject([{ lagEvents: 0, lagSeconds: 0, head: `${position.commit}/${position.prepare}` }]);
  });

  it('reports a projection held up behind an appending transaction still open as lagging, not caught up', async (context) => {
    if (db.sql.dialect === 'pglite') return context.skip(); // one session: no other transaction can be open
    const readSide = db.readSide({ projections: [tallyProjection()] });
    await readSide.start();
    expect(await readSide.waitFor('tally', await appendTallies(db, 1), 10_000)).toBe(true);
    const open = await db.sql.pool.connect();
    try {
      // A transaction about to append (it holds the event table): what it writes must come first.
      await open.query('BEGIN');
      await open.query('LOCK TABLE tessera_events IN ROW EXCLUSIVE MODE');
      await open.query('SELECT pg_current_xact_id()');
      const position = await appendTallies(db, 6);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const [held] = await readSide.status();
      expect(held!.lagEvents).toBeGreaterThanOrEqual(6);
      expect(held!.lagSeconds).toBeGreaterThan(0);
      await open.query('ROLLBACK');
      expect(await readSide.waitFor('tally', position, 10_000)).toBe(true);
    } finally {
      open.release();
    }
    // Caught up once nothing hides the events any more (another suite's transaction may still).
    await expect.poll(async () => (await readSide.status())[0]!.lagEvents, { timeout: 10_000 }).toBe(0);
  });

  it('exposes lag, activity and throughput per projection as Prometheus metrics', async () => {
    const readSide = db.readSide({ projections: [tallyProjection()] });
    const registry = new Registry();
    const unsubscribe = registerProjectionMetrics(registry, readSide);
    const appended = await appendTallies(db, 4);
    // The head reaches the new events once no older transaction on the server is still open.
    await expect.poll(() => registry.metrics(), { timeout: 5000, interval: 100 }).toContain('tessera_projection_lag_events{projection="tally"} 4');
    const before = await registry.metrics();
    expect(before).toContain('tessera_projection_active{projection="tally"} 0');
    await readSide.start();
    expect(await readSide.waitFor('tally', appended, 10_000)).toBe(true);
    // Scrapes share a status for a second; poll until a fresh one answers.
    await expect.poll(() => registry.metrics(), { timeout: 5000, interval: 100 }).toContain('tessera_projection_lag_events{projection="tally"} 0');
    const after = await registry.metrics();
    expect(after).toContain('tessera_projection_lag_seconds{projection="tally"} 0');
    expect(after).toContain('tessera_projection_active{projection="tally"} 1');
    expect(after).toContain('tessera_projection_events_total{projection="tally"} 4');
    expect(after).toMatch(/tessera_projection_batch_duration_seconds_count\{projection="tally"\} [1-4]\n/);
    unsubscribe();
  });

  it('rebuilds a projection whose version went up before running it, and leaves a newer one alone', async () => {
    const position = await appendTallies(db, 8, 2, 10);
    const v1 = db.readSide({ projections: [tallyProjection()] });
    await v1.start();
    expect(await v1.waitFor('tally', position, 10_000)).toBe(true);
    await v1.stop();

    const v2 = db.readSide({ projections: [tallyProjection({ version: 2, factor: 3 })] });
    await v2.start();
    await expect.poll(async () => (await v2.status())[0]!.storedVersion, { timeout: 10_000 }).toBe(2);
    expect(await v2.waitFor('tally', position, 10_000)).toBe(true);
    expect((await tallyContents(v2.db)).amounts).toEqual([{ currency: 'USD', total: '240' }]);
    await v2.stop();

    const stale = db.readSide({ projections: [tallyProjection({ version: 1 })] });
    await stale.start();
    const [status] = await stale.status();
    expect(status).toMatchObject({ state: 'outdated', version: 1, storedVersion: 2 });
    expect(status!.lastError).toMatch(/version 2/);
  });

  it('stops an older runner still running when newer code in another process rebuilds its tables (a rolling deploy)', async () => {
    const old = db.readSide({ projections: [tallyProjection({ version: 1, factor: 1 })] });
    await old.start();
    const before = await appendTallies(db, 5, 1, 1);
    expect(await old.waitFor('tally', before, 10_000)).toBe(true);

    const fresh = db.readSide({ projections: [tallyProjection({ version: 2, factor: 10 })] }, db.peer());
    await fresh.start();
    await expect.poll(async () => (await fresh.status())[0]!.storedVersion, { timeout: 10_000 }).toBe(2);
    const after = await appendTallies(db, 5, 1, 1);
    expect(await fresh.waitFor('tally', after, 10_000)).toBe(true);
    // Every event counted by version 2's rule (x10), none by version 1's, however the lock moved.
    expect((await tallyContents(fresh.db)).amounts).toEqual([{ currency: 'USD', total: '100' }]);
    await expect.poll(async () => (await old.status())[0]!.state, { timeout: 10_000 }).toBe('outdated');
    expect((await old.status())[0]!.lastError).toMatch(/version 2/);
    await fresh.stop();
    await old.stop();
  });

  it('refuses projections that share a table or a name', () => {
    expect(() => db.readSide({ projections: [tallyProjection(), tallyProjection({ name: 'tally-2' })] })).toThrow(/claimed by/);
    expect(() => db.readSide({ projections: [tallyProjection(), tallyProjection()] })).toThrow(/two projections/);
  });

  it('rebuilds beside the live tables while events keep coming, and queries never see a half-built model', async () => {
    // Waits use the appends' own positions: the store's head lags while any transaction on the
    // server (another test's) runs, and a reader would then see fewer than the 120 first events.
    let lastWritten = await appendTallies(db, 120, 6, 1);
    const readSide = db.readSide({ projections: [tallyProjection()], rebuildBatchSize: 10 });
    await readSide.start();
    expect(await readSide.waitFor('tally', lastWritten, 10_000)).toBe(true);

    let writing = true;
    let written = 120;
    const writer = (async () => {
      while (writing) {
        lastWritten = await appendTallies(db, 1, 1, 1);
        written++;
        // A pause between appends: on PGlite, whose single session runs each query on this
        // thread, an append loop without one leaves the rebuild a sliver of the database.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const seen: number[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const { rows } = await sql<{ total: string | null }>`SELECT sum(total)::text AS total FROM tally_amounts`.execute(readSide.db);
        seen.push(Number(rows[0]?.total ?? 0));
        // PGlite answers without I/O; without this the loop would starve every timer.
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const phases = new Set<string>();
    const report = await readSide.rebuild('tally', (progress) => phases.add(progress.phase));
    writing = false;
    await writer;
    reading = false;
    await reader;

    expect([...phases]).toEqual(['preparing', 'replaying', 'indexing', 'catching-up', 'swapping', 'done']);
    expect(report.projections).toMatchObject([{ name: 'tally', version: 1 }]);
    expect(report.events).toBeGreaterThanOrEqual(120);
    // Sums only ever grew: no reader saw an empty or partly replayed table.
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((total, i) => total >= 120 && (i === 0 || total >= seen[i - 1]!))).toBe(true);
    // The runner resumed from the swapped-in checkpoint and lost none of the events written meanwhile.
    expect(await readSide.waitFor('tally', lastWritten, 10_000)).toBe(true);
    expect((await tallyContents(readSide.db)).amounts).toEqual([{ currency: 'USD', total: String(written) }]);
    expect((await readSide.verify()).ok).toBe(true);

    const { rows: indexes } = await sql<{ name: string }>`
      SELECT indexname AS name FROM pg_indexes WHERE tablename IN ('tally_streams', 'tally_amounts') AND schemaname = current_schema() ORDER BY 1`.execute(readSide.db);
    expect(indexes.map((i) => i.name)).toEqual(['tally_amounts_pkey', 'tally_streams_last_revision_idx', 'tally_streams_pkey']);
    const { rows: leftovers } = await sql<{ name: string }>`
      SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE current_schema() || '\\_%'`.execute(readSide.db);
    expect(leftovers).toEqual([]);
  });

  it('ends a rebuild that appends outpace, leaving what came after its last pass to the live runner', async (context) => {
    if (db.dialect === 'pglite') context.skip(); // one session: appends and replay take turns there
    await appendTallies(db, 50, 5, 1);
    const readSide = db.readSide({ projections: [tallyProjection()], rebuildBatchSize: 2 });
    await readSide.start();
    let writing = true;
    let written = 50;
    let last: Position | undefined;
    const writers = Array.from({ length: 2 }, async () => {
      const peer = db.peer();
      while (writing) {
        ({ position: last } = await peer.store.append(uniqueStream('tally'), [tallied(1)], { expected: 'any' }));
        written++;
      }
    });
    const report = await readSide.rebuild('tally');
    writing = false;
    await Promise.all(writers);
    // It counted the events it applied, up to the checkpoint it swapped in, none past it.
    const [commit, prepare] = report.projections[0]!.checkpoint!.split('/');
    const { rows } = await db.sql.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM tessera_events WHERE (transaction_id, position) <= ($1::text::xid8, $2::bigint)',
      [commit, prepare],
    );
    expect(report.events).toBe(Number(rows[0]!.n));
    expect(report.events).toBeGreaterThanOrEqual(50);
    expect(await readSide.waitFor('tally', last!, 10_000)).toBe(true);
    expect((await tallyContents(readSide.db)).amounts).toEqual([{ currency: 'USD', total: String(written) }]);
  });

  it('rebuilds while stopped, from nothing, and with an empty history', async () => {
    const readSide = db.readSide({ projections: [tallyProjection()] });
    const empty = await readSide.rebuild();
    expect(empty).toMatchObject({ events: 0, projections: [{ name: 'tally', checkpoint: null }] });
    const position = await appendTallies(db, 9, 3, 2);
    // A rebuild goes up to the head, which lags while another session's transaction is open.
    await expect.poll(async () => { const head = await db.store.headPosition(); return head !== null && comparePositions(head, position) >= 0; }, { timeout: 10_000 }).toBe(true);
    // A name given twice is the one projection, rebuilt once.
    const report = await readSide.rebuild(['tally', 'tally']);
    expect(report.projections.map((p) => p.name)).toEqual(['tally']);
    expect(report.projections[0]!.checkpoint).toBe(`${position.commit}/${position.prepare}`);
    expect((await tallyContents(readSide.db)).amounts).toEqual([{ currency: 'USD', total: '18' }]);
  });

  it("drops the scratch schemas a killed rebuild or verify of the same projections left behind, and no other projection's or installation's", async () => {
    const readSide = db.readSide({ projections: [tallyProjection()] });
    const other = defineProjection({ name: 'other', version: 1, tables: ['other_rows'], handle: () => Promise.resolve() });
    await db.sql.exec('CREATE TABLE other_rows (id text PRIMARY KEY)');
    // What a rebuild of tally and a verify of another projection leave when their process dies.
    const killed = await createScratchSchema(readSide.db, [tallyProjection()], 'rebuild', { logged: true });
    const elsewhere = await createScratchSchema(readSide.db, [other], 'verify');
    // A rebuild of tally running for another installation whose schema name starts like this one's.
    const live = (await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(readSide.db)).rows[0]!.schema;
    const neighbour = `${live.slice(0, 30)}_eu_rebuild_0123abcd`;
    await db.sql.exec(`CREATE SCHEMA "${neighbour}"; CREATE TABLE "${neighbour}".tally_amounts (currency text);
      COMMENT ON SCHEMA "${neighbour}" IS 'tessera scratch schema of ${live}_eu'`);
    const schemas = async () =>
      (await sql<{ name: string }>`SELECT nspname AS name FROM pg_namespace WHERE nspname IN (${killed.schema}, ${elsewhere.schema}, ${neighbour})`.execute(readSide.db)).rows.map(
        (r) => r.name,
      );
    expect(await schemas()).toHaveLength(3);
    await readSide.rebuild('tally');
    expect((await schemas()).sort()).toEqual([elsewhere.schema, neighbour].sort());
    await db.sql.exec(`DROP SCHEMA "${neighbour}" CASCADE`);
  });

  it('lets one rebuild or verify at a time work on a projection, across processes', async () => {
    await appendTallies(db, 40, 2, 1);
    // Each page takes a while, so the rebuild is still going when the others ask.
    const slow: Projection = { ...tallyProjection(), handle: async (events, trx, batch) => (await sleep(20), tallyProjection().handle(events, trx, batch)) };
    const here = db.readSide({ projections: [slow], rebuildBatchSize: 5 });
    const there = db.readSide({ projections: [tallyProjection()] }, db.peer());
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const first = here.rebuild('tally', (p) => p.phase === 'replaying' && started());
    await running;
    const refused = await there.rebuild('tally').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(TesseraError);
    expect(refused).toMatchObject({ code: 'REBUILD_IN_PROGRESS', status: 409 });
    await expect(here.verify()).rejects.toMatchObject({ code: 'REBUILD_IN_PROGRESS' });
    await first;
    expect((await there.verify()).ok).toBe(true);
  });

  it('refuses to rebuild tables a swap would break, and leaves them as they were', async () => {
    await db.sql.exec(`CREATE VIEW tally_view AS SELECT * FROM tally_amounts`);
    await appendTallies(db, 3);
    const readSide = db.readSide({ projections: [tallyProjection()] });
    await expect(readSide.rebuild('tally')).rejects.toThrow(/tally_amounts cannot be rebuilt beside itself: it has dependent view tally_view/);
    await db.sql.exec(`DROP VIEW tally_view; ALTER INDEX tally_streams_last_revision_idx RENAME TO custom_name`);
    await expect(readSide.rebuild('tally')).rejects.toThrow(/indexes \[custom_name, tally_streams_pkey\] must carry PostgreSQL's default names/);
    expect((await readSide.status())[0]!.checkpoint).toBeNull();
  });

  it('rebuilds several projections in one pass over history, each in transactions of its own', async () => {
    await appendTallies(db, 30, 3, 2);
    await appendAll(db, [ledgerEvent('PayoutSent', { venueId: 'v1', currency: 'EUR', amount: 70 })]);
    const readSide = db.readSide({ projections: [tallyProjection(), testLedger()], rebuildBatchSize: 7 });
    await readSide.start();
    const pages: number[] = [];
    const report = await readSide.rebuild(undefined, (p) => p.phase === 'replaying' && pages.push(p.events));
    expect(report.projections.map((p) => p.name)).toEqual(['tally', 'ledger']);
    expect(report.events).toBe(31);
    expect(Math.max(...pages)).toBeLessThanOrEqual(31);
    expect((await tallyContents(readSide.db)).amounts).toEqual([{ currency: 'USD', total: '60' }]);
    expect((await trialBalance(readSide.db)).currencies).toMatchObject([{ currency: 'EUR', debits: 70n, credits: 70n }]);
    const statuses = await readSide.status();
    expect(statuses.map((s) => [s.name, s.checkpoint])).toEqual([
      ['tally', report.projections[0]!.checkpoint],
      ['ledger', report.projections[1]!.checkpoint],
    ]);
  });

  it('reads each page of history once for all projections, a quick one running at most two pages ahead of a slow one', async () => {
    await appendTallies(db, 60, 3, 1);
    let reads = 0;
    const store = { ...db.store, readAll: (options: Parameters<typeof db.store.readAll>[0]) => (reads++, db.store.readAll(options)) };
    const applied = { slow: 0, quick: 0 };
    let widestLead = 0;
    const counting = (name: 'slow' | 'quick', projection: Projection): Projection => ({
      ...projection,
      handle: async (events, trx, batch) => {
        if (name === 'slow') await new Promise((resolve) => setTimeout(resolve, 15));
        await projection.handle(events, trx, batch);
        applied[name]++;
        widestLead = Math.max(widestLead, applied.quick - applied.slow);
      },
    });
    const readSide = db.readSide({ projections: [counting('slow', tallyProjection()), counting('quick', testLedger())], rebuildBatchSize: 5, store });
    const report = await readSide.rebuild();
    expect(report.events).toBe(60);
    expect(applied).toEqual({ slow: 12, quick: 12 });
    expect(reads).toBe(12);
    expect(widestLead).toBeGreaterThan(0);
    expect(widestLead).toBeLessThanOrEqual(2);
    expect((await tallyContents(readSide.db)).amounts).toEqual([{ currency: 'USD', total: '60' }]);
  });

  it('stops the whole replay when one projection fails, swaps nothing in, and rebuilds once the fault is gone', async () => {
    const position = await appendTallies(db, 40, 4, 1);
    let failing = true;
    const readSide = db.readSide({
      projections: [tallyProjection({ midBatch: (events) => void (failing && events.some((e) => e.revision === 6) && raise()) }), testLedger()],
      rebuildBatchSize: 4,
    });
    await readSide.start();
    failing = false;
    expect(await readSide.waitFor('tally', position, 10_000)).toBe(true);
    failing = true;
    await expect(readSide.rebuild()).rejects.toThrow('tally handler failed');
    const { rows } = await sql<{ n: string }>`SELECT count(*)::text AS n FROM pg_namespace WHERE nspname LIKE '%rebuild%'`.execute(readSide.db);
    expect(rows[0]!.n).toBe('0');
    expect((await tallyContents(readSide.db)).amounts).toEqual([{ currency: 'USD', total: '40' }]);
    failing = false;
    expect((await readSide.rebuild()).events).toBe(40);
    expect((await tallyContents(readSide.db)).amounts).toEqual([{ currency: 'USD', total: '40' }]);
  });

  it('refuses a projection that defers an index its tables do not have', async () => {
    const readSide = db.readSide({ projections: [{ ...tallyProjection(), indexesBuiltAfterReplay: ['tally_nope_idx'] }] });
    await expect(readSide.rebuild('tally')).rejects.toBeInstanceOf(ProjectionTableError);
  });

  it('verifies a live model against its rebuild and pins down every row that was changed by hand', async () => {
    const readSide = db.readSide({ projections: [tallyProjection()] });
    await readSide.start();
    const position = await appendTallies(db, 12, 3, 4);
    const solo = await db.store.append('tally-solo', [tallied(1, 'EUR')], { expected: 'no_stream' });
    expect(await readSide.waitFor('tally', solo.position, 10_000)).toBe(true);
    const clean = await readSide.verify();
    expect(clean.ok).toBe(true);
    expect(clean.projections[0]!.tables.map((t) => [t.table, t.liveRows, t.rebuiltRows, t.ok])).toEqual([
      ['tally_streams', 4, 4, true],
      ['tally_amounts', 2, 2, true],
    ]);
    expect(position).toBeDefined();

    await db.sql.exec(`UPDATE tally_amounts SET total = total + 1 WHERE currency = 'USD';
      DELETE FROM tally_streams WHERE stream_id = 'tally-solo';
      INSERT INTO tally_amounts (currency, total) VALUES ('GBP', 5)`);
    const report = await readSide.verify();
    expect(report.ok).toBe(false);
    const [streams, amounts] = report.projections[0]!.tables;
    expect(streams).toMatchObject({ ok: false, counts: { missing: 1, extra: 0, differing: 0 }, missing: [{ stream_id: 'tally-solo', events: 1 }] });
    expect(amounts).toMatchObject({
      ok: false,
      keyColumns: ['currency'],
      counts: { missing: 0, extra: 1, differing: 1 },
      extra: [{ currency: 'GBP', total: 5 }],
      differing: [{ key: { currency: 'USD' }, columns: ['total'], live: { total: 49 }, rebuilt: { total: 48 } }],
    });
    // Verify changed nothing live and left the projection running.
    expect((await tallyContents(readSide.db)).amounts).toContainEqual({ currency: 'GBP', total: '5' });
    const more = await appendTallies(db, 1);
    expect(await readSide.waitFor('tally', more, 10_000)).toBe(true);
  });

  it('verifies at one consistent instant while another process keeps projecting', async (context) => {
    if (db.dialect === 'pglite') context.skip(); // one process per PGlite database: nothing else can project
    const elsewhere = db.readSide({ projections: [tallyProjection()] }, db.peer());
    await elsewhere.start();
    const here = db.readSide({ projections: [tallyProjection()], rebuildBatchSize: 5 });
    let writing = true;
    const writer = (async () => {
      while (writing) await appendTallies(db, 3, 3, 1);
    })();
    try {
      await appendTallies(db, 60, 4, 1);
      for (let round = 0; round < 3; round++) {
        const report = await here.verify();
        expect(report.ok, JSON.stringify(report.projections[0]?.tables)).toBe(true);
      }
    } finally {
      writing = false;
      await writer;
    }
  });

  it('tries the swap again when a query holds a live table longer than the swap waits', async (context) => {
    const sqlClient = db.sql;
    if (sqlClient.dialect === 'pglite') return context.skip(); // one session: nothing else can hold a lock
    const position = await appendTallies(db, 10, 2, 3);
    const blocker = await sqlClient.pool.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE tally_amounts IN ACCESS SHARE MODE');
    const readSide = db.readSide({ projections: [tallyProjection()], swapLockTimeoutMs: 30 });
    const phases: string[] = [];
    let released: Promise<unknown> | undefined;
    try {
      await readSide.rebuild('tally', ({ phase }) => {
        phases.push(phase);
        // A second catch-up means the first swap gave up: let the next one through.
        if (phase === 'catching-up' && phases.filter((p) => p === 'catching-up').length === 2) released = blocker.query('ROLLBACK');
      });
    } finally {
      await (released ?? blocker.query('ROLLBACK'));
      blocker.release();
    }
    expect(phases.filter((p) => p === 'swapping').length).toBeGreaterThanOrEqual(2);
    await readSide.start();
    expect(await readSide.waitFor('tally', position, 10_000)).toBe(true);
    expect((await tallyContents(readSide.db)).amounts).toEqual([{ currency: 'USD', total: '30' }]);
  });

  it("swaps a rebuild in while a runner elsewhere is in its very first batch (no checkpoint row to lock yet)", async (context) => {
    if (db.sql.dialect === 'pglite') return context.skip(); // one session: no other process writes
    const position = await appendTallies(db, 3, 3, 1);
    const events = await eventually(async () => {
      const read = await db.store.readAll({ after: 'start', maxCount: 10 });
      return read.length === 3 ? read : undefined;
    }, { timeoutMs: 15_000 });
    let entered!: () => void;
    const inBatch = new Promise<void>((resolve) => (entered = resolve));
    const slow = tallyProjection({
      midBatch: async () => {
        entered();
        await new Promise((resolve) => setTimeout(resolve, 400));
      },
    });
    const batch = applySteps(createKysely<object>(db.peer().sql), [{ projection: slow, events, previous: null, next: position }]);
    await inBatch;
    const here = db.readSide({ projections: [tallyProjection()], swapLockTimeoutMs: 5000 });
    const [, rebuilt] = await Promise.allSettled([batch, here.rebuild('tally')]);
    expect(rebuilt.status).toBe('fulfilled');
    await here.start();
    expect(await here.waitFor('tally', position, 10_000)).toBe(true);
    expect((await tallyContents(here.db)).amounts).toEqual([{ currency: 'USD', total: '3' }]);
  });

  it('swaps a rebuild in while another process is writing batches to the live tables, without a deadlock', async (context) => {
    if (db.sql.dialect === 'pglite') return context.skip(); // one session: no other process writes
    // The live runner elsewhere writes tally_streams, then (a moment later) tally_amounts, while
    // the swap locks both tables: taken in the other order, the two would wait on each other.
    const slow = tallyProjection({ midBatch: () => new Promise((resolve) => setTimeout(resolve, 15)) });
    const elsewhere = db.readSide({ projections: [slow], batchSize: 3, idleWaitMs: 1 }, db.peer());
    await elsewhere.start();
    const here = db.readSide({ projections: [tallyProjection()], swapLockTimeoutMs: 3000 });
    let writing = true;
    let written = 0;
    let last: Position | undefined;
    const writer = (async () => {
      const peer = db.peer();
      while (writing) {
        ({ position: last } = await peer.store.append(uniqueStream('tally'), [tallied(1)], { expected: 'any' }));
        written++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    try {
      for (let i = 0; i < 6; i++) await here.rebuild('tally');
    } finally {
      writing = false;
      await writer;
    }
    expect(await elsewhere.waitFor('tally', last!, 20_000)).toBe(true);
    expect((await tallyContents(here.db)).amounts).toEqual([{ currency: 'USD', total: String(written) }]);
    await elsewhere.stop();
  });
});
