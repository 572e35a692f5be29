import { z } from 'zod';
import { uuidV5 } from '../../domain/ids.js';

/**
 * The chart of accounts (docs/ledger.md). An account is a colon-separated path; `<id>` segments
 * are ids (letters, digits, `_`, `.`, `-`). Every posting's account must match one of these
 * shapes, so a typo such as `venu:42:pending` stops the ledger instead of opening a new account.
 *
 * Sign convention: amounts are debit positive, credit negative. Asset and expense accounts
 * normally carry a debit (positive) balance; liability and revenue accounts a credit (negative)
 * one. The whole ledger sums to zero in each currency.
 */
export type AccountClass = 'asset' | 'liability' | 'revenue' | 'expense';

export interface AccountShape {
  /** The path with placeholders, e.g. `venue:<id>:pending`. */
  readonly path: string;
  readonly class: AccountClass;
  readonly description: string;
}

export const CHART_OF_ACCOUNTS: readonly AccountShape[] = [
  {
    path: 'gateway:clearing',
    class: 'asset',
    description: 'Money captured through the payment gateway and not yet paid out: what the platform holds.',
  },
  { path: 'gateway:fees', class: 'expense', description: 'Processing fees the gateway charged the platform.' },
  {
    path: 'venue:<id>:pending',
    class: 'liability',
    description: "A venue's share of ticket sales, owed to it but not yet available for payout.",
  },
  { path: 'venue:<id>:available', class: 'liability', description: 'Owed to the venue and available for payout.' },
  {
    path: 'venue:<id>:reserved',
    class: 'liability',
    description: 'Owed to the venue but held back as a reserve against refunds and chargebacks.',
  },
  {
    path: 'venue:<id>:paid_out',
    class: 'liability',
    description: 'Payouts the venue asked for that the gateway has not yet settled (money in transit).',
  },
  { path: 'platform:fees', class: 'revenue', description: "The platform's fees on purchases and resales." },
  { path: 'platform:gas', class: 'revenue', description: 'Minting (gas) fees collected from buyers; minting costs are booked against it.' },
  { path: 'tax:<jurisdiction>:payable', class: 'liability', description: 'Taxes collected and owed to a jurisdiction (state, city, special).' },
  { path: 'escrow:<id>', class: 'liability', description: 'A resale buyer\'s money held in escrow until it is released or refunded.' },
  { path: 'seller:<id>:payable', class: 'liability', description: 'Owed to a resale seller once escrow is released.' },
  {
    path: 'seller:<id>:paid_out',
    class: 'liability',
    description: 'Payouts the seller asked for that the gateway has not yet settled (money in transit).',
  },
  {
    path: 'royalty:<party>:<id>',
    class: 'liability',
    description: 'Resale royalties owed to a party (`venue`, `artist`, `platform`) and its id.',
  },
  {
    path: 'royalty:<party>:<id>:paid_out',
    class: 'liability',
    description: 'Royalty payouts the holder asked for that the gateway has not yet settled (money in transit).',
  },
  { path: 'customer:<id>:refunds', class: 'liability', description: 'Refunds owed to a customer until the gateway has paid them back.' },
];

/**
 * A user's id in an account path (`customer:<id>:refunds`, `seller:<id>:payable`): a UUID derived
 * from the tenant and the user. A token's `sub` may be any text (`auth0|5f7c…`, an e-mail), which
 * would not make a path of the chart and would stop the ledger for everyone; and the same `sub`
 * in two tenants is two people, who must not share what the ledger owes them.
 */
export const userAccountId = (tenantId: string, userId: string): string => uuidV5(`ledger-user:${JSON.stringify([tenantId, userId])}`);

export const customerRefundsAccount = (tenantId: string, userId: string): string => `customer:${userAccountId(tenantId, userId)}:refunds`;

export const sellerPayableAccount = (tenantId: string, sellerId: string): string => `seller:${userAccountId(tenantId, sellerId)}:payable`;

const ID = '[A-Za-z0-9][A-Za-z0-9_.-]{0,99}';
const PARTY = '[a-z][a-z_]{0,31}';

function shapeRegex(path: string): RegExp {
  const pattern = path
    .split(':')
    .map((segment) => (segment === '<party>' ? PARTY : segment.startsWith('<') ? ID : segment))
    .join(':');
  return new RegExp(`^${pattern}$`);
}

const SHAPES = CHART_OF_ACCOUNTS.map((shape) => ({ shape, regex: shapeRegex(shape.path) }));

/** Recently matched paths: a ledger posts to the same few accounts over and over. */
const matched = new Map<string, AccountShape | undefined>();
const MATCH_CACHE_SIZE = 50_000;

/** The shape an account path has in the chart, or undefined when it is malformed or unknown. */
export function accountShape(account: string): AccountShape | undefined {
  if (matched.has(account)) return matched.get(account);
  const shape = SHAPES.find(({ regex }) => regex.test(account))?.shape;
  if (matched.size >= MATCH_CACHE_SIZE) matched.clear();
  matched.set(account, shape);
  return shape;
}

export const isAccount = (account: string): boolean => accountShape(account) !== undefined;

/** Whether a balance is normally a debit (assets, expenses) or a credit (liabilities, revenue). */
export const normalSide = (accountClass: AccountClass): 'debit' | 'credit' =>
  accountClass === 'asset' || accountClass === 'expense' ? 'debit' : 'credit';

export const CURRENCY = /^[A-Z]{3}$/;

/** For the API edge: an account path in the chart. */
export const accountSchema = z.string().max(255).refine(isAccount, { message: 'not an account in the chart of accounts' });

/**
 * For the API edge: a prefix of account paths ending at a segment boundary, such as
 * `venue:<id>:` (every account of one venue) or `tax:`.
 */
export const accountPrefixSchema = z
  .string()
  .max(255)
  .regex(/^(?:[A-Za-z0-9][A-Za-z0-9_.-]*:)+$/, { message: 'an account prefix is whole segments each followed by a colon' });

export const currencySchema = z.string().regex(CURRENCY, { message: 'a currency is three capital letters (ISO 4217)' });
