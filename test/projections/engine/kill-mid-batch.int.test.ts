import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { sql as raw, type Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { SqlClient } from '../../../src/db/sql-client.js';
import { comparePositions, parsePosition, type EventStore } from '../../../src/eventstore/event-store.js';
import { createPgliteEventStore } from '../../../src/eventstore/pglite.js';
import { createPostgresEventStore } from '../../../src/eventstore/postgres.js';
import { projections } from '../../../src/projections/all.js';
import { createReadSide } from '../../../src/projections/engine/read-side.js';
import { freshPgliteDataDir } from '../../support/cli.js';
import { env, freshPostgresSchema } from '../../support/databases.js';
import { eventually } from '../../support/payments.js';
import { appendPurchaseHistory } from '../../support/purchase-history.js';
import { silentLogger } from '../../support/read-model-databases.js';
import { TALLY_TABLES_DDL, tallied, tallyContents, tallyProjection } from '../../support/tally-projection.js';

const STREAMS = 6;
const EVENTS = 300;
const HANG_AT = 3;

async function seed(sql: SqlClient, store: EventStore): Promise<void> {
  await sql.exec(TALLY_TABLES_DDL);
  for (let i = 0; i < EVENTS; i++) await store.append(`tally-${i % STREAMS}`, [tallied(i + 1)], { expected: 'any' });
}

/** Runs the projector in a child process, waits until it is inside a batch, and kills it there. */
async function killMidBatch(childEnv: Record<string, string>): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../../support/projector-process.ts')], {
    env: { ...process.env, ...childEnv, HANG_AT: String(HANG_AT) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('MID-BATCH') && resolve());
    child.once('exit', (code) => reject(new Error(`projector exited (${code}) before reaching the batch`)));
  });
  child.kill('SIGKILL');
  await exited;
}

/** After the kill: nothing of the interrupted batch; after a restart: the same rows as a replay from scratch. */
async function restartAndCompare(sql: SqlClient, store: EventStore): Promise<void> {
  const readSide = createReadSide({ sql, store, logger: silentLogger, projections: [tallyProjection()], batchSize: 50, standbyRetryMs: 30 });
  try {
    const [killed] = await readSide.status();
    const applied = (HANG_AT - 1) * 50;
    expect(killed!.lagEvents).toBe(EVENTS - applied);
    const total = ((applied * (applied + 1)) / 2).toString();
    expect((await tallyContents(readSide.db)).amounts).toEqual([{ currency: 'USD', total }]);

    await readSide.start();
    expect(await readSide.waitFor('tally', (await store.headPosition())!, 20_000)).toBe(true);
    const contents = await tallyContents(readSide.db);
    expect(contents.amounts).toEqual([{ currency: 'USD', total: String((EVENTS * (EVENTS + 1)) / 2) }]);
    expect(contents.streams).toEqual(
      Array.from({ length: STREAMS }, (_, s) => ({ stream_id: `tally-${s}`, events: String(EVENTS / STREAMS), last_revision: String(EVENTS / STREAMS - 1) })),
    );
    // verify replays every event from scratch into a copy: the uninterrupted run, row by row.
    expect((await readSide.verify()).ok).toBe(true);
  } finally {
    await readSide.stop();
  }
}

describe('a projector killed in the middle of a batch', () => {
  it('leaves the embedded database without a trace of that batch, and a restart ends where an uninterrupted run does', async () => {
    const dir = await freshPgliteDataDir();
    try {
      let sql = await dir.open();
      await seed(sql, createPgliteEventStore(sql));
      await sql.close();

      await killMidBatch({ KILL_DIALECT: 'pglite', KILL_DATA_DIR: dir.dataDir });

      sql = await dir.open();
      await restartAndCompare(sql, createPgliteEventStore(sql));
      await sql.close();
    } finally {
      dir.remove();
    }
  }, 60_000);

  it.runIf(env.databaseUrl)('leaves PostgreSQL without a trace of that batch, and a restart ends where an uninterrupted run does', async () => {
    const schema = await freshPostgresSchema(env.databaseUrl!);
    try {
      const sql = schema.connect({ poolSize: 6 });
      const store = createPostgresEventStore(sql);
      await seed(sql, store);
      await killMidBatch({ KILL_DIALECT: 'postgres', DATABASE_URL: env.databaseUrl!, KILL_SCHEMA: schema.schema });
      await restartAndCompare(sql, store);
      await store.close();
    } finally {
      await schema.drop();
    }
  }, 60_000);
});

const PAYMENTS = 60;

/** Every row of every table of Tessera's projections, in a stable order. */
async function contents(db: Kysely<object>): Promise<Record<string, string[]>> {
  const tables: Record<string, string[]> = {};
  for (const table of projections.flatMap((p) => p.tables)) {
    const { rows } = await raw<{ row: string }>`SELECT to_jsonb(t)::text AS row FROM ${raw.table(table)} t ORDER BY 1`.execute(db);
    tables[table] = rows.map((r) => r.row);
  }
  return tables;
}

/**
 * After the kill: no projection has anything of a batch beyond its checkpoint (the ledger's
 * entries say where they come from). After a restart: the same rows as an uninterrupted run,
 * which is a rebuild from scratch of the same events (and verify agrees, row by row).
 */
async function restartRealAndCompare(sql: SqlClient, store: EventStore, events: number): Promise<void> {
  const readSide = createReadSide({ sql, store, logger: silentLogger, projections, batchSize: 50, rebuildBatchSize: 70, standbyRetryMs: 30 });
  try {
    const killed = await readSide.status();
    expect(killed.map((p) => p.lagEvents)).toContain(events - (HANG_AT - 1) * 50);
    const ledger = killed.find((p) => p.name === 'ledger')!;
    const { rows } = await raw<{ pos: string }>`SELECT max(commit_pos)::text || '/' || max(prepare_pos)::text AS pos FROM ledger_entries`.execute(readSide.db);
    if (rows[0]?.pos) expect(comparePositions(parsePosition(rows[0].pos), parsePosition(ledger.checkpoint!))).toBeLessThanOrEqual(0);
    else expect(ledger.checkpoint).toBeNull();

    await readSide.start();
    const head = await eventually(async () => (await store.headPosition()) ?? undefined);
    for (const { name } of projections) expect(await readSide.waitFor(name, head, 20_000)).toBe(true);
    const resumed = await contents(readSide.db);
    expect(resumed.ledger_entries!.length).toBeGreaterThan(PAYMENTS);

    const verified = await readSide.verify();
    expect(verified.projections.flatMap((p) => p.checks.filter((c) => !c.ok))).toEqual([]);
    expect(verified.ok).toBe(true);
    await readSide.rebuild();
    expect(await contents(readSide.db)).toEqual(resumed);
  } finally {
    await readSide.stop();
  }
}

describe("Tessera's projections killed in the middle of a batch of purchases and refunds", () => {
  it('resume on the embedded database to exactly the rows of an uninterrupted run', async () => {
    const dir = await freshPgliteDataDir();
    try {
      let sql = await dir.open();
      await appendPurchaseHistory(createPgliteEventStore(sql), PAYMENTS);
      const events = Number((await sql.query<{ n: string }>('SELECT count(*)::text AS n FROM tessera_events')).rows[0]!.n);
      await sql.close();

      await killMidBatch({ KILL_DIALECT: 'pglite', KILL_DATA_DIR: dir.dataDir, KILL_PROJECTIONS: 'all' });

      sql = await dir.open();
      await restartRealAndCompare(sql, createPgliteEventStore(sql), events);
      await sql.close();
    } finally {
      dir.remove();
    }
  }, 60_000);

  it.runIf(env.databaseUrl)('resume on PostgreSQL to exactly the rows of an uninterrupted run', async () => {
    const schema = await freshPostgresSchema(env.databaseUrl!);
    try {
      const sql = schema.connect({ poolSize: 6 });
      const store = createPostgresEventStore(sql);
      await appendPurchaseHistory(store, PAYMENTS);
      const events = Number((await sql.query<{ n: string }>('SELECT count(*)::text AS n FROM tessera_events')).rows[0]!.n);
      await killMidBatch({ KILL_DIALECT: 'postgres', DATABASE_URL: env.databaseUrl!, KILL_SCHEMA: schema.schema, KILL_PROJECTIONS: 'all' });
      await restartRealAndCompare(sql, store, events);
      await store.close();
    } finally {
      await schema.drop();
    }
  }, 60_000);
});
