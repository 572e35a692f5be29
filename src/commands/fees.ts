import { DEFAULT_CHAIN, GAS_SCHEDULE, type Chain } from '../domain/fees.js';
import { quotePurchase, seedFees, type PurchaseQuote, type SeedFees } from '../domain/purchase-quote.js';
import { calculateTax, isKnownState, ratePercent, type TaxAddress, type TaxBreakdown } from '../domain/tax.js';
import { TesseraError } from '../errors.js';
import type { EventStore } from '../eventstore/event-store.js';
import type { VenueProfileData } from '../events/venue.js';
import type { VenueVolume } from '../projections/venue-volume.js';
import { requireVenueProfile } from './venue.js';

export interface FeeQuote {
  readonly fees: SeedFees;
  readonly quote: PurchaseQuote;
  /** Per-chain gas charge per ticket (cents), for the seed's `gasEstimates`. */
  readonly gasEstimates: Readonly<Record<Chain, { blockchain: Chain; perTicket: number; total: number }>>;
  readonly recommendedBlockchain: Chain;
}

/** The quote a purchase at this venue would get now: the venue's tier, address taxes, gas. */
export async function quoteForVenue(
  deps: { store: EventStore; volume: VenueVolume },
  input: { venueId: string; ticketPrice: number; ticketCount: number; chain?: Chain },
  now: Date,
): Promise<PurchaseQuote> {
  return quoteAtVenue(deps, await requireVenueProfile(deps.store, input.venueId), input, now);
}

/** quoteForVenue, for a venue whose profile is at hand. */
export async function quoteAtVenue(
  deps: { volume: VenueVolume },
  venue: VenueProfileData,
  input: { venueId: string; ticketPrice: number; ticketCount: number; chain?: Chain },
  now: Date,
): Promise<PurchaseQuote> {
  const trailingVolume = await deps.volume.trailing30Days(input.venueId, now);
  return quotePurchase({
    ticketPrice: input.ticketPrice,
    ticketCount: input.ticketCount,
    venueAddress: venue.address,
    trailingVolume,
    ...(venue.tierOverride ? { tierOverride: venue.tierOverride } : {}),
    chain: input.chain ?? DEFAULT_CHAIN,
  });
}

/** `POST /api/v1/payments/calculate-fees`: `amount` is the ticket price for `ticketCount` tickets. */
export async function calculateFees(
  deps: { store: EventStore; volume: VenueVolume; defaultChain?: Chain },
  input: { venueId: string; amount: number; ticketCount: number; chain?: Chain },
  now: Date,
): Promise<FeeQuote> {
  const chain = input.chain ?? deps.defaultChain ?? DEFAULT_CHAIN;
  const quote = await quoteForVenue(deps, { venueId: input.venueId, ticketPrice: input.amount, ticketCount: input.ticketCount, chain }, now);
  const estimate = (blockchain: Chain) => ({
    blockchain,
    perTicket: GAS_SCHEDULE[blockchain].chargePerTicket,
    total: GAS_SCHEDULE[blockchain].chargePerTicket * input.ticketCount,
  });
  return {
    fees: seedFees(quote),
    quote,
    gasEstimates: { polygon: estimate('polygon'), solana: estimate('solana') },
    recommendedBlockchain: chain,
  };
}

/** The seed's `/internal/calculate-tax` response body. */
export interface SeedTaxResponse {
  readonly taxableAmount: number;
  readonly stateTax: number;
  readonly localTax: number;
  readonly specialTax: number;
  readonly totalTax: number;
  readonly breakdown: Readonly<Record<'state' | 'local' | 'special', { name: string; rate: number; amount: number } | undefined>>;
  readonly tableVersion: string;
}

/**
 * `POST /internal/calculate-tax`: taxes are sourced to the venue's address (where the event
 * takes place); the customer's address does not change admission taxes.
 */
export function calculateTaxForVenue(input: { amount: number; venueAddress: TaxAddress }): SeedTaxResponse {
  if (!isKnownState(input.venueAddress.state)) {
    throw new TesseraError('TAX_JURISDICTION_UNKNOWN', `no tax rules for state ${input.venueAddress.state}`);
  }
  const tax: TaxBreakdown = calculateTax(input.amount, input.venueAddress);
  const line = (kind: 'state' | 'local' | 'entertainment') => {
    const found = tax.lines.find((l) => l.kind === kind);
    return found && { name: found.name, rate: ratePercent(found.ratePpm), amount: found.amount };
  };
  return {
    taxableAmount: tax.taxableAmount,
    stateTax: tax.stateTax,
    localTax: tax.localTax,
    specialTax: tax.specialTax,
    totalTax: tax.totalTax,
    breakdown: { state: line('state'), local: line('local'), special: line('entertainment') },
    tableVersion: tax.tableVersion,
  };
}
