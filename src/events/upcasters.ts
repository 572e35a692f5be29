import type { TicketLine } from '../domain/purchase-quote.js';
import type { Upcaster } from '../eventstore/upcasting.js';
import type { EventType } from './versions.js';

/**
 * One step: raises `eventType`'s data from `fromVersion` to the next version. The store holds, of
 * a type and version, only what the code of that version wrote, so the data is read as `Old`.
 */
function upcaster<Old>(eventType: EventType, fromVersion: number, raise: (data: Old) => unknown): Upcaster {
  return { eventType, fromVersion, upcast: ({ data }) => ({ data: raise(data as Old) }) };
}

/** A ticket line as version 1 of PaymentRequested and GroupPaymentCreated wrote it. */
interface TicketLineV1 {
  readonly ticketTypeId: string;
  readonly quantity: number;
  readonly unitPrice: number;
  readonly seatNumbers?: readonly string[];
}

/**
 * Version 2 records on each ticket line who set its price. Until the catalogue (issue 17) the
 * buyer's request did, and nothing in a version 1 event says which came after it (those written
 * between issue 17 and version 2 were priced by the catalogue): every version 1 line reads as
 * `request`, so an audit of buyer-priced purchases errs toward including one, never missing one.
 */
const priceSourceOnLines = (data: { readonly tickets: readonly TicketLineV1[]; readonly [field: string]: unknown }) => ({
  ...data,
  tickets: data.tickets.map((line): TicketLine => ({ ...line, priceSource: 'request' })),
});

/**
 * Every upcaster, in one place. Each raises one stored shape of an event type to the next
 * version, so every read of the store (streams, `$all`, subscriptions, replays) sees old events
 * in the shape the code writes now, and nothing stored is rewritten. A type's current version is
 * in its concept's `*_EVENT_VERSIONS`; raising it there needs an upcaster here from the old one.
 */
export const UPCASTERS: readonly Upcaster[] = [
  upcaster('PaymentRequested', 1, priceSourceOnLines),
  upcaster('GroupPaymentCreated', 1, priceSourceOnLines),
];
