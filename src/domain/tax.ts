import { partsPerMillionOf, sumMinor } from './money.js';

/**
 * Admission taxes, kept as data, sourced to the venue (where the event happens). Rates are in
 * parts per million because some statewide rates are not whole basis points (Minnesota 6.875%).
 *
 * Who bears what (the seed's own examples disagree; see docs/money.md): the buyer pays the sales
 * taxes (state and local) on top of the ticket price; the entertainment (amusement) tax is
 * computed on the ticket price too but borne by the venue, withheld from its proceeds.
 */
export type TaxKind = 'state' | 'local' | 'entertainment';

export interface TaxRule {
  readonly kind: TaxKind;
  /** Where it is owed, as it appears in ledger accounts: `tax:<jurisdiction>:payable`. */
  readonly jurisdiction: string;
  readonly name: string;
  readonly ratePpm: number;
  readonly borneBy: 'buyer' | 'venue';
}

export interface TaxLine extends TaxRule {
  readonly amount: number;
}

export const TAX_TABLE_VERSION = '2025-01';

/** Statewide base sales tax rates (2025), the seed's "fallback to basic state rates". */
export const STATE_SALES_TAX_PPM: Readonly<Record<string, number>> = {
  AL: 40_000, AK: 0, AZ: 56_000, AR: 65_000, CA: 72_500, CO: 29_000, CT: 63_500, DE: 0, DC: 60_000,
  FL: 60_000, GA: 40_000, HI: 40_000, ID: 60_000, IL: 62_500, IN: 70_000, IA: 60_000, KS: 65_000,
  KY: 60_000, LA: 50_000, ME: 55_000, MD: 60_000, MA: 62_500, MI: 60_000, MN: 68_750, MS: 70_000,
  MO: 42_250, MT: 0, NE: 55_000, NV: 68_500, NH: 0, NJ: 66_250, NM: 48_750, NY: 40_000, NC: 47_500,
  ND: 50_000, OH: 57_500, OK: 45_000, OR: 0, PA: 60_000, RI: 70_000, SC: 60_000, SD: 42_000,
  TN: 70_000, TX: 62_500, UT: 48_500, VT: 60_000, VA: 43_000, WA: 65_000, WV: 60_000, WI: 50_000,
  WY: 40_000,
};

const STATE_NAMES: Readonly<Record<string, string>> = { TN: 'Tennessee' };

interface CityTaxes {
  readonly local?: { readonly name: string; readonly ratePpm: number };
  readonly entertainment?: { readonly name: string; readonly ratePpm: number };
}

/** Local taxes by `STATE:city` (city lower-cased). Seed 003: Nashville 2.25% local; 1% entertainment in Nashville and Memphis. */
export const CITY_TAXES: Readonly<Record<string, CityTaxes>> = {
  'TN:nashville': {
    local: { name: 'Nashville Local Tax', ratePpm: 22_500 },
    entertainment: { name: 'Entertainment Tax', ratePpm: 10_000 },
  },
  'TN:memphis': { entertainment: { name: 'Entertainment Tax', ratePpm: 10_000 } },
};

export interface TaxAddress {
  readonly city: string;
  readonly state: string;
}

export const isKnownState = (state: string): boolean => Object.hasOwn(STATE_SALES_TAX_PPM, state.trim().toUpperCase());

const slug = (text: string) => text.trim().toLowerCase().replace(/[^a-z0-9]+/g, '-');

/** The rules that apply at an address, in a fixed order: state, local, entertainment. */
export function taxRulesFor(address: TaxAddress): TaxRule[] {
  const state = address.state.trim().toUpperCase();
  const statePpm = STATE_SALES_TAX_PPM[state];
  if (statePpm === undefined) throw new RangeError(`no sales tax rate for state ${address.state}`);
  const city = address.city.trim().toLowerCase();
  const local = CITY_TAXES[`${state}:${city}`];
  const cityJurisdiction = `${state.toLowerCase()}-${slug(city)}`;
  const rules: TaxRule[] = [
    {
      kind: 'state',
      jurisdiction: state.toLowerCase(),
      name: `${STATE_NAMES[state] ?? state} Sales Tax`,
      ratePpm: statePpm,
      borneBy: 'buyer',
    },
  ];
  if (local?.local) rules.push({ kind: 'local', jurisdiction: cityJurisdiction, ...local.local, borneBy: 'buyer' });
  if (local?.entertainment) {
    rules.push({ kind: 'entertainment', jurisdiction: cityJurisdiction, ...local.entertainment, borneBy: 'venue' });
  }
  return rules;
}

/** Each component is rounded on its own (half-up), as the seed's breakdown shows: 700 + 225 + 100. */
export function taxLines(taxable: number, address: TaxAddress): TaxLine[] {
  return taxRulesFor(address).map((rule) => ({ ...rule, amount: partsPerMillionOf(taxable, rule.ratePpm) }));
}

export interface TaxBreakdown {
  readonly tableVersion: string;
  readonly taxableAmount: number;
  readonly stateTax: number;
  readonly localTax: number;
  readonly specialTax: number;
  readonly totalTax: number;
  readonly lines: readonly TaxLine[];
}

const amountOf = (lines: readonly TaxLine[], kind: TaxKind) => sumMinor(lines.filter((l) => l.kind === kind).map((l) => l.amount));

/** `/internal/calculate-tax`: every component at the venue's address, whoever bears it. */
export function calculateTax(taxable: number, address: TaxAddress): TaxBreakdown {
  const lines = taxLines(taxable, address);
  return {
    tableVersion: TAX_TABLE_VERSION,
    taxableAmount: taxable,
    stateTax: amountOf(lines, 'state'),
    localTax: amountOf(lines, 'local'),
    specialTax: amountOf(lines, 'entertainment'),
    totalTax: sumMinor(lines.map((l) => l.amount)),
    lines,
  };
}

/** A rate in ppm as the seed's percentage number (70000 -> 7, 22500 -> 2.25), for display only. */
export const ratePercent = (ratePpm: number): number => ratePpm / 10_000;
