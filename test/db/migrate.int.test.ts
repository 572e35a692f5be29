import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS_DIR } from '../../src/db/migrate.js';
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

  it('carry a payment row over when its stored aggregate state is dropped (0007), request time and open dispute kept', async () => {
    const before = await mkdtemp(join(tmpdir(), 'tessera-migrations-'));
    for (const name of (await readdir(MIGRATIONS_DIR)).filter((name) => name < '0007')) await cp(join(MIGRATIONS_DIR, name), join(before, name));
    const sql = await openPglite({ dataDir: 'memory://' });
    await migrate(sql, before);
    const row = (id: string, state: object) =>
      sql.query(
        `INSERT INTO payment_summaries (payment_id, tenant_id, user_id, venue_id, event_id, status, currency, amount, ticket_count, ticket_price,
           platform_fee, gas, state_tax, local_tax, venue_tax, captured, refunded, refund_pending, charged_back, payment_method,
           created_at, updated_at, revision, state)
         VALUES ($1, 't', 'u', 'v', 'e', 'completed', 'USD', 100, 1, 90, 5, 1, 3, 1, 0, 100, 0, 0, 0, 'card',
           '2026-01-01T12:00:05Z', '2026-01-01T12:01:00Z', 3, $2::jsonb)`,
        [id, JSON.stringify(state)],
      );
    await row('00000000-0000-4000-8000-000000000001', { request: { requestedAt: '2026-01-01T12:00:00.000Z' }, dispute: { disputeId: 'dp_1', amount: 100 } });
    await row('00000000-0000-4000-8000-000000000002', { request: { requestedAt: '2026-01-01T11:59:00.000Z' } });
    expect((await migrate(sql)).applied).toContain('0007_lean_payment_summaries.sql');
    const { rows } = await sql.query<{ requested_at: Date; dispute_open: boolean }>(
      'SELECT requested_at, dispute_open FROM payment_summaries ORDER BY payment_id',
    );
    expect(rows).toEqual([
      { requested_at: new Date('2026-01-01T12:00:00.000Z'), dispute_open: true },
      { requested_at: new Date('2026-01-01T11:59:00.000Z'), dispute_open: false },
    ]);
    await sql.close();
    await rm(before, { recursive: true });
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
