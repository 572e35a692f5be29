import { sql, type Kysely, type Transaction } from 'kysely';
import { textArrayLiteral } from '../db/array-literal.js';
import { BinaryCopyWriter } from '../db/binary-copy.js';
import { copyInto } from '../db/kysely.js';
import type { Chain } from '../domain/fees.js';
import { ticketIdFor } from '../domain/ids.js';
import type { RecordedEvent } from '../eventstore/event-store.js';
import type { PaymentCaptured, PaymentRequested, RefundSucceeded } from '../events/payment.js';
import type { GroupPaymentCompleted, GroupPaymentCreated } from '../events/group-payment.js';
import type { EscrowReleased } from '../events/escrow.js';
import { defineProjection } from './engine/projection.js';

/**
 * Tickets: a paid purchase yields one ticket per unit bought, its id derived from the payment id
 * and the ticket's place in the order (lines in order, units in order), so every reader (this
 * read model, the minting queue) names the same ticket without sharing state. Its face value is
 * its line's unit price. The `tickets` projection keeps who owns each one: the buyer, then each
 * resale's buyer once the escrow is released. A group purchase's tickets are named the same way
 * from its group id: the organizer holds them while the group collects, and on completion each
 * member's run goes to the user who paid that share (`groupTicketOwners`).
 */

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

function ticketRows(data: Purchase, at: string): TicketRow[] {
  const units = data.tickets.flatMap((line) => Array.from({ length: line.quantity }, () => line));
  return units.map((line, index) => ({
    ticketId: ticketIdFor(data.paymentId, index),
    paymentId: data.paymentId,
    ticketIndex: index,
    venueId: data.venueId,
    eventId: data.eventId,
    ticketTypeId: line.ticketTypeId,
    ownerId: data.ownerId,
    faceValue: line.unitPrice,
    currency: data.quote.currency,
    chain: data.quote.gas.chain,
    status: 'pending',
    refunded: 0,
    resales: 0,
    updatedAt: at,
  }));
}

/**
 * Who owns each ticket of a completed group purchase: the members take the tickets in member
 * order, `ticketCount` each, and a member's run goes to the user who paid the share.
 */
export function groupTicketOwners(data: Pick<GroupPaymentCompleted['data'], 'contributions'>): string[] {
  return data.contributions.flatMap((c) => Array.from({ length: c.ticketCount }, () => c.payerId));
}

interface TicketRow {
  readonly ticketId: string;
  readonly paymentId: string;
  readonly ticketIndex: number;
  readonly venueId: string;
  readonly eventId: string;
  readonly ticketTypeId: string;
  ownerId: string;
  readonly faceValue: number;
  readonly currency: string;
  readonly chain: string;
  status: TicketStatus;
  refunded: number;
  resales: number;
  updatedAt: string;
}

/** The tickets a batch works on: those stored before it, loaded, and those it creates (keyed by lowercase ids). */
class TicketSet {
  readonly byId = new Map<string, TicketRow>();
  readonly byPayment = new Map<string, TicketRow[]>();
  /** Stored before this batch: written back with UPDATE; the rest are new and appended. */
  readonly stored = new Set<string>();
  readonly changed = new Set<string>();

  add(row: TicketRow, stored: boolean): void {
    const id = row.ticketId.toLowerCase();
    if (this.byId.has(id)) return;
    this.byId.set(id, row);
    const payment = row.paymentId.toLowerCase();
    const siblings = this.byPayment.get(payment);
    if (siblings) siblings.push(row);
    else this.byPayment.set(payment, [row]);
    (stored ? this.stored : this.changed).add(id);
  }

  get(ticketId: string): TicketRow | undefined {
    return this.byId.get(ticketId.toLowerCase());
  }

  ofPayment(paymentId: string): readonly TicketRow[] {
    return this.byPayment.get(paymentId.toLowerCase()) ?? [];
  }

  touch(row: TicketRow): void {
    this.changed.add(row.ticketId.toLowerCase());
  }
}

/**
 * Applies a batch: loads the stored tickets its events name, folds the events onto them in order
 * in memory (a ticket created by a purchase in the same batch included), then appends the new
 * tickets with COPY and writes back the stored ones that changed. A ticket that exists already is
 * never created again, and a payment's outcome moves only its tickets still `pending`.
 */
async function applyBatch(events: readonly RecordedEvent[], trx: Trx): Promise<void> {
  const relevant = events.filter((e) => HANDLED.has(e.type));
  if (relevant.length === 0) return;
  const tickets = await loadTickets(trx, relevant);
  for (const event of relevant) applyEvent(tickets, event);
  const created: TicketRow[] = [];
  const updated: TicketRow[] = [];
  for (const id of tickets.changed) (tickets.stored.has(id) ? updated : created).push(tickets.byId.get(id)!);
  await copyInto(trx, 'resale_tickets', TICKET_COLUMNS, ticketCopyRows(created));
  await updateTickets(trx, updated);
}

function applyEvent(tickets: TicketSet, event: RecordedEvent): void {
  const at = event.metadata.occurredAt;
  const purchase = purchaseOf(event);
  if (purchase) {
    for (const row of ticketRows(purchase, at)) tickets.add(row, false);
    return;
  }
  const status: TicketStatus | undefined = PAID.has(event.type) ? 'active' : ENDED_UNPAID.has(event.type) ? 'void' : undefined;
  if (status) {
    const { paymentId, groupId } = event.data as Partial<PaymentCaptured['data'] & { groupId: string }>;
    for (const row of tickets.ofPayment((paymentId ?? groupId)!)) {
      if (row.status !== 'pending') continue;
      row.status = status;
      row.updatedAt = at;
      tickets.touch(row);
    }
  }
  if (event.type === 'GroupPaymentCompleted') {
    const data = event.data as GroupPaymentCompleted['data'];
    groupTicketOwners(data).forEach((ownerId, index) => {
      const row = tickets.get(ticketIdFor(data.groupId, index));
      if (!row) return;
      row.ownerId = ownerId;
      tickets.touch(row);
    });
  } else if (event.type === 'RefundSucceeded') {
    const data = event.data as RefundSucceeded['data'];
    for (const row of tickets.ofPayment(data.paymentId)) {
      row.refunded += data.allocation.ticketPrice;
      row.updatedAt = at;
      tickets.touch(row);
    }
  } else if (event.type === 'EscrowReleased') {
    const data = event.data as EscrowReleased['data'];
    const row = tickets.get(data.ticketId);
    if (!row) return;
    row.ownerId = data.buyerId;
    row.resales += 1;
    row.updatedAt = at;
    tickets.touch(row);
  }
}

/** A stored ticket as the loading query reads it: int8 columns as text, the status one of ours. */
type StoredTicket = Omit<TicketsTables['resale_tickets'], 'face_value' | 'refunded' | 'status' | 'updated_at'> & {
  face_value: string;
  refunded: string;
  status: TicketStatus;
  updated_at: Date;
};

/** The stored tickets of the payments and groups the events name, and of the tickets they resell. */
async function loadTickets(trx: Trx, events: readonly RecordedEvent[]): Promise<TicketSet> {
  const payments = new Set<string>();
  const resold = new Set<string>();
  for (const event of events) {
    if (event.type === 'EscrowReleased') resold.add((event.data as EscrowReleased['data']).ticketId);
    else {
      const { paymentId, groupId } = event.data as { paymentId?: string; groupId?: string };
      payments.add((event.type.startsWith('Group') ? groupId : paymentId)!);
    }
  }
  // Two index lookups: with OR between them the planner scans the whole table instead.
  const { rows } = await sql<StoredTicket>`
    SELECT ticket_id::text AS ticket_id, payment_id::text AS payment_id, ticket_index, venue_id, event_id, ticket_type_id, owner_id,
           face_value::text AS face_value, currency, chain, status, refunded::text AS refunded, resales, updated_at
      FROM resale_tickets
     WHERE payment_id = ANY ((SELECT ${textArrayLiteral([...payments])}::text::uuid[])::uuid[])
    UNION
    SELECT ticket_id::text, payment_id::text, ticket_index, venue_id, event_id, ticket_type_id, owner_id,
           face_value::text, currency, chain, status, refunded::text, resales, updated_at
      FROM resale_tickets
     WHERE ticket_id = ANY ((SELECT ${textArrayLiteral([...resold])}::text::uuid[])::uuid[])
     ORDER BY payment_id, ticket_index`.execute(trx);
  const tickets = new TicketSet();
  for (const row of rows) {
    tickets.add(
      {
        ticketId: row.ticket_id,
        paymentId: row.payment_id,
        ticketIndex: row.ticket_index,
        venueId: row.venue_id,
        eventId: row.event_id,
        ticketTypeId: row.ticket_type_id,
        ownerId: row.owner_id,
        faceValue: Number(row.face_value),
        currency: row.currency,
        chain: row.chain,
        status: row.status,
        refunded: Number(row.refunded),
        resales: row.resales,
        updatedAt: row.updated_at.toISOString(),
      },
      true,
    );
  }
  return tickets;
}

const TICKET_COLUMNS = [
  'ticket_id',
  'payment_id',
  'ticket_index',
  'venue_id',
  'event_id',
  'ticket_type_id',
  'owner_id',
  'face_value',
  'currency',
  'chain',
  'status',
  'refunded',
  'resales',
  'updated_at',
] as const;

/** New tickets as binary COPY rows, their fields in TICKET_COLUMNS order. */
function ticketCopyRows(tickets: readonly TicketRow[]): BinaryCopyWriter {
  const rows = new BinaryCopyWriter(tickets.length * 250);
  for (const t of tickets) {
    rows
      .row(TICKET_COLUMNS.length)
      .uuid(t.ticketId)
      .uuid(t.paymentId)
      .int4(t.ticketIndex)
      .text(t.venueId)
      .text(t.eventId)
      .text(t.ticketTypeId)
      .text(t.ownerId)
      .int8(t.faceValue)
      .text(t.currency)
      .text(t.chain)
      .text(t.status)
      .int8(t.refunded)
      .int4(t.resales)
      .timestamptz(t.updatedAt);
  }
  return rows;
}

/** Writes back what the batch changed of tickets stored before it. */
async function updateTickets(trx: Trx, rows: readonly TicketRow[]): Promise<void> {
  if (rows.length === 0) return;
  const changes = rows.map((t) => ({ ticket_id: t.ticketId, owner_id: t.ownerId, status: t.status, refunded: t.refunded, resales: t.resales, updated_at: t.updatedAt }));
  await sql`
    UPDATE resale_tickets t SET owner_id = v.owner_id, status = v.status, refunded = v.refunded, resales = v.resales, updated_at = v.updated_at
      FROM json_to_recordset(${JSON.stringify(changes)}::json)
           AS v(ticket_id uuid, owner_id text, status text, refunded bigint, resales integer, updated_at timestamptz)
     WHERE t.ticket_id = v.ticket_id`.execute(trx);
}

const PAID = new Set(['PaymentCaptured', 'GroupPaymentCompleted']);
const ENDED_UNPAID = new Set(['PaymentFailed', 'PaymentExpired', 'PaymentCancelled', 'GroupPaymentExpired', 'GroupPaymentCancelled']);
/** Every event type the projection acts on. */
const HANDLED = new Set(['PaymentRequested', 'GroupPaymentCreated', 'RefundSucceeded', 'EscrowReleased', ...PAID, ...ENDED_UNPAID]);

export const TICKETS_PROJECTION = 'tickets';

export const ticketsProjection = defineProjection<TicketsTables>({
  name: TICKETS_PROJECTION,
  // 3: tickets are folded in memory per batch and appended with COPY.
  version: 3,
  tables: ['resale_tickets'],
  // The handler finds stored tickets by payment_id and ticket_id; owner_id only serves queries.
  indexesBuiltAfterReplay: ['resale_tickets_owner_id_idx'],
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
