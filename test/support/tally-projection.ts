import { sql, type Kysely, type Transaction } from 'kysely';
import type { Int8 } from '../../src/db/kysely.js';
import type { RecordedEvent } from '../../src/eventstore/event-store.js';
import { defineProjection, type Projection } from '../../src/projections/engine/projection.js';
import { event } from './events.js';

/**
 * A small projection for testing the engine: per stream, how many `Tallied` events it holds and
 * the last one's revision; per currency, the sum of their amounts times `factor`. It ignores
 * every other event type, as projections do.
 */
export interface TallyTables {
  tally_streams: { stream_id: string; events: Int8; last_revision: Int8 };
  tally_amounts: { currency: string; total: Int8 };
}

export const TALLY_TABLES_DDL = `
  CREATE TABLE tally_streams (stream_id text PRIMARY KEY, events bigint NOT NULL, last_revision bigint NOT NULL);
  CREATE TABLE tally_amounts (currency text PRIMARY KEY, total bigint NOT NULL CHECK (total >= 0));
  CREATE INDEX ON tally_streams (last_revision);`;

export interface TallyOptions {
  readonly name?: string;
  readonly version?: number;
  readonly factor?: number;
  /** Runs between the projection's two writes, so throwing here fails a batch half-way through. */
  readonly midBatch?: (events: readonly RecordedEvent[]) => void | Promise<void>;
}

export const tallied = (amount: number, currency = 'USD') => event('Tallied', { amount, currency });

export function tallyProjection(options: TallyOptions = {}): Projection {
  const factor = options.factor ?? 1;
  return defineProjection<TallyTables>({
    name: options.name ?? 'tally',
    version: options.version ?? 1,
    tables: ['tally_streams', 'tally_amounts'],
    async handle(events, trx) {
      const mine = events.filter((e) => e.type === 'Tallied') as RecordedEvent<'Tallied', { amount: number; currency: string }>[];
      if (mine.length === 0) return;
      await upsertStreams(trx, mine);
      await options.midBatch?.(mine);
      await upsertAmounts(trx, mine, factor);
    },
  });
}

async function upsertStreams(trx: Transaction<TallyTables>, events: readonly RecordedEvent[]): Promise<void> {
  const streams = new Map<string, { events: number; last_revision: number }>();
  for (const e of events) {
    const row = streams.get(e.streamId) ?? { events: 0, last_revision: 0 };
    streams.set(e.streamId, { events: row.events + 1, last_revision: e.revision });
  }
  await trx
    .insertInto('tally_streams')
    .values([...streams].map(([stream_id, row]) => ({ stream_id, ...row })))
    .onConflict((oc) =>
      oc.column('stream_id').doUpdateSet((eb) => ({
        events: eb('tally_streams.events', '+', eb.ref('excluded.events')),
        last_revision: eb.ref('excluded.last_revision'),
      })),
    )
    .execute();
}

async function upsertAmounts(trx: Transaction<TallyTables>, events: readonly RecordedEvent<'Tallied', { amount: number; currency: string }>[], factor: number) {
  const totals = new Map<string, number>();
  for (const e of events) totals.set(e.data.currency, (totals.get(e.data.currency) ?? 0) + e.data.amount * factor);
  await trx
    .insertInto('tally_amounts')
    .values([...totals].map(([currency, total]) => ({ currency, total })))
    .onConflict((oc) => oc.column('currency').doUpdateSet((eb) => ({ total: eb('tally_amounts.total', '+', eb.ref('excluded.total')) })))
    .execute();
}

/** Every row of the tally tables, in a stable order, for comparing whole read models. */
export async function tallyContents(db: Kysely<object>) {
  const streams = await sql<{ stream_id: string; events: string; last_revision: string }>`
    SELECT stream_id, events::text AS events, last_revision::text AS last_revision FROM tally_streams ORDER BY stream_id`.execute(db);
  const amounts = await sql<{ currency: string; total: string }>`SELECT currency, total::text AS total FROM tally_amounts ORDER BY currency`.execute(db);
  return { streams: streams.rows, amounts: amounts.rows };
}
