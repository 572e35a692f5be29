import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { openPglite, type SqlClient } from '../../src/db/sql-client.js';
import type { EventStore } from '../../src/eventstore/event-store.js';
import { createPgliteEventStore } from '../../src/eventstore/pglite.js';
import { createPostgresEventStore } from '../../src/eventstore/postgres.js';
import { createReadSide } from '../../src/projections/read-side.js';
import { env, freshPostgresSchema } from '../support/databases.js';
import { loadTemplate } from '../support/pglite-template.js';
import { silentLogger } from '../support/read-model-databases.js';
import { TALLY_TABLES_DDL, tallied, tallyContents, tallyProjection } from '../support/tally-projection.js';

const STREAMS = 6;
const EVENTS = 300;
const HANG_AT = 3;

async function seed(sql: SqlClient, store: EventStore): Promise<void> {
  await sql.exec(TALLY_TABLES_DDL);
  for (let i = 0; i < EVENTS; i++) await store.append(`tally-${i % STREAMS}`, [tallied(i + 1)], { expected: 'any' });
}

/** Runs the projector in a child process, waits until it is inside a batch, and kills it there. */
async function killMidBatch(childEnv: Record<string, string>): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../support/projector-process.ts')], {
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
    const dataDir = mkdtempSync(join(tmpdir(), 'tessera-kill-'));
    try {
      const template = loadTemplate();
      const init = await PGlite.create(join(dataDir, 'pgdata'), template ? { loadDataDir: template } : {});
      await init.close();
      let sql = await openPglite({ dataDir });
      await seed(sql, createPgliteEventStore(sql));
      await sql.close();

      await killMidBatch({ KILL_DIALECT: 'pglite', KILL_DATA_DIR: dataDir });

      sql = await openPglite({ dataDir });
      await restartAndCompare(sql, createPgliteEventStore(sql));
      await sql.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
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
