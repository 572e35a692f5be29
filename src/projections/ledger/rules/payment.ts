import type { PaymentEvent } from '../../../events/payment.js';
import type { PurchaseQuote } from '../../../domain/purchase-quote.js';
import type { TaxLine } from '../../../domain/tax.js';
import { customerRefundsAccount } from '../accounts.js';
import { credit, debit, type Posting } from '../journal.js';
import type { Booking, PostingRules } from '../ledger-projection.js';
import type { RefundAllocation, RefundTaxLine } from '../../../domain/refund-allocation.js';

/**
 * How payments move money in the ledger (chart of accounts: docs/ledger.md).
 *
 * - A capture takes the buyer's total into `gateway:clearing` and owes it out: the venue's
 *   proceeds (ticket price less the taxes the venue bears) to `venue:<id>:pending`, the platform
 *   fee and gas to the platform, every tax to its jurisdiction. The same entry books the card
 *   network's cost as the platform's expense, out of clearing.
 * - A refund first sets the money aside for the buyer (`customer:<id>:refunds`), taking each
 *   component back from whoever was owed it, as the refund's allocation says; the venue also gets
 *   back the share of venue-borne tax its returned ticket price no longer owes. When the gateway
 *   has paid the buyer, the money leaves clearing; a refund the gateway refused is put back.
 * - A lost dispute takes the money straight out of clearing, split like a refund.
 *
 * Tax accounts carry the component: `tax:<jurisdiction>.<kind>:payable`, e.g.
 * `tax:tn-nashville.entertainment:payable`, so a report can tell Nashville's local sales tax from
 * its entertainment tax.
 */
export const taxAccount = (line: Pick<TaxLine, 'jurisdiction' | 'kind'>): string => `tax:${line.jurisdiction}.${line.kind}:payable`;

export const venuePending = (venueId: string): string => `venue:${venueId}:pending`;

export const paymentPostingRules: PostingRules<PaymentEvent> = {
  PaymentCaptured: ({ data }) =>
    saleBooking({
      what: `tickets for event ${data.eventId} (payment ${data.paymentId})`,
      venueId: data.venueId,
      currency: data.currency,
      amount: data.amount,
      processingCost: data.processingCost,
      quote: data.quote,
      metadata: { paymentId: data.paymentId, venueId: data.venueId, userId: data.userId },
    }),

  RefundRequested: ({ data, metadata }) => ({
    entryType: 'refund_requested',
    description: `refund ${data.refundId} of payment ${data.paymentId} set aside for the buyer`,
    postings: [
      ...takeBack(data.allocation, data.venueId, data.currency),
      credit(customerRefundsAccount(metadata.tenantId, data.userId), data.currency, data.amount),
    ],
    metadata: { paymentId: data.paymentId, refundId: data.refundId, reason: data.reason, requestedBy: data.requestedBy },
  }),

  RefundSucceeded: ({ data, metadata }) => ({
    entryType: 'refund_paid',
    description: `refund ${data.refundId} of payment ${data.paymentId} paid to the buyer`,
    postings: [debit(customerRefundsAccount(metadata.tenantId, data.userId), data.currency, data.amount), credit('gateway:clearing', data.currency, data.amount)],
    metadata: { paymentId: data.paymentId, refundId: data.refundId, gatewayReference: data.gatewayReference },
  }),

  RefundFailed: ({ data, metadata }) => ({
    entryType: 'refund_reversed',
    description: `refund ${data.refundId} of payment ${data.paymentId} refused by the gateway; returned`,
    postings: [
      debit(customerRefundsAccount(metadata.tenantId, data.userId), data.currency, data.amount),
      ...takeBack(data.allocation, data.venueId, data.currency).map(reverse),
    ],
    metadata: { paymentId: data.paymentId, refundId: data.refundId, code: data.code },
  }),

  DisputeClosed: ({ data }): Booking | null => {
    if (data.outcome === 'won' || !data.allocation) return null;
    return {
      entryType: 'chargeback',
      description: `chargeback ${data.disputeId} of payment ${data.paymentId}`,
      postings: [...takeBack(data.allocation, data.venueId, data.currency), credit('gateway:clearing', data.currency, data.amount)],
      metadata: { paymentId: data.paymentId, disputeId: data.disputeId },
    };
  },
};

/**
 * A sale's entry (a purchase, a group purchase): the buyer's money owed out to the venue, the
 * platform and the tax authorities, and the card network's cost, which the gateway keeps out of
 * clearing and the platform bears. One entry, as every money-moving event books one.
 */
export function saleBooking(sale: {
  readonly what: string;
  readonly venueId: string;
  readonly currency: string;
  readonly amount: number;
  readonly processingCost: number;
  readonly quote: PurchaseQuote;
  readonly metadata: Readonly<Record<string, unknown>>;
}): Booking {
  const { quote, currency } = sale;
  return {
    entryType: 'sale',
    description: `${sale.what}, and its card processing cost`,
    postings: [
      debit('gateway:clearing', currency, sale.amount),
      credit(venuePending(sale.venueId), currency, quote.venueProceeds),
      credit('platform:fees', currency, quote.platformFee.amount),
      credit('platform:gas', currency, quote.gas.amount),
      ...quote.taxes.map((line) => credit(taxAccount(line), currency, line.amount)),
      debit('gateway:fees', currency, sale.processingCost),
      credit('gateway:clearing', currency, sale.processingCost),
    ],
    metadata: {
      ...sale.metadata,
      tier: quote.platformFee.tier,
      feeSchedule: quote.platformFee.scheduleVersion,
      platformFeeBps: quote.platformFee.rateBps,
      taxTableVersion: quote.taxTableVersion,
      chain: quote.gas.chain,
      processingCostBps: quote.processingCost.rateBps,
      processingCostFixed: quote.processingCost.fixed,
    },
  };
}

/**
 * The debits that take an allocation's money back from whoever the capture owed it to. The
 * venue gives back its returned ticket price less the venue-borne tax that price no longer owes,
 * and that tax comes back from its jurisdiction: together exactly the allocation's ticket price.
 */
function takeBack(allocation: RefundAllocation, venueId: string, currency: string): Posting[] {
  const venueTaxBack = allocation.venueTaxReversed.reduce((sum, line) => sum + line.amount, 0);
  return [
    debit(venuePending(venueId), currency, allocation.ticketPrice - venueTaxBack),
    ...allocation.venueTaxReversed.map((line) => debit(taxAccount(line), currency, line.amount)),
    debit('platform:fees', currency, allocation.platformFee),
    debit('platform:gas', currency, allocation.gas),
    ...allocation.taxes.map((line: RefundTaxLine) => debit(taxAccount(line), currency, line.amount)),
  ];
}

const reverse = (posting: Posting): Posting => ({ ...posting, amount: -posting.amount });
