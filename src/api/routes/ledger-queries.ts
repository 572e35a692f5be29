import { z } from 'zod';
import { isUuid } from '../../domain/ids.js';
import { accountSchema, accountShape, currencySchema, normalSide } from '../../projections/ledger/accounts.js';
import { accountBalance, accountEntries, balancesUnder, trialBalance, type AccountEntry } from '../../projections/ledger/queries.js';
import { ledger } from '../../projections/ledger/projection.js';
import { asUser, authorize, may, venueOfAccount, type Principal } from '../../domain/access.js';
import { awaitReadModel, positionParam } from '../read-your-writes.js';
import type { RouteModule } from '../route.js';
import { isoDateTime, uuid } from '../schemas.js';

const LEDGER = ledger.name;

const amount = z.number().int();

const asOfParam = isoDateTime('must be an ISO-8601 date-time, e.g. 2026-11-22T12:00:00Z')
  .optional()
  .describe('Point in time (business time) to read balances at; now when omitted');

/** The ledger's bigints as JSON numbers: amounts are bounded far below 2^53 by the API's own limits. */
const toNumber = (value: bigint): number => Number(value);

/** What the ledger owes on a liability (credit) account, shown positive; a debit balance shows negative. */
const owed = (balance: bigint | undefined): number => -toNumber(balance ?? 0n);

const venueBalance = z.object({
  venueId: z.string(),
  balance: z.object({
    available: amount.describe('Owed to the venue and ready for payout'),
    pending: amount.describe('From recent sales, not yet available'),
    reserved: amount.describe('Held back against refunds and chargebacks'),
    currency: z.string(),
  }),
  payoutInfo: z.object({ available: amount, reserved: amount, payable: amount.describe('What a payout may take now') }),
  asOf: z.string().nullable(),
});

const ledgerEntry = z.object({
  entryId: z.string(),
  entryType: z.string(),
  description: z.string(),
  occurredAt: z.string(),
  recordedAt: z.string(),
  sourceEventId: z.string(),
  streamId: z.string(),
  streamRevision: z.number().int(),
  position: z.string(),
  amounts: z.array(z.object({ currency: z.string(), amount })).describe("The entry's net effect on this account (debit positive)"),
  postings: z.array(z.object({ account: z.string(), currency: z.string(), amount })),
  metadata: z.record(z.string(), z.unknown()),
});

const currencyBalance = z.object({ currency: z.string(), balance: amount, debits: amount, credits: amount, postings: z.number().int() });

/** Venue balances (seed 003 #11), account statements and the trial balance, read from the ledger. */
export const ledgerQueryRoutes: RouteModule = {
  name: 'ledger-queries',
  register(api) {
    const db = () => api.services.readSide.db;
    const wait = (position: string | undefined) => awaitReadModel(api.services, LEDGER, position, api.config.READ_WAIT_MS);

    api.route({
      method: 'GET',
      url: '/api/v1/venues/:venueId/balance',
      summary: "A venue's balance: available, pending, reserved and payable (its managers and admins)",
      description:
        'Read from the ledger accounts `venue:<id>:available|pending|reserved`. Credit balances (what the platform owes the venue) are shown positive.',
      tags: ['venues'],
      auth: 'user',
      params: z.object({ venueId: uuid }),
      query: z.object({ currency: currencySchema.default('USD'), asOf: asOfParam, position: positionParam }),
      response: venueBalance,
      handler: async ({ params, query, principal }) => {
        authorize(asUser(principal), 'read', { kind: 'venue', venueId: params.venueId });
        await wait(query.position);
        const asOf = query.asOf === undefined ? undefined : new Date(query.asOf);
        const under = await balancesUnder(db(), `venue:${params.venueId}:`, asOf ? { asOf } : {});
        // A venue with no money yet must at least exist.
        if (under.accounts.length === 0) await api.services.venues.getProfile(params.venueId);
        const of = (kind: string) =>
          owed(under.accounts.find((a) => a.account === `venue:${params.venueId}:${kind}` && a.currency === query.currency)?.balance);
        const available = of('available');
        const reserved = of('reserved');
        return {
          venueId: params.venueId,
          balance: { available, pending: of('pending'), reserved, currency: query.currency },
          payoutInfo: { available, reserved, payable: Math.max(0, available) },
          asOf: asOf?.toISOString() ?? null,
        };
      },
    });

    api.route({
      method: 'GET',
      url: '/api/v1/ledger/accounts/:account',
      summary: "An account's balance and its entries, newest first (admins; venue managers for their venues' accounts)",
      description:
        'Amounts carry the ledger sign: debit positive, credit negative. Page with `after` = the previous `nextCursor`. ' +
        "Admins see every leg of an entry; a venue manager sees the legs to their venues' accounts, and not the platform's " +
        'own card processing cost (`processingCostBps`, `processingCostFixed`) in the metadata.',
      tags: ['ledger'],
      auth: 'user',
      params: z.object({ account: accountSchema.overwrite(withVenueIdInLowerCase) }),
      query: z.object({
        asOf: asOfParam,
        limit: z.coerce.number().int().min(1).max(500).default(50),
        after: z.string().max(200).optional().describe('The nextCursor of the previous page'),
        order: z.enum(['desc', 'asc']).default('desc'),
        position: positionParam,
      }),
      response: z.object({
        account: z.string(),
        class: z.string(),
        normalBalance: z.enum(['debit', 'credit']),
        asOf: z.string().nullable(),
        balances: z.array(currencyBalance),
        entries: z.array(ledgerEntry),
        nextCursor: z.string().nullable(),
      }),
      handler: async ({ params, query, principal }) => {
        authorize(asUser(principal), 'read', { kind: 'ledger-account', account: params.account });
        await wait(query.position);
        const asOf = query.asOf === undefined ? undefined : new Date(query.asOf);
        const balance = await accountBalance(db(), params.account, asOf ? { asOf } : {});
        const page = await accountEntries(db(), params.account, {
          limit: query.limit,
          order: query.order,
          ...(query.after === undefined ? {} : { after: query.after }),
          ...(asOf ? { asOf } : {}),
        });
        const shape = accountShape(params.account)!;
        return {
          account: params.account,
          class: shape.class,
          normalBalance: normalSide(shape.class),
          asOf: asOf?.toISOString() ?? null,
          balances: balance.balances.map((b) => ({
            currency: b.currency,
            balance: toNumber(b.balance),
            debits: toNumber(b.debits),
            credits: toNumber(b.credits),
            postings: b.postings,
          })),
          entries: page.entries.map((entry) => entryJson(entry, principal)),
          nextCursor: page.nextCursor,
        };
      },
    });

    api.route({
      method: 'GET',
      url: '/api/v1/ledger/trial-balance',
      summary: 'Per currency, the debit and credit balances of every account: equal when the ledger balances (admins)',
      tags: ['ledger'],
      auth: { roles: ['admin'] },
      query: z.object({ asOf: asOfParam, position: positionParam }),
      response: z.object({
        asOf: z.string().nullable(),
        balanced: z.boolean(),
        currencies: z.array(z.object({ currency: z.string(), debits: amount, credits: amount, net: amount, accounts: z.number().int() })),
      }),
      handler: async ({ query }) => {
        await wait(query.position);
        const asOf = query.asOf === undefined ? undefined : new Date(query.asOf);
        const trial = await trialBalance(db(), asOf ? { asOf } : {});
        return {
          asOf: asOf?.toISOString() ?? null,
          balanced: trial.balanced,
          currencies: trial.currencies.map((c) => ({
            currency: c.currency,
            debits: toNumber(c.debits),
            credits: toNumber(c.credits),
            net: toNumber(c.net),
            accounts: c.accounts,
          })),
        };
      },
    });
  },
};

/**
 * A venue's accounts are named by its id, a UUID, which the API reads in either case and books in
 * lower case (src/api/schemas.ts): `venue:F622…:pending` is `venue:f622…:pending`.
 */
function withVenueIdInLowerCase(account: string): string {
  const venue = venueOfAccount(account);
  return venue !== undefined && isUuid(venue) ? `venue:${venue.toLowerCase()}${account.slice(6 + venue.length)}` : account;
}

/** What an entry's metadata says of the platform's own costs: for admins only. */
const PLATFORM_METADATA = new Set(['processingCostBps', 'processingCostFixed']);

/**
 * An entry as `principal` may see it: an admin every leg and all its metadata; a venue manager
 * the legs to their venues' accounts, and the metadata without the platform's own costs (a sale's
 * entry also books the card processing cost the platform bears).
 */
function entryJson(entry: AccountEntry, principal: Principal): z.output<typeof ledgerEntry> {
  const admin = principal.role === 'admin';
  return {
    entryId: entry.entryId,
    entryType: entry.entryType,
    description: entry.description,
    occurredAt: entry.occurredAt.toISOString(),
    recordedAt: entry.recordedAt.toISOString(),
    sourceEventId: entry.sourceEventId,
    streamId: entry.streamId,
    streamRevision: entry.streamRevision,
    position: entry.position,
    amounts: entry.amounts.map((a) => ({ currency: a.currency, amount: toNumber(a.amount) })),
    postings: entry.postings
      .filter((p) => admin || may(asUser(principal), 'read', { kind: 'ledger-account', account: p.account }))
      .map((p) => ({ account: p.account, currency: p.currency, amount: toNumber(p.amount) })),
    metadata: admin ? { ...entry.metadata } : Object.fromEntries(Object.entries(entry.metadata).filter(([key]) => !PLATFORM_METADATA.has(key))),
  };
}
