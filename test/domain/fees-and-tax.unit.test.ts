import { describe, expect, it } from 'vitest';
import { calculateTaxForVenue } from '../../src/commands/fees.js';
import { cardProcessingCost, gasCharge, tierForVolume } from '../../src/domain/fees.js';
import { commandIdFor, uuidV5 } from '../../src/domain/ids.js';
import { quotePurchase, seedFees, ticketPriceOf } from '../../src/domain/purchase-quote.js';
import { calculateTax, taxRulesFor } from '../../src/domain/tax.js';
import { thrownBy } from '../support/payments.js';

const nashville = { city: 'Nashville', state: 'TN' };

describe('fee tiers', () => {
  it('picks the tier by trailing 30-day volume, Pro at exactly $10k and at exactly $100k', () => {
    expect(tierForVolume(0).tier).toBe('starter');
    expect(tierForVolume(999_999).tier).toBe('starter');
    expect(tierForVolume(1_000_000).tier).toBe('pro');
    expect(tierForVolume(10_000_000).tier).toBe('pro');
    expect(tierForVolume(10_000_001).tier).toBe('enterprise');
    expect(tierForVolume(-5).tier).toBe('starter');
  });

  it('charges gas per ticket from the per-chain table', () => {
    expect(gasCharge('polygon', 2)).toEqual({ chain: 'polygon', perTicket: 50, ticketCount: 2, amount: 100 });
    expect(gasCharge('solana', 1).amount).toBe(50);
  });

  it('books card processing as 2.9% + 30c of the amount charged', () => {
    expect(cardProcessingCost(11_765)).toEqual({ rateBps: 290, fixed: 30, amount: 341 + 30 });
  });
});

describe('tax', () => {
  it('gives the seed calculate-tax answer for 10000 in Nashville: 700 + 225 + 100 = 1025', () => {
    expect(calculateTax(10_000, nashville)).toMatchObject({ stateTax: 700, localTax: 225, specialTax: 100, totalTax: 1025 });
    expect(calculateTaxForVenue({ amount: 10_000, venueAddress: nashville })).toMatchObject({
      totalTax: 1025,
      breakdown: {
        state: { name: 'Tennessee Sales Tax', rate: 7, amount: 700 },
        local: { name: 'Nashville Local Tax', rate: 2.25, amount: 225 },
        special: { name: 'Entertainment Tax', rate: 1, amount: 100 },
      },
    });
  });

  it('applies the entertainment tax in Memphis without a local tax, and only the state rate elsewhere', () => {
    expect(taxRulesFor({ city: 'memphis ', state: 'tn' }).map((r) => r.kind)).toEqual(['state', 'entertainment']);
    expect(taxRulesFor({ city: 'Knoxville', state: 'TN' }).map((r) => r.kind)).toEqual(['state']);
    expect(calculateTax(10_000, { city: 'Minneapolis', state: 'MN' })).toMatchObject({ stateTax: 688, totalTax: 688 });
    expect(calculateTax(10_000, { city: 'Portland', state: 'OR' }).totalTax).toBe(0);
  });

  it('refuses a state it has no rate for', () => {
    expect(() => calculateTax(100, { city: 'X', state: 'ZZ' })).toThrow(RangeError);
    expect(thrownBy(() => calculateTaxForVenue({ amount: 100, venueAddress: { city: 'X', state: 'ZZ' } }))).toMatchObject({
      code: 'TAX_JURISDICTION_UNKNOWN',
    });
  });
});

describe('purchase quote', () => {
  it('reproduces the seed purchase: $100 at Pro with 50c gas and Nashville taxes is 11765', () => {
    const quote = quotePurchase({ ticketPrice: 10_000, ticketCount: 1, venueAddress: nashville, trailingVolume: 2_500_000, chain: 'polygon' });
    expect(seedFees(quote)).toEqual({ ticketPrice: 10_000, platformFee: 790, gasEstimate: 50, stateTax: 700, localTax: 225, total: 11_765 });
    expect(quote.platformFee).toMatchObject({ tier: 'pro', rateBps: 790, tierSource: 'volume', trailingVolume: 2_500_000 });
    expect(quote).toMatchObject({ buyerTax: 925, venueTax: 100, venueProceeds: 9_900 });
  });

  it('reproduces the seed calculate-fees: two tickets for 10000 at Starter is 11845', () => {
    const quote = quotePurchase({ ticketPrice: 10_000, ticketCount: 2, venueAddress: nashville, trailingVolume: 0, chain: 'polygon' });
    expect(seedFees(quote)).toEqual({ ticketPrice: 10_000, platformFee: 820, gasEstimate: 100, stateTax: 700, localTax: 225, total: 11_845 });
  });

  it('lets a venue profile pin its tier', () => {
    const quote = quotePurchase({ ticketPrice: 10_000, ticketCount: 1, venueAddress: nashville, trailingVolume: 0, tierOverride: 'enterprise', chain: 'solana' });
    expect(quote.platformFee).toMatchObject({ tier: 'enterprise', amount: 750, tierSource: 'override' });
  });

  it('sums ticket lines as quantity times unit price', () => {
    const lines = [
      { ticketTypeId: 'a', quantity: 2, unitPrice: 5_000, priceSource: 'catalogue' },
      { ticketTypeId: 'b', quantity: 1, unitPrice: 2_550, priceSource: 'catalogue' },
    ] as const;
    expect(ticketPriceOf(lines)).toEqual({ ticketPrice: 12_550, ticketCount: 3 });
  });
});

describe('deterministic ids', () => {
  it('implements RFC 4122 version 5 as Python uuid5 does for the DNS namespace', () => {
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('folds tenant and user into a command id so equal keys of two users never collide', () => {
    expect(commandIdFor('t', 'u1', 'K')).toBe(commandIdFor('t', 'u1', 'k'));
    expect(commandIdFor('t', 'u1', 'k')).not.toBe(commandIdFor('t', 'u2', 'k'));
  });
});
