import type { TaxKind } from './tax.js';
import { allocate, applyRate, sumMinor } from './money.js';

/** Where every cent of a refund comes from, so the ledger books it without recomputing. */
export interface RefundAllocation {
  readonly ticketPrice: number;
  readonly platformFee: number;
  readonly gas: number;
  /** Buyer-borne taxes returned to the buyer, one line per component of the quote. */
  readonly taxes: readonly RefundTaxLine[];
  /**
   * Venue-borne taxes (entertainment) no longer owed because ticket price went back: they
   * return to the venue's proceeds, not to the buyer, so they are not part of `amount`.
   */
  readonly venueTaxReversed: readonly RefundTaxLine[];
}

export interface RefundTaxLine {
  readonly kind: TaxKind;
  readonly jurisdiction: string;
  readonly amount: number;
}
import type { PurchaseQuote } from './purchase-quote.js';

/**
 * Splits a refund over what remains of each buyer-paid component (ticket price, platform fee,
 * gas, each buyer-borne tax) in proportion to those remainders. Every cent is allocated, and no
 * component is ever refunded beyond what was paid for it, so a last refund of "the rest" returns
 * exactly the remainders. Venue-borne taxes are reversed in step with the ticket price, half-up.
 */
export function allocateRefund(quote: PurchaseQuote, already: readonly RefundAllocation[], amount: number): RefundAllocation {
  const original = componentsOf(quote);
  const used = already.map(componentsOfAllocation);
  const remaining = original.buyer.map((value, i) => value - sumMinor(used.map((u) => u.buyer[i]!)));
  const parts = allocate(amount, remaining);
  const ticketRemaining = remaining[0]!;
  const ticketRefunded = parts[0]!;
  const venueRemaining = original.venue.map((value, i) => value - sumMinor(used.map((u) => u.venue[i]!)));
  const buyerTaxLines = quote.taxes.filter((t) => t.borneBy === 'buyer');
  const venueTaxLines = quote.taxes.filter((t) => t.borneBy === 'venue');
  return {
    ticketPrice: ticketRefunded,
    platformFee: parts[1]!,
    gas: parts[2]!,
    taxes: buyerTaxLines.map((t, i) => ({ kind: t.kind, jurisdiction: t.jurisdiction, amount: parts[3 + i]! })),
    venueTaxReversed: venueTaxLines.map((t, i) => ({
      kind: t.kind,
      jurisdiction: t.jurisdiction,
      amount: ticketRemaining === 0 ? 0 : applyRate(venueRemaining[i]!, ticketRefunded, ticketRemaining),
    })),
  };
}

/** The amount a refund allocation returns to the buyer. */
export const allocationTotal = (allocation: RefundAllocation): number =>
  sumMinor([allocation.ticketPrice, allocation.platformFee, allocation.gas, ...allocation.taxes.map((t) => t.amount)]);

interface Components {
  readonly buyer: readonly number[];
  readonly venue: readonly number[];
}

function componentsOf(quote: PurchaseQuote): Components {
  return {
    buyer: [
      quote.ticketPrice,
      quote.platformFee.amount,
      quote.gas.amount,
      ...quote.taxes.filter((t) => t.borneBy === 'buyer').map((t) => t.amount),
    ],
    venue: quote.taxes.filter((t) => t.borneBy === 'venue').map((t) => t.amount),
  };
}

const amounts = (lines: readonly RefundTaxLine[]) => lines.map((l) => l.amount);

function componentsOfAllocation(allocation: RefundAllocation): Components {
  return {
    buyer: [allocation.ticketPrice, allocation.platformFee, allocation.gas, ...amounts(allocation.taxes)],
    venue: amounts(allocation.venueTaxReversed),
  };
}
