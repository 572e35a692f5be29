import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../../src/eventstore/sleep.js';
import { testApp, type TestApp } from '../../support/app.js';
import { env } from '../../support/databases.js';
import { authAs, purchase, venueAt, type ProcessAnswer } from '../../support/payments-http.js';

const url = env.databaseUrl;
const HELD_FOR_MS = 30_000;
const PURCHASE_EVERY_MS = 3_000;

/**
 * A shared PostgreSQL server: somebody else's long transaction (a migration, a batch job, an
 * idle-in-transaction session) in another database must not hold back Tessera's process
 * managers and read models, which it did while `$all` waited for every transaction on the server.
 */
describe.runIf(url)('purchases while a transaction stays open in another database of the server', () => {
  let t: TestApp;
  let venueId: string;
  let foreign: pg.Client;

  beforeAll(async () => {
    t = await testApp({ backend: 'postgres', background: true });
    venueId = await venueAt(t, { tierOverride: 'pro' });
    const elsewhere = new URL(url!);
    elsewhere.pathname = '/postgres';
    foreign = new pg.Client({ connectionString: elsewhere.toString() });
    await foreign.connect();
  });
  afterAll(async () => {
    await foreign.end();
    await t.close();
  });

  it('completes every purchase and shows it in its read model within a second, for the 30 s the transaction stays open', async () => {
    await foreign.query('BEGIN');
    await foreign.query('SELECT pg_current_xact_id()');
    const opened = Date.now();
    const timings: { completedMs: number; readableMs: number }[] = [];
    try {
      while (Date.now() - opened < HELD_FOR_MS - PURCHASE_EVERY_MS) {
        const tick = Date.now();
        const answer = await purchase(t, venueId);
        const completedMs = Date.now() - tick;
        expect(answer.statusCode, answer.body).toBe(200);
        const body = answer.json<ProcessAnswer & { position: string }>();
        expect(body.transaction.status).toBe('completed');
        const read = await t.app.inject({
          method: 'GET',
          url: `/api/v1/payments/transaction/${body.transaction.id}?position=${body.position}`,
          headers: await authAs(),
        });
        expect(read.statusCode, read.body).toBe(200);
        timings.push({ completedMs, readableMs: Date.now() - tick });
        await sleep(PURCHASE_EVERY_MS - (Date.now() - tick));
      }
      // The transaction was open the whole time, and stays open its 30 s.
      await sleep(HELD_FOR_MS - (Date.now() - opened));
      const { rows } = await foreign.query<{ open_ms: number }>(`SELECT (extract(epoch FROM clock_timestamp() - now()) * 1000)::float8 AS open_ms`);
      expect(rows[0]!.open_ms).toBeGreaterThanOrEqual(HELD_FOR_MS - 50);
    } finally {
      await foreign.query('ROLLBACK');
    }
    expect(timings.length).toBeGreaterThanOrEqual(9);
    for (const timing of timings) {
      expect(timing.completedMs).toBeLessThan(1_000);
      expect(timing.readableMs).toBeLessThan(1_000);
    }
  }, 60_000);
});
