import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKysely } from '../../../src/db/kysely.js';
import { paymentMetrics } from '../../../src/projections/payments/queries.js';
import { backends, type Backend } from '../../support/backends.js';

const HOUR = '2026-03-01T10:00:00.000Z';

for (const backend of backends()) {
  describe(`payment metrics on ${backend.name}`, () => {
    let db: Backend;

    beforeAll(async () => {
      db = await backend.open();
      // An hour's outcomes as the payments projection sums them: two captures, two declines (one
      // without a code), one payment that expired and one the buyer cancelled.
      const rows: [outcome: string, reason: string, count: number][] = [
        ['requested', '', 6],
        ['completed', '', 2],
        ['failed', 'generic_decline', 1],
        ['failed', '', 1],
        ['expired', '', 1],
        ['cancelled', '', 1],
      ];
      for (const [outcome, reason, count] of rows) {
        await db.sql.query(
          `INSERT INTO payment_stats_hourly (hour, currency, method, outcome, reason, kind, count, amount, processing_ms, processing_count)
           VALUES ($1, 'USD', 'card', $2, $3, 'purchase', $4, 0, 0, 0)`,
          [HOUR, outcome, reason, count],
        );
      }
      // A group purchase and a resale the same hour: they took money too.
      for (const [kind, outcome, amount] of [['group', 'completed', 20_000], ['resale', 'completed', 15_000], ['resale', 'failed', 0]] as const) {
        await db.sql.query(
          `INSERT INTO payment_stats_hourly (hour, currency, method, outcome, reason, kind, count, amount, processing_ms, processing_count)
           VALUES ($1, 'USD', 'card', $2, '', $3, 1, $4, 0, 0)`,
          [HOUR, outcome, kind, amount],
        );
      }
    });
    afterAll(() => db.close());

    const day = [new Date('2026-03-01T00:00:00Z'), new Date('2026-03-02T00:00:00Z')] as const;

    it('gives every unpaid ending a reason, so the reasons add up to the failure rate', async () => {
      const report = await paymentMetrics(createKysely(db.sql), ...day, 'purchase');
      expect(report.failureRate).toBe(0.6667);
      expect(report.failuresByReason).toEqual([
        { reason: 'cancelled', count: 1, rate: 0.1667 },
        { reason: 'expired', count: 1, rate: 0.1667 },
        { reason: 'generic_decline', count: 1, rate: 0.1667 },
        { reason: 'unknown', count: 1, rate: 0.1667 },
      ]);
      const counted = report.failuresByReason.reduce((n, r) => n + r.count, 0);
      expect(counted).toBe(report.outcomes.failed + report.outcomes.expired + report.outcomes.cancelled);
    });

    it('counts every kind of sale unless one is asked for, so its revenue is what the ledger took in', async () => {
      const all = await paymentMetrics(createKysely(db.sql), ...day);
      expect(all.outcomes).toMatchObject({ completed: 4, failed: 3 });
      expect(all.revenue).toEqual([{ currency: 'USD', captured: 35_000, refunded: 0, chargedBack: 0, net: 35_000 }]);
      const resales = await paymentMetrics(createKysely(db.sql), ...day, 'resale');
      expect(resales).toMatchObject({ requested: 0, outcomes: { completed: 1, failed: 1 }, successRate: 0.5 });
    });
  });
}
