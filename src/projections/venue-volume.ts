import { sql as kysql, type Transaction } from 'kysely';
import { textArrayLiteral } from '../db/array-literal.js';
import type { Int8 } from '../db/kysely.js';
import type { SqlClient } from '../db/sql-client.js';
import type { RecordedEvent } from '../eventstore/event-store.js';
import type { GroupPaymentCompleted } from '../events/group-payment.js';
import type { PaymentCaptured, RefundSucceeded } from '../events/payment.js';
import { defineProjection } from './engine/projection.js';

/**
 * A venue's trailing-30-day volume, which picks its fee tier: captured ticket price (a completed
 * group purchase's too) less refunded ticket price, over the 30 days up to `asOf` (fees, gas and taxes do not count).
 * The read side may later answer this from the ledger; purchases only need the port.
 */
export interface VenueVolume {
  trailing30Days(venueId: string, asOf: Date): Promise<number>;
}

const THIRTY_DAYS_MS = 30 * 24 * 3_600_000;

/** The port over the `venue-volume` projection's table. */
export function sqlVenueVolume(sql: SqlClient): VenueVolume {
  return {
    async trailing30Days(venueId, asOf) {
      const { rows } = await sql.query<{ total: string | null }>(
        `SELECT sum(amount)::text AS total FROM tessera_venue_volume
          WHERE venue_id = $1 AND occurred_at > $2 AND occurred_at <= $3`,
        [venueId, new Date(asOf.getTime() - THIRTY_DAYS_MS), asOf],
      );
      return Math.max(0, Number(rows[0]?.total ?? 0));
    },
  };
}

interface VenueVolumeTables {
  tessera_venue_volume: {
    source_event_id: string;
    venue_id: string;
    currency: string;
    occurred_at: Date | string;
    amount: Int8;
  };
}

interface VolumeRow {
  readonly id: string;
  readonly venueId: string;
  readonly currency: string;
  /** Business time: the event's `occurredAt`, which the 30-day window is measured in. */
  readonly occurredAt: string;
  readonly amount: number;
}

/** What one event adds to its venue's volume (pure): a sale's ticket price, a refund's taken back. */
function volumeRows(event: RecordedEvent): VolumeRow[] {
  const base = { id: event.id, occurredAt: event.metadata.occurredAt };
  if (event.type === 'PaymentCaptured') {
    const data = event.data as PaymentCaptured['data'];
    return [{ ...base, venueId: data.venueId, currency: data.currency, amount: data.ticketPrice }];
  }
  if (event.type === 'GroupPaymentCompleted') {
    const data = event.data as GroupPaymentCompleted['data'];
    return [{ ...base, venueId: data.venueId, currency: data.currency, amount: data.ticketPrice }];
  }
  if (event.type === 'RefundSucceeded') {
    const data = event.data as RefundSucceeded['data'];
    return [{ ...base, venueId: data.venueId, currency: data.currency, amount: -data.allocation.ticketPrice }];
  }
  return [];
}

/**
 * One row per event, keyed by its id, in one multi-row statement per batch. ON CONFLICT DO
 * NOTHING rather than COPY: the engine's checkpoint already applies each event once, but during
 * a rolling deploy an instance still running the old loose subscription (before migration 0009)
 * may insert the same rows, and identical rows must not stop this projection.
 */
async function applyBatch(events: readonly RecordedEvent[], trx: Transaction<VenueVolumeTables>): Promise<void> {
  const rows = events.flatMap(volumeRows);
  if (rows.length === 0) return;
  const column = <K extends keyof VolumeRow>(key: K) => textArrayLiteral(rows.map((r) => String(r[key])));
  await kysql`
    INSERT INTO tessera_venue_volume (source_event_id, venue_id, currency, occurred_at, amount)
    SELECT * FROM unnest(${column('id')}::text::uuid[], ${column('venueId')}::text::text[], ${column('currency')}::text::text[],
                         ${column('occurredAt')}::text::timestamptz[], ${column('amount')}::text::bigint[])
    ON CONFLICT (source_event_id) DO NOTHING`.execute(trx);
}

export const VENUE_VOLUME_PROJECTION = 'venue-volume';

/**
 * `tessera_venue_volume` (migrations/0003_payments.sql, its index renamed by 0009) as a
 * registered projection, so `tessera replay` rebuilds it and `tessera verify` compares it.
 *
 * Versions: 1 was the loose `venue-volume` subscription, which did not count the group
 * completions it had passed before it learnt to; migration 0009 records its table as version 1,
 * so the first start of this code rebuilds it from the events beside the old table (which keeps
 * answering the fee tier meanwhile) and swaps it in. 2: this projection.
 */
export const venueVolumeProjection = defineProjection<VenueVolumeTables>({
  name: VENUE_VOLUME_PROJECTION,
  version: 2,
  tables: ['tessera_venue_volume'],
  // The handler writes by the primary key alone; the (venue, time) index serves trailing30Days.
  indexesBuiltAfterReplay: ['tessera_venue_volume_venue_id_occurred_at_idx'],
  handle: applyBatch,
});
