import { z } from 'zod';
import { asUser, authorize, type Principal } from '../../domain/access.js';
import { isUuid } from '../../domain/ids.js';
import type { Payee } from '../../events/payee-account.js';
import { userAccountId } from '../../projections/ledger/accounts.js';
import { ledger } from '../../projections/ledger/projection.js';
import { actorOf } from '../auth/principal.js';
import { callerCommandContext, userCommandContext } from '../command-context.js';
import { answeredPosition, awaitReadModel, positionAnswer, positionParam } from '../read-your-writes.js';
import type { RouteModule } from '../route.js';
import { isoDate, isoDateTime, positiveCents } from '../schemas.js';

/**
 * Payouts and statements of resale sellers and royalty holders (issue 23), under the venue payout
 * rules: `seller:<id>:payable` and `royalty:<party>:<id>` paid out through the payout gateway.
 * A seller acts for themselves only (tenant and user from the token); a venue's royalties are its
 * managers' and admins', an artist's admins'.
 */
const sellerId = z.string().min(1).max(200).describe("The seller's user id (the token's `sub`)");
const holderId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/, { error: 'an id of letters, digits, _ . -' });
/** A venue's royalties are named by the venue's id, a UUID, read in either case and booked in lower case. */
const royaltyParams = z
  .object({ party: z.enum(['venue', 'artist']).describe('Whose royalties: a venue (its id) or an artist'), holderId })
  .refine((p) => p.party !== 'venue' || isUuid(p.holderId), { error: 'must be a UUID', path: ['holderId'] })
  .transform((p) => (p.party === 'venue' ? { ...p, holderId: p.holderId.toLowerCase() } : p));

const payoutBody = z.object({
  amount: positiveCents.max(Number.MAX_SAFE_INTEGER).describe('Cents taken from what is owed; an instant fee comes out of it'),
  instant: z.boolean().default(false),
  currency: z.enum(['USD']).default('USD'),
});

const payoutResponse = z.object({
  success: z.literal(true),
  message: z.string(),
  payoutId: z.string(),
  amount: z.number().int(),
  fee: z.number().int(),
  netAmount: z.number().int().describe('What reaches the payee: amount less the fee'),
  type: z.enum(['standard', 'instant']),
  estimatedArrival: z.string(),
  destination: z.string(),
  position: positionAnswer.describe('Read your writes: pass it as `?position=` to the statement route'),
});

const payoutAccountBody = z.object({
  payoutAccount: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,255}$/, { error: 'a gateway account id such as acct_…' })
    .nullable()
    .describe('The gateway account payouts go to (a Stripe Connect `acct_…`); null removes it'),
});

const payoutAccountResponse = z.object({
  payoutAccount: z.string().nullable(),
  holdUntil: z.string().nullable().describe('Payouts wait until then after a change'),
  position: positionAnswer,
});

const dateOrDateTime = z
  .union([isoDate('must be an ISO-8601 date'), isoDateTime('must be an ISO-8601 date-time with an offset')], {
    error: 'must be an ISO-8601 date or date-time',
  })
  .transform((value) => new Date(value));

const statementQuery = z
  .object({
    startDate: dateOrDateTime.default(new Date(0)),
    endDate: dateOrDateTime.default(new Date('9999-12-31T00:00:00Z')),
    currency: z.enum(['USD']).default('USD'),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    after: z.string().max(200).optional().describe('The nextCursor of the previous page'),
    position: positionParam,
  })
  .refine((q) => q.startDate <= q.endDate, { error: 'must not be before startDate', path: ['endDate'] });

const statementResponse = z.object({
  account: z.string(),
  currency: z.string(),
  startDate: z.string(),
  endDate: z.string(),
  openingBalance: z.number().int().describe('Owed at startDate'),
  closingBalance: z.number().int().describe('Owed at endDate'),
  inTransit: z.number().int().describe('Paid out and not yet settled by the gateway at endDate'),
  entries: z.array(
    z.object({
      entryId: z.string(),
      entryType: z.string().describe('escrow_released (a sale credited), payout_requested, payout_reversed'),
      description: z.string(),
      occurredAt: z.string(),
      amount: z.number().int().describe('Its effect on what is owed: credited positive, paid out negative'),
      fee: z.number().int().describe("The platform's part of the entry: a resale's fee, a payout's instant fee"),
      escrowId: z.string().nullable(),
      payoutId: z.string().nullable(),
    }),
  ),
  nextCursor: z.string().nullable(),
});

/** The seller's payee: their ledger account id, from the token's tenant and the user. */
const sellerPayee = (principal: Principal, userId: string): Payee => ({ kind: 'seller', id: userAccountId(principal.tenantId, userId) });

export const payeePayoutRoutes: RouteModule = {
  name: 'payee-payouts',
  register(api) {
    const { payees } = api.services;

    const payoutAnswer = (payout: Awaited<ReturnType<typeof payees.requestPayout>>) => ({
      success: true as const,
      message: 'Payout initiated',
      payoutId: payout.payout.payoutId,
      amount: payout.payout.amount,
      fee: payout.payout.fee,
      netAmount: payout.payout.net,
      type: payout.payout.type,
      estimatedArrival: payout.payout.estimatedArrival,
      destination: payout.payout.destination,
      position: answeredPosition(payout.position),
    });

    const statement = async (payee: Payee, query: z.output<typeof statementQuery>) => {
      await awaitReadModel(api.services, ledger.name, query.position, api.config.READ_WAIT_MS);
      const found = await payees.statement(payee, {
        currency: query.currency,
        startDate: query.startDate,
        endDate: query.endDate,
        limit: query.limit,
        ...(query.after === undefined ? {} : { after: query.after }),
      });
      return {
        account: found.account,
        currency: found.currency,
        startDate: query.startDate.toISOString(),
        endDate: query.endDate.toISOString(),
        openingBalance: found.openingBalance,
        closingBalance: found.closingBalance,
        inTransit: found.inTransit,
        entries: found.lines.map((l) => ({ ...l, occurredAt: l.occurredAt.toISOString() })),
        nextCursor: found.nextCursor,
      };
    };

    const payoutDescription =
      'The venue payout rules: less than 10000 cents is 422 PAYOUT_BELOW_MINIMUM; more than is owed is 400 ' +
      'INSUFFICIENT_FUNDS with `details.payable`; past 5,000,000 cents in a UTC day is 422 PAYOUT_LIMIT_EXCEEDED; instant ' +
      'pays a 1% fee out of the amount. No payout account is 409 PAYOUT_ACCOUNT_REQUIRED; within ' +
      'PAYOUT_ACCOUNT_CHANGE_HOLD_MS of a change of it, 409 PAYOUT_ON_HOLD. The amount leaves what is owed at once; ' +
      'the transfer runs in the background.';

    api.route({
      method: 'PUT',
      url: '/api/v1/sellers/:sellerId/payout-account',
      summary: 'Set or remove where a resale seller is paid (the seller only)',
      description: 'A change holds payouts for PAYOUT_ACCOUNT_CHANGE_HOLD_MS (24 h); setting the same account again changes nothing.',
      tags: ['payouts'],
      auth: 'user',
      idempotent: false,
      params: z.object({ sellerId }),
      body: payoutAccountBody,
      response: payoutAccountResponse,
      handler: async ({ params, body, principal, correlationId }) => {
        authorize(asUser(principal), 'register', { kind: 'payee', payee: 'seller', id: params.sellerId });
        const result = await payees.setPayoutAccount(
          { payee: sellerPayee(principal, params.sellerId), payoutAccount: body.payoutAccount, changedBy: actorOf(principal) },
          callerCommandContext(api.services, asUser(principal), correlationId),
        );
        return { payoutAccount: result.payoutAccount, holdUntil: result.holdUntil, position: answeredPosition(result.position) };
      },
    });

    api.route({
      method: 'POST',
      url: '/api/v1/sellers/:sellerId/payout',
      summary: "Pay out a resale seller's proceeds (`seller:<id>:payable`; the seller only)",
      description: payoutDescription,
      tags: ['payouts'],
      auth: 'user',
      idempotent: true,
      params: z.object({ sellerId }),
      body: payoutBody,
      response: payoutResponse,
      handler: async ({ params, body, principal, commandKey, correlationId }) => {
        authorize(asUser(principal), 'payout', { kind: 'payee', payee: 'seller', id: params.sellerId });
        const payout = await payees.requestPayout(
          { payee: sellerPayee(principal, params.sellerId), ...body, requestedBy: actorOf(principal) },
          userCommandContext(api.services, principal, commandKey, correlationId),
        );
        return payoutAnswer(payout);
      },
    });

    api.route({
      method: 'GET',
      url: '/api/v1/sellers/:sellerId/statement',
      summary: "A resale seller's statement: sales credited, payouts and fees between two dates (the seller, admins)",
      description: '`startDate` inclusive, `endDate` exclusive (422 when before `startDate`); oldest first, paged by `after`.',
      tags: ['payouts'],
      auth: 'user',
      params: z.object({ sellerId }),
      query: statementQuery,
      response: statementResponse,
      handler: async ({ params, query, principal }) => {
        authorize(asUser(principal), 'read', { kind: 'payee', payee: 'seller', id: params.sellerId });
        return statement(sellerPayee(principal, params.sellerId), query);
      },
    });

    api.route({
      method: 'PUT',
      url: '/api/v1/royalties/artist/:holderId/payout-account',
      summary: "Set or remove where an artist's resale royalties are paid (admins)",
      description:
        "A change holds payouts for PAYOUT_ACCOUNT_CHANGE_HOLD_MS (24 h). A venue's royalties go to the venue's own payout account (its profile).",
      tags: ['payouts'],
      auth: { roles: ['admin'] },
      idempotent: false,
      params: z.object({ holderId }),
      body: payoutAccountBody,
      response: payoutAccountResponse,
      handler: async ({ params, body, principal, correlationId }) => {
        authorize(asUser(principal), 'register', { kind: 'payee', payee: 'artist', id: params.holderId });
        const result = await payees.setPayoutAccount(
          { payee: { kind: 'artist', id: params.holderId }, payoutAccount: body.payoutAccount, changedBy: actorOf(principal) },
          callerCommandContext(api.services, asUser(principal), correlationId),
        );
        return { payoutAccount: result.payoutAccount, holdUntil: result.holdUntil, position: answeredPosition(result.position) };
      },
    });

    api.route({
      method: 'POST',
      url: '/api/v1/royalties/:party/:holderId/payout',
      summary: "Pay out a royalty holder's resale royalties (`royalty:<party>:<id>`; a venue's managers, admins)",
      description: `${payoutDescription} A venue's royalties go to the venue's payout account, under the venue's hold.`,
      tags: ['payouts'],
      auth: 'user',
      idempotent: true,
      params: royaltyParams,
      body: payoutBody,
      response: payoutResponse,
      handler: async ({ params, body, principal, commandKey, correlationId }) => {
        authorize(asUser(principal), 'payout', { kind: 'payee', payee: params.party, id: params.holderId });
        const payout = await payees.requestPayout(
          { payee: { kind: params.party, id: params.holderId }, ...body, requestedBy: actorOf(principal) },
          userCommandContext(api.services, principal, commandKey, correlationId),
        );
        return payoutAnswer(payout);
      },
    });

    api.route({
      method: 'GET',
      url: '/api/v1/royalties/:party/:holderId/statement',
      summary: "A royalty holder's statement: royalties credited, payouts and fees between two dates (a venue's managers, admins)",
      description: '`startDate` inclusive, `endDate` exclusive (422 when before `startDate`); oldest first, paged by `after`.',
      tags: ['payouts'],
      auth: 'user',
      params: royaltyParams,
      query: statementQuery,
      response: statementResponse,
      handler: async ({ params, query, principal }) => {
        authorize(asUser(principal), 'read', { kind: 'payee', payee: params.party, id: params.holderId });
        return statement({ kind: params.party, id: params.holderId }, query);
      },
    });
  },
};
