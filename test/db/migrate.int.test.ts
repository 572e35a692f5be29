import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { openPglite } from '../../src/db/sql-client.js';
import { env, freshPostgresSchema, type PostgresSchema } from '../support/databases.js';

describe('migrations', () => {
  it('apply once and are a no-op the second time (PGlite)', async () => {
    const sql = await openPglite({ dataDir: 'memory://' });
    const first = await migrate(sql);
    expect(first.applied).toContain('0001_event_store.sql');
    expect((await migrate(sql)).applied).toEqual([]);
    await sql.close();
  });

  describe.runIf(env.databaseUrl)('on PostgreSQL', () => {
    let schema: PostgresSchema;
    afterAll(async () => schema?.drop());

    it('apply once when several instances start together', async () => {
      schema = await freshPostgresSchema(env.databaseUrl!);
      // freshPostgresSchema has migrated; racing again must change nothing and fail nothing.
      const results = await Promise.all(Array.from({ length: 4 }, () => migrate(schema.connect({ poolSize: 1 }))));
      expect(results.flatMap((r) => r.applied)).toEqual([]);
      const { rows } = await schema.connect().query<{ count: number }>('SELECT count(*)::int AS count FROM tessera_migrations');
      expect(rows[0]!.count).toBeGreaterThan(0);
    });
  });
});
