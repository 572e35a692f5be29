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

async function onRequested(trx: Trx, event: RecordedEvent<'PaymentRequested', PaymentRequested['data']>): Promise<void> {
  const { data } = event;
  const units = data.tickets.flatMap((line) => Array.from({ length: line.quantity }, () => line));
  if (units.length === 0) return;
  await trx
    .insertInto('resale_tickets')
    .values(
      units.map((line, index) => ({
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
      })),
    )
    .onConflict((oc) => oc.column('ticket_id').doNothing())
    .execute();
}

const setStatus = (trx: Trx, paymentId: string, status: TicketStatus, at: string) =>
  trx.updateTable('resale_tickets').set({ status, updated_at: at }).where('payment_id', '=', paymentId).where('status', '=', 'pending').execute();

async function apply(trx: Trx, event: RecordedEvent): Promise<void> {
  const at = event.metadata.occurredAt;
  switch (event.type) {
    case 'PaymentRequested':
      return onRequested(trx, event as RecordedEvent<'PaymentRequested', PaymentRequested['data']>);
    case 'PaymentCaptured':
      await setStatus(trx, (event.data as PaymentCaptured['data']).paymentId, 'active', at);
      return;
    case 'PaymentFailed':
    case 'PaymentExpired':
    case 'PaymentCancelled':
      await setStatus(trx, (event.data as { paymentId: string }).paymentId, 'void', at);
      return;
    case 'RefundSucceeded': {
      const data = event.data as RefundSucceeded['data'];
      await trx
        .updateTable('resale_tickets')
        .set({ refunded: sql`refunded + ${data.allocation.ticketPrice}`, updated_at: at })
        .where('payment_id', '=', data.paymentId)
        .execute();
      return;
    }
    case 'EscrowReleased': {
      const data = event.data as EscrowReleased['data'];
      await trx
        .updateTable('resale_tickets')
        .set({ owner_id: data.buyerId, resales: sql`resales + 1`, updated_at: at })
        .where('ticket_id', '=', data.ticketId)
        .execute();
      return;
    }
    default:
      return;
  }
}

export const TICKETS_PROJECTION = 'tickets';

export const ticketsProjection = defineProjection<TicketsTables>({
  name: TICKETS_PROJECTION,
  version: 1,
  tables: ['resale_tickets'],
  async handle(events, trx) {
    // One stream's events must apply in order (requested before captured); a batch is in order.
    for (const event of events) await apply(trx, event);
  },
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
