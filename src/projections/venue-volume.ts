import type { SqlClient } from '../db/sql-client.js';
import type { RecordedEvent } from '../eventstore/event-store.js';
import { sqlCheckpointStore } from '../eventstore/sql-event-store.js';
import type { SubscriptionConsumer } from '../eventstore/subscription.js';
import type { GroupPaymentCompleted } from '../events/group-payment.js';
import type { PaymentCaptured, RefundSucceeded } from '../events/payment.js';

/**
 * A venue's trailing-30-day volume, which picks its fee tier: captured ticket price (a completed
 * group purchase's too) less refunded ticket price, over the 30 days up to `asOf` (fees, gas and taxes do not count).
 * The read side may later answer this from the ledger; purchases only need the port.
 */
export interface VenueVolume {
  trailing30Days(venueId: string, asOf: Date): Promise<number>;
}

const THIRTY_DAYS_MS = 30 * 24 * 3_600_000;

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

export const VENUE_VOLUME_SUBSCRIPTION = 'venue-volume';

/**
 * Keeps `tessera_venue_volume` from the payment events: its rows and its checkpoint commit in
 * one transaction, and each row is keyed by its event id, so a crash or replay counts nothing twice.
 */
export function venueVolumeProjector(sql: SqlClient): SubscriptionConsumer {
  return {
    name: VENUE_VOLUME_SUBSCRIPTION,
    loadCheckpoint: () => sqlCheckpointStore(sql).load(VENUE_VOLUME_SUBSCRIPTION),
    async handleBatch(events, { previous, next }) {
      await sql.transaction(async (tx) => {
        const rows = events.flatMap(volumeRow);
        if (rows.length > 0) {
          const params = rows.flatMap((r) => [r.id, r.venueId, r.currency, r.occurredAt, r.amount]);
          const values = rows.map((_, i) => `($${i * 5 + 1}::uuid, $${i * 5 + 2}, $${i * 5 + 3}, $${i * 5 + 4}::timestamptz, $${i * 5 + 5}::bigint)`);
          await tx.query(
            `INSERT INTO tessera_venue_volume (source_event_id, venue_id, currency, occurred_at, amount) VALUES ${values.join(', ')}
               ON CONFLICT (source_event_id) DO NOTHING`,
            params,
          );
        }
        await sqlCheckpointStore(tx).store(VENUE_VOLUME_SUBSCRIPTION, next, previous);
      });
    },
  };
}

function volumeRow(event: RecordedEvent) {
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
