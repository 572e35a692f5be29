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
          `INSERT INTO payment_stats_hourly (hour, currency, method, outcome, reason, count, amount, processing_ms, processing_count)
           VALUES ($1, 'USD', 'card', $2, $3, $4, 0, 0, 0)`,
          [HOUR, outcome, reason, count],
        );
      }
    });
    afterAll(() => db.close());

    it('gives every unpaid ending a reason, so the reasons add up to the failure rate', async () => {
      const report = await paymentMetrics(createKysely(db.sql), new Date('2026-03-01T00:00:00Z'), new Date('2026-03-02T00:00:00Z'));
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
  });
}
