import { sql, type Kysely, type Transaction } from 'kysely';
import type { Chain } from '../domain/fees.js';
import { uuidV5 } from '../domain/ids.js';
import type { RecordedEvent } from '../eventstore/event-store.js';
import type { PaymentCaptured, PaymentRequested, RefundSucceeded } from '../events/payment-events.js';
import type { GroupPaymentCompleted, GroupPaymentCreated } from '../events/group-payment-events.js';
import type { EscrowReleased } from '../events/resale-events.js';
import { defineProjection } from '../projections/projection.js';

/**
 * Tickets: a paid purchase yields one ticket per unit bought, its id derived from the payment id
 * and the ticket's place in the order (lines in order, units in order), so every reader (this
 * read model, the minting queue) names the same ticket without sharing state. Its face value is
 * its line's unit price. The `tickets` projection keeps who owns each one: the buyer, then each
 * resale's buyer once the escrow is released. A group purchase's tickets are named the same way
 * from its group id: the organizer holds them while the group collects, and on completion each
 * member's run goes to the user who paid that share (`groupTicketOwners`).
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

interface Purchase {
  readonly paymentId: string;
  readonly venueId: string;
  readonly eventId: string;
  readonly ownerId: string;
  readonly tickets: PaymentRequested['data']['tickets'];
  readonly quote: PaymentRequested['data']['quote'];
}

/** A payment's buyer, or a group's organizer until the group completes (`groupOwners`). */
function purchaseOf(event: RecordedEvent): Purchase | undefined {
  if (event.type === 'PaymentRequested') {
    const data = event.data as PaymentRequested['data'];
    return { ...data, ownerId: data.userId };
  }
  if (event.type === 'GroupPaymentCreated') {
    const data = event.data as GroupPaymentCreated['data'];
    return { ...data, paymentId: data.groupId, ownerId: data.organizerId };
  }
  return undefined;
}

function ticketRows(data: Purchase, at: string) {
  const units = data.tickets.flatMap((line) => Array.from({ length: line.quantity }, () => line));
  return units.map((line, index) => ({
    ticket_id: ticketIdFor(data.paymentId, index),
    payment_id: data.paymentId,
    ticket_index: index,
    venue_id: data.venueId,
    event_id: data.eventId,
    ticket_type_id: line.ticketTypeId,
    owner_id: data.ownerId,
    face_value: line.unitPrice,
    currency: data.quote.currency,
    chain: data.quote.gas.chain,
    status: 'pending',
    refunded: 0,
    resales: 0,
    updated_at: at,
  }));
}

/**
 * Who owns each ticket of a completed group purchase: the members take the tickets in member
 * order, `ticketCount` each, and a member's run goes to the user who paid the share.
 */
export function groupTicketOwners(data: Pick<GroupPaymentCompleted['data'], 'contributions'>): string[] {
  return data.contributions.flatMap((c) => Array.from({ length: c.ticketCount }, () => c.payerId));
}

const INSERT_CHUNK = 2_000;

/**
 * Applies a batch in a few statements: every new ticket first (a payment's request precedes its
 * outcome), then each status change, then refunds and resales in event order. The statuses
 * commute (a payment is either captured or ended unpaid, and both only move `pending`).
 */
async function applyBatch(events: readonly RecordedEvent[], trx: Trx): Promise<void> {
  const rows = events.flatMap((e) => {
    const purchase = purchaseOf(e);
    return purchase ? ticketRows(purchase, e.metadata.occurredAt) : [];
  });
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    await trx.insertInto('resale_tickets').values(rows.slice(i, i + INSERT_CHUNK)).onConflict((oc) => oc.column('ticket_id').doNothing()).execute();
  }
  const outcomes = events.flatMap((event) => {
    const status: TicketStatus | undefined = PAID.has(event.type) ? 'active' : ENDED_UNPAID.has(event.type) ? 'void' : undefined;
    const { paymentId, groupId } = event.data as Partial<PaymentCaptured['data'] & { groupId: string }>;
    return status ? [sql`(${paymentId ?? groupId}::uuid, ${status}, ${event.metadata.occurredAt}::timestamptz)`] : [];
  });
  if (outcomes.length > 0) {
    await sql`UPDATE resale_tickets t SET status = v.status, updated_at = v.at
                FROM (VALUES ${sql.join(outcomes)}) AS v(payment_id, status, at)
               WHERE t.payment_id = v.payment_id AND t.status = 'pending'`.execute(trx);
  }
  const owners = events.flatMap((event) => {
    if (event.type !== 'GroupPaymentCompleted') return [];
    const { groupId } = event.data as GroupPaymentCompleted['data'];
    return groupTicketOwners(event.data as GroupPaymentCompleted['data']).map((ownerId, index) => sql`(${ticketIdFor(groupId, index)}::uuid, ${ownerId})`);
  });
  for (let i = 0; i < owners.length; i += INSERT_CHUNK) {
    await sql`UPDATE resale_tickets t SET owner_id = v.owner_id
                FROM (VALUES ${sql.join(owners.slice(i, i + INSERT_CHUNK))}) AS v(ticket_id, owner_id)
               WHERE t.ticket_id = v.ticket_id`.execute(trx);
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

const PAID = new Set(['PaymentCaptured', 'GroupPaymentCompleted']);
const ENDED_UNPAID = new Set(['PaymentFailed', 'PaymentExpired', 'PaymentCancelled', 'GroupPaymentExpired', 'GroupPaymentCancelled']);

export const TICKETS_PROJECTION = 'tickets';

export const ticketsProjection = defineProjection<TicketsTables>({
  name: TICKETS_PROJECTION,
  version: 2,
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
