import {
  cardProcessingCost,
  gasCharge,
  platformFee,
  type Chain,
  type GasCharge,
  type PlatformFee,
  type ProcessingCost,
  type VenueTier,
} from './fees.js';
import { sumMinor } from './money.js';
import { TAX_TABLE_VERSION, taxLines, type TaxAddress, type TaxLine } from './tax.js';

/**
 * Who set a ticket line's unit price: the ticket catalogue, as every purchase path does since
 * issue 17, or the buyer's request, as purchases recorded before it were priced.
 */
export type PriceSource = 'catalogue' | 'request';

export interface TicketLine {
  readonly ticketTypeId: string;
  readonly quantity: number;
  /** Price of one ticket, in cents. */
  readonly unitPrice: number;
  readonly priceSource: PriceSource;
  readonly seatNumbers?: readonly string[];
}

export interface QuoteInput {
  readonly ticketPrice: number;
  readonly ticketCount: number;
  readonly venueAddress: TaxAddress;
  readonly trailingVolume: number;
  readonly tierOverride?: VenueTier;
  readonly chain: Chain;
}

/**
 * Everything the buyer is charged and how it splits, as one record: a purchase event carries it
 * whole, so the ledger and any later audit read the numbers rather than recompute them.
 *
 * total = ticket price + platform fee + gas + buyer-borne taxes. Fees and taxes are computed on
 * the ticket price. The venue's proceeds are the ticket price less the taxes it bears.
 */
export interface PurchaseQuote {
  readonly currency: 'USD';
  readonly ticketCount: number;
  readonly ticketPrice: number;
  readonly platformFee: PlatformFee;
  readonly gas: GasCharge;
  readonly taxTableVersion: string;
  readonly taxes: readonly TaxLine[];
  readonly buyerTax: number;
  readonly venueTax: number;
  readonly total: number;
  readonly venueProceeds: number;
  /** What the card network will charge the platform for taking `total`; not part of it. */
  readonly processingCost: ProcessingCost;
}

export function ticketPriceOf(lines: readonly TicketLine[]): { ticketPrice: number; ticketCount: number } {
  return {
    ticketPrice: sumMinor(lines.map((l) => l.quantity * l.unitPrice)),
    ticketCount: sumMinor(lines.map((l) => l.quantity)),
  };
}

export function quotePurchase(input: QuoteInput): PurchaseQuote {
  const fee = platformFee(input.ticketPrice, input.trailingVolume, input.tierOverride);
  const gas = gasCharge(input.chain, input.ticketCount);
  const taxes = taxLines(input.ticketPrice, input.venueAddress);
  const buyerTax = sumMinor(taxes.filter((t) => t.borneBy === 'buyer').map((t) => t.amount));
  const venueTax = sumMinor(taxes.filter((t) => t.borneBy === 'venue').map((t) => t.amount));
  const total = sumMinor([input.ticketPrice, fee.amount, gas.amount, buyerTax]);
  return {
    currency: 'USD',
    ticketCount: input.ticketCount,
    ticketPrice: input.ticketPrice,
    platformFee: fee,
    gas,
    taxTableVersion: TAX_TABLE_VERSION,
    taxes,
    buyerTax,
    venueTax,
    total,
    venueProceeds: input.ticketPrice - venueTax,
    processingCost: cardProcessingCost(total),
  };
}

/** The seed's `fees` object (calculate-fees and process responses). */
export interface SeedFees {
  readonly ticketPrice: number;
  readonly platformFee: number;
  readonly gasEstimate: number;
  readonly stateTax: number;
  readonly localTax: number;
  readonly total: number;
}

export function seedFees(quote: PurchaseQuote): SeedFees {
  const buyerTaxOf = (kind: TaxLine['kind']) =>
    sumMinor(quote.taxes.filter((t) => t.kind === kind && t.borneBy === 'buyer').map((t) => t.amount));
  return {
    ticketPrice: quote.ticketPrice,
    platformFee: quote.platformFee.amount,
    gasEstimate: quote.gas.amount,
    stateTax: buyerTaxOf('state'),
    localTax: buyerTaxOf('local'),
    total: quote.total,
  };
}
