import { sql } from 'kysely';
import type { PurchaseQuote } from '../domain/purchase-quote.js';
import type { RecordedEvent } from '../eventstore/event-store.js';
import { isGroupPaymentEvent, type GroupPaymentEvent } from '../events/group-payment.js';
import { isPaymentEvent, type PaymentEvent } from '../events/payment.js';
import { defineProjection } from './engine/projection.js';
import { sumByKey } from './engine/sum-by-key.js';
import type { RefundAllocation, RefundTaxLine } from '../domain/refund-allocation.js';

/**
 * Tax per jurisdiction, kind, currency and day (migrations/0005_read_models.sql), from the same
 * facts the ledger books into `tax:<jurisdiction>.<kind>:payable`: a capture collects each tax line
 * of its quote (a completed group purchase collects its quote's the same way); a refund request or a lost dispute gives back its allocation's tax lines; a
 * refund the gateway refused takes them back again. So a day's net equals the ledger's movement
 * of that account on that day (tested), and a report needs no scan of the journal.
 */
export const TAX_COLLECTIONS_PROJECTION = 'tax-collections';
export const TAX_COLLECTIONS_VERSION = 2;

export interface TaxMovement {
  readonly day: string;
  readonly jurisdiction: string;
  readonly kind: string;
  readonly currency: string;
  readonly taxable: number;
  readonly collected: number;
  readonly refunded: number;
  readonly transactions: number;
}

/** What one event does to the tax collections (pure). */
export function taxMovements(event: PaymentEvent & { readonly metadata: { readonly occurredAt: string } }): TaxMovement[] {
  const day = event.metadata.occurredAt.slice(0, 10);
  switch (event.type) {
    case 'PaymentCaptured':
      return collected(day, event.data);
    case 'RefundRequested':
      return givenBack(day, event.data.currency, event.data.allocation, 1);
    case 'RefundFailed':
      return givenBack(day, event.data.currency, event.data.allocation, -1);
    case 'DisputeClosed':
      return event.data.outcome === 'lost' && event.data.allocation ? givenBack(day, event.data.currency, event.data.allocation, 1) : [];
    // A refund's tax moved when it was requested; its success moves no tax.
    case 'RefundSucceeded':
    case 'PaymentRiskAssessed':
    case 'PaymentReviewed':
    case 'PaymentRequested':
    case 'PaymentSubmitted':
    case 'PaymentActionRequired':
    case 'PaymentAuthorized':
    case 'PaymentFailed':
    case 'PaymentCancelled':
    case 'PaymentExpired':
    case 'PaymentAuthorizationVoided':
    case 'DisputeOpened':
      return [];
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

/** What one group payment event does to the tax collections (pure): only the completed purchase moves tax. */
export function groupTaxMovements(event: GroupPaymentEvent & { readonly metadata: { readonly occurredAt: string } }): TaxMovement[] {
  return event.type === 'GroupPaymentCompleted' ? collected(event.metadata.occurredAt.slice(0, 10), event.data) : [];
}

/** A sale's tax lines, each collected once on the quote's ticket price. */
function collected(day: string, { quote, currency }: { readonly quote: PurchaseQuote; readonly currency: string }): TaxMovement[] {
  return movementsOf(day, currency, quote.taxes, (line) => ({ taxable: quote.ticketPrice, collected: line.amount, refunded: 0, transactions: 1 }));
}

/** A refund's tax lines, buyer-borne and venue-borne alike, as refunded (sign 1) or restored (-1). */
function givenBack(day: string, currency: string, allocation: RefundAllocation, sign: 1 | -1): TaxMovement[] {
  return movementsOf(day, currency, [...allocation.taxes, ...allocation.venueTaxReversed], (line) => ({
    taxable: -sign * allocation.ticketPrice,
    collected: 0,
    refunded: sign * line.amount,
    transactions: 0,
  }));
}

type Amounts = Pick<TaxMovement, 'taxable' | 'collected' | 'refunded' | 'transactions'>;

/** A movement per tax line that has an amount (a 0% line moves nothing, as in the ledger). */
function movementsOf<L extends RefundTaxLine>(day: string, currency: string, lines: readonly L[], amounts: (line: L) => Amounts): TaxMovement[] {
  return lines.filter((line) => line.amount !== 0).map((line) => ({ day, jurisdiction: line.jurisdiction, kind: line.kind, currency, ...amounts(line) }));
}

/** Sums movements of the same (day, jurisdiction, kind, currency). */
export const mergeMovements = (movements: readonly TaxMovement[]): TaxMovement[] =>
  sumByKey(movements, (m) => [m.day, m.jurisdiction, m.kind, m.currency], ['taxable', 'collected', 'refunded', 'transactions']);

export const taxCollections = defineProjection<object>({
  name: TAX_COLLECTIONS_PROJECTION,
  version: TAX_COLLECTIONS_VERSION,
  tables: ['tax_collections'],
  indexesBuiltAfterReplay: ['tax_collections_jurisdiction_day_idx'],
  async handle(events, trx) {
    const movements = mergeMovements(
      events.flatMap((e: RecordedEvent) =>
        e.streamId.startsWith('payment-') && isPaymentEvent(e)
          ? taxMovements(e)
          : e.streamId.startsWith('group-payment-') && isGroupPaymentEvent(e)
            ? groupTaxMovements(e)
            : [],
      ),
    );
    if (movements.length === 0) return;
    await sql`
      INSERT INTO tax_collections AS t
      SELECT * FROM jsonb_populate_recordset(NULL::tax_collections, ${JSON.stringify(movements)}::jsonb)
      ON CONFLICT (day, jurisdiction, kind, currency) DO UPDATE SET
        taxable = t.taxable + excluded.taxable, collected = t.collected + excluded.collected,
        refunded = t.refunded + excluded.refunded, transactions = t.transactions + excluded.transactions`.execute(trx);
  },
});
