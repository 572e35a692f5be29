import { sql, type Kysely, type Transaction } from 'kysely';
import type { Chain } from '../domain/fees.js';
import { uuidV5 } from '../domain/ids.js';
import type { RecordedEvent } from '../eventstore/event-store.js';
import type { PaymentCaptured, PaymentRequested, RefundSucceeded } from '../events/payment-events.js';
import type { EscrowReleased } from '../events/resale-events.js';
import { defineProjection } from '../projections/projection.js';

/**
 * Tickets: a paid purchase yields one ticket per unit bought, its id derived from the payment id
 * and the ticket's place in the order (lines in order, units in order), so every reader (this
 * read model, the minting queue) names the same ticket without sharing state. Its face value is
 * its line's unit price. The `tickets` projection keeps who owns each one: the buyer, then each
 * resale's buyer once the escrow is released.
 */
export const ticketIdFor = (paymentId: string, index: number): string => uuidV5(`ticket:${paymentId.toLowerCase()}:${index}`);

export type TicketStatus = 'pending' | 'active' | 'void';

export interface Ticket {
  readonly ticketId: string;
  readonly paymentId: string;
  readonly venueId: string;
  readonly eventId: string;
  readonly ownerId: string;
  readonly faceValue: number;
  readonly currency: string;
  readonly chain: Chain;
  readonly status: TicketStatus;
  /** Ticket price refunded on the ticket's payment. */
  readonly refunded: number;
  readonly resales: number;
}

interface TicketsTables {
  resale_tickets: {
    ticket_id: string;
    payment_id: string;
    ticket_index: number;
    venue_id: string;
    event_id: string;
    ticket_type_id: string;
    owner_id: string;
    face_value: string | number | bigint;
    currency: string;
    chain: string;
    status: string;
    refunded: string | number | bigint;
    resales: number;
    updated_at: string | Date;
  };
}

type Trx = Transaction<TicketsTables>;

function ticketRows(event: RecordedEvent<'PaymentRequested', PaymentRequested['data']>) {
  const { data } = event;
  const units = data.tickets.flatMap((line) => Array.from({ length: line.quantity }, () => line));
  return units.map((line, index) => ({
    ticket_id: ticketIdFor(data.paymentId, index),
    payment_id: data.paymentId,
    ticket_index: index,
    venue_id: data.venueId,
    event_id: data.eventId,
    ticket_type_id: line.ticketTypeId,
    owner_id: data.userId,
    face_value: line.unitPrice,
    currency: data.quote.currency,
    chain: data.quote.gas.chain,
    status: 'pending',
    refunded: 0,
    resales: 0,
    updated_at: event.metadata.occurredAt,
  }));
}

const INSERT_CHUNK = 2_000;

/**
 * Applies a batch in a few statements: every new ticket first (a payment's request precedes its
 * outcome), then each status change, then refunds and resales in event order. The statuses
 * commute (a payment is either captured or ended unpaid, and both only move `pending`).
 */
async function applyBatch(events: readonly RecordedEvent[], trx: Trx): Promise<void> {
  const rows = events.filter((e) => e.type === 'PaymentRequested').flatMap((e) => ticketRows(e as RecordedEvent<'PaymentRequested', PaymentRequested['data']>));
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    await trx.insertInto('resale_tickets').values(rows.slice(i, i + INSERT_CHUNK)).onConflict((oc) => oc.column('ticket_id').doNothing()).execute();
  }
  const outcomes = events.flatMap((event) => {
    const status: TicketStatus | undefined = event.type === 'PaymentCaptured' ? 'active' : ENDED_UNPAID.has(event.type) ? 'void' : undefined;
    return status ? [sql`(${(event.data as PaymentCaptured['data']).paymentId}::uuid, ${status}, ${event.metadata.occurredAt}::timestamptz)`] : [];
  });
  if (outcomes.length > 0) {
    await sql`UPDATE resale_tickets t SET status = v.status, updated_at = v.at
                FROM (VALUES ${sql.join(outcomes)}) AS v(payment_id, status, at)
               WHERE t.payment_id = v.payment_id AND t.status = 'pending'`.execute(trx);
  }
  for (const event of events) {
    const at = event.metadata.occurredAt;
    if (event.type === 'RefundSucceeded') {
      const data = event.data as RefundSucceeded['data'];
      await trx
        .updateTable('resale_tickets')
        .set({ refunded: sql`refunded + ${data.allocation.ticketPrice}`, updated_at: at })
        .where('payment_id', '=', data.paymentId)
        .execute();
    } else if (event.type === 'EscrowReleased') {
      const data = event.data as EscrowReleased['data'];
      await trx
        .updateTable('resale_tickets')
        .set({ owner_id: data.buyerId, resales: sql`resales + 1`, updated_at: at })
        .where('ticket_id', '=', data.ticketId)
        .execute();
    }
  }
}

const ENDED_UNPAID = new Set(['PaymentFailed', 'PaymentExpired', 'PaymentCancelled']);

export const TICKETS_PROJECTION = 'tickets';

export const ticketsProjection = defineProjection<TicketsTables>({
  name: TICKETS_PROJECTION,
  version: 1,
  tables: ['resale_tickets'],
  handle: applyBatch,
});

export async function findTicket(db: Kysely<object>, ticketId: string): Promise<Ticket | undefined> {
  const row = await (db as unknown as Kysely<TicketsTables>)
    .selectFrom('resale_tickets')
    .selectAll()
    .where('ticket_id', '=', ticketId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    ticketId: row.ticket_id,
    paymentId: row.payment_id,
    venueId: row.venue_id,
    eventId: row.event_id,
    ownerId: row.owner_id,
    faceValue: Number(row.face_value),
    currency: row.currency,
    chain: row.chain as Chain,
    status: row.status as TicketStatus,
    refunded: Number(row.refunded),
    resales: row.resales,
  };
}
