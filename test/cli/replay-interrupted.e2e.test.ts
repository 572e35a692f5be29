import { expect, it } from 'vitest';
import { createPgliteEventStore } from '../../src/eventstore/pglite.js';
import { testEnv } from '../support/app.js';
import { freshPgliteDataDir, runCli } from '../support/cli.js';
import { appendPurchaseHistory } from '../support/purchase-history.js';

it('stops a replay on Ctrl-C with exit code 130, dropping its scratch schema and leaving the live tables as they were', async () => {
  const dir = await freshPgliteDataDir();
  try {
    let sql = await dir.open();
    await appendPurchaseHistory(createPgliteEventStore(sql), 40);
    await sql.close();
    // One event per page, so the replay is still running when the signal comes.
    const env = testEnv({ DATA_DIR: dir.dataDir, LOG_LEVEL: 'warn', PROJECTION_REBUILD_BATCH_SIZE: '1' });
    const run = await runCli(['replay'], env, (stderr) => stderr.includes('replaying'));
    expect(run.code).toBe(130);
    expect(run.stderr).toContain('interrupted; the live read models are unchanged');
    expect(run.stdout).toBe('');

    sql = await dir.open();
    const { rows: schemas } = await sql.query<{ name: string }>("SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE '%\\_rebuild\\_%'");
    expect(schemas).toEqual([]);
    const { rows: rebuilt } = await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM tessera_projections WHERE rebuilt_at IS NOT NULL');
    expect(rebuilt).toEqual([{ n: 0 }]);
    await sql.close();
    // Nothing was swapped in: verify still finds the live tables equal to the events (empty, never run).
    expect((await runCli(['verify'], env)).code).toBe(0);
  } finally {
    dir.remove();
  }
}, 60_000);
