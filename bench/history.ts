/**
 * Purchase-shaped history written straight into the events table of a fresh database, for the
 * benchmarks that read history back (bench/replay.ts, bench/publish.ts): the events of 420 real
 * payments, decided by the Payment decider (purchases captured, a third refunded in part, a third
 * in full, some refunds refused), are the templates; each generated payment copies one with a
 * payment id of its own and one of 300 venues, so every event is valid for the real projections.
 */
import type { PostgresSqlClient } from '../src/db/sql-client.js';
import { HISTORY_VENUES, purchaseHistoryBatches } from '../test/support/purchase-history.js';

const SHAPES = 420;
const PAYMENT = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
/** The history's venue ids without their last two digits: a generated payment puts 10 digits of its own before them. */
const VENUE_STEM = HISTORY_VENUES[0]!.slice(0, -2);
const VENUE_PREFIX = VENUE_STEM.slice(0, 24);

interface Template {
  readonly shape: number;
  readonly revision: number;
  readonly type: string;
  readonly data: string;
  readonly metadata: string;
}

function templates(): Template[] {
  return Array.from({ length: SHAPES }, (_, shape) =>
    purchaseHistoryBatches(shape, PAYMENT, new Date(Date.UTC(2026, 0, 1)))
      .flat()
      .map((event, revision) => ({ shape, revision, type: event.type, data: JSON.stringify(event.data), metadata: JSON.stringify(event.metadata) })),
  ).flat();
}

/** Fills the events table with about `target` events; answers how many it wrote. */
export async function generateHistory(sql: PostgresSqlClient, target: number): Promise<{ events: number; payments: number }> {
  const rows = templates();
  const column = <K extends keyof Template>(key: K) => rows.map((row) => row[key]);
  await sql.exec('CREATE UNLOGGED TABLE bench_templates (shape int, revision int, type text, data text, metadata text)');
  await sql.query(`INSERT INTO bench_templates SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::text[])`, [
    column('shape'),
    column('revision'),
    column('type'),
    column('data'),
    column('metadata'),
  ]);
  const perPayment = rows.length / SHAPES;
  let events = 0;
  let payments = 0;
  while (events < target) {
    const chunk = Math.max(1, Math.min(40_000, Math.ceil((target - events) / perPayment)));
    // One statement per chunk, rows in payment order: what a steady stream of purchases leaves.
    const { rowCount } = await sql.query(
      `INSERT INTO tessera_events (stream_id, revision, event_id, event_type, data, metadata)
       SELECT 'payment-' || p.id, t.revision, gen_random_uuid(), t.type,
              replace(replace(t.data, $3, p.id::text), $4, p.venue)::jsonb, replace(t.metadata, $3, p.id::text)::jsonb
         FROM (SELECT g, gen_random_uuid() AS id, $5 || lpad((g % 100)::text, 10, '0') AS venue
                 FROM generate_series($1::int, $2::int) g) p
         JOIN bench_templates t ON t.shape = p.g % ${SHAPES}
        ORDER BY p.g, t.revision`,
      [payments, payments + chunk - 1, PAYMENT, VENUE_STEM, VENUE_PREFIX],
    );
    events += rowCount;
    payments += chunk;
  }
  await sql.exec('DROP TABLE bench_templates');
  await sql.exec('VACUUM ANALYZE tessera_events');
  await sql.exec('CHECKPOINT');
  return { events, payments };
}
