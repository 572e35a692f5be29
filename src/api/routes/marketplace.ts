import { z } from 'zod';
import type { EscrowState } from '../../aggregates/escrow.js';
import { TesseraError } from '../../errors.js';
import { asUser, authorize } from '../../domain/access.js';
import { userCommandContext } from '../command-context.js';
import { ledger } from '../../projections/ledger/projection.js';
import { answeredPosition, awaitReadModel, positionAnswer, positionParam } from '../read-your-writes.js';
import type { RouteModule } from '../route.js';
import { deviceFingerprint, isoDate, isoDateTime, periodInOrder, positiveCents, uuid } from '../schemas.js';
import { riskSignals, sessionData } from './payment-schemas.js';
import { RISK_DECLINED } from '../../aggregates/payment.js';
import { riskDeclinedError } from '../../commands/risk-declined.js';

const priceInfo = z.object({
  valid: z.boolean(),
  originalPrice: z.number().int().describe("The ticket's face value, in cents"),
  maxAllowedPrice: z.number().int(),
  minAllowedPrice: z.number().int(),
});

const listed = z.object({
  success: z.literal(true),
  listing: z.object({
    id: z.string(),
    ticketId: z.string(),
    sellerId: z.string(),
    price: z.number().int(),
    originalPrice: z.number().int(),
    status: z.enum(['active', 'reserved', 'sold']),
  }),
  priceInfo,
  position: positionAnswer,
});

const escrowStatus = z.enum(['created', 'funded', 'released', 'refunded', 'disputed', 'failed']);

const escrowView = z.object({
  id: z.string(),
  listingId: z.string(),
  ticketId: z.string(),
  amount: z.number().int(),
  sellerPayout: z.number().int(),
  venueRoyalty: z.number().int(),
  artistRoyalty: z.number().int(),
  platformFee: z.number().int(),
  status: escrowStatus,
  releaseDeadline: z.string().optional().describe('When the buyer is refunded if the NFT transfer is not confirmed by then'),
});

const purchased = z.object({ success: z.literal(true), escrow: escrowView, message: z.string(), position: positionAnswer });

const MESSAGES: Readonly<Record<string, string>> = {
  created: 'Payment is being processed; poll the escrow for its outcome.',
  funded: 'Payment held in escrow. Transfer will complete after NFT transfer.',
  released: 'Transfer confirmed; payment released to the seller.',
  refunded: 'The NFT transfer was not confirmed in time; the payment was refunded.',
  disputed: 'The resale is disputed; the payment stays in escrow.',
};

function viewOf(state: EscrowState): z.output<typeof escrowView> {
  const terms = state.terms!;
  return {
    id: terms.escrowId,
    listingId: terms.listingId,
    ticketId: terms.ticketId,
    amount: terms.amount,
    sellerPayout: terms.split.sellerPayout,
    venueRoyalty: terms.split.venueRoyalty,
    artistRoyalty: terms.split.artistRoyalty,
    platformFee: terms.split.platformFee,
    status: state.status as z.output<typeof escrowStatus>,
    ...(state.releaseDeadline ? { releaseDeadline: state.releaseDeadline } : {}),
  };
}

/** A failed escrow as the buyer's error: the listing went to someone else, or the card was declined. */
function fundingError(state: EscrowState): TesseraError {
  const failure = state.failure!;
  const escrowId = state.terms!.escrowId;
  if (failure.code === RISK_DECLINED) return riskDeclinedError(failure.declineCode, { escrowId, status: 'failed' });
  if (failure.code === 'listing_unavailable') {
    return new TesseraError('LISTING_NOT_AVAILABLE', failure.reason, { expose: { escrowId, listingId: state.terms!.listingId } });
  }
  return new TesseraError('PAYMENT_FAILED', failure.reason, {
    escrowId,
    expose: { escrowId, status: 'failed', gatewayCode: failure.code, ...(failure.declineCode ? { declineCode: failure.declineCode } : {}) },
  });
}

/** A date (YYYY-MM-DD) or a date-time with its offset, in years 1970 to 9999. */
const dateOrDateTime = z
  .union([isoDate('must be an ISO-8601 date'), isoDateTime('must be an ISO-8601 date-time with an offset')], {
    error: 'must be an ISO-8601 date or date-time',
  })
  .transform((value) => new Date(value));

/**
 * The marketplace (seed 003 #5-#7): resale listings with price caps, purchases through escrow,
 * and the venue's royalty report from the ledger.
 */
export const marketplaceRoutes: RouteModule = {
  name: 'marketplace',
  features: { nftIntegration: true },
  register(api) {
    const resale = api.services.resale;

    api.route({
      method: 'POST',
      url: '/api/v1/marketplace/listings',
      summary: 'List a ticket for resale, within the price caps of its face value',
      description:
        "The caller must own the ticket, in the ticket's tenant (403 FORBIDDEN). The price must lie within the venue's caps (default 50% to " +
        '250% of face value), else 422 PRICE_OUTSIDE_LIMITS with the allowed range in `details`. A ticket already ' +
        'listed is 409 LISTING_ALREADY_EXISTS; an unpaid or refunded one 409 TICKET_NOT_RESELLABLE.',
      tags: ['marketplace'],
      auth: 'user',
      idempotent: true,
      status: 201,
      body: z.object({ ticketId: uuid, price: positiveCents, venueId: uuid }),
      response: listed,
      handler: async ({ body, principal, commandKey, correlationId }) => {
        const { listing, priceInfo: info, position: written } = await resale.createListing(
          body,
          principal,
          userCommandContext(api.services, principal, commandKey, correlationId),
        );
        return { success: true as const, listing, priceInfo: info, position: answeredPosition(written) };
      },
    });

    api.route({
      method: 'POST',
      url: '/api/v1/marketplace/purchase',
      summary: 'Buy a listed ticket: the charge is held in escrow until the NFT transfer is confirmed',
      description:
        'Answers 200 once the charge has an outcome (`funded`), or 202 with `created` when PAYMENT_WAIT_MS ran out ' +
        'first; `position` is that of the last escrow event the answer reflects. A declined card is 402 PAYMENT_FAILED; a listing sold or held by another buyer 409 ' +
        'LISTING_NOT_AVAILABLE; your own listing 422 CANNOT_BUY_OWN_LISTING; a listing of another tenant 403 FORBIDDEN. Fraud ' +
        'screening may refuse it (403 FRAUD_DETECTED, BOT_DETECTED, PURCHASE_LIMIT_EXCEEDED; 429 VELOCITY_LIMIT_EXCEEDED); a resale it ' +
        'would hold for review is refused too, as resale cannot wait for an analyst.',
      tags: ['marketplace'],
      auth: 'user',
      idempotent: true,
      body: z.object({
        listingId: uuid,
        paymentMethodId: z.string().trim().min(1).max(255),
        deviceFingerprint: deviceFingerprint.optional(),
        sessionData: sessionData.optional(),
      }),
      response: purchased,
      otherStatuses: [202],
      handler: async ({ body, principal, commandKey, correlationId, setStatus, ip }) => {
        const { state, position: written } = await resale.purchaseListing(
          { listingId: body.listingId, paymentMethodId: body.paymentMethodId, signals: riskSignals(ip, body, principal.emailDomain) },
          principal,
          userCommandContext(api.services, principal, commandKey, correlationId),
        );
        if (state.status === 'failed') throw fundingError(state);
        if (state.status === 'created') setStatus(202);
        return { success: true as const, escrow: viewOf(state), message: MESSAGES[state.status] ?? '', position: answeredPosition(written) };
      },
    });

    api.route({
      method: 'GET',
      url: '/api/v1/marketplace/escrows/:escrowId',
      summary: "An escrow as it stands (buyer or seller in the escrow's tenant, or admin)",
      tags: ['marketplace'],
      auth: 'user',
      params: z.object({ escrowId: uuid }),
      response: z.object({ escrow: escrowView }),
      handler: async ({ params, principal }) => {
        const state = await resale.escrowFor(params.escrowId, principal);
        return { escrow: viewOf(state) };
      },
    });

    api.route({
      method: 'POST',
      url: '/api/v1/marketplace/escrows/:escrowId/dispute',
      summary: 'Dispute a funded resale: the money stays in escrow until an operator decides',
      description:
        "Buyer or seller in the escrow's tenant, or admin. Only a funded escrow can be disputed (409 INVALID_STATE_TRANSITION otherwise); " +
        'a disputed escrow is neither released nor refunded by its deadline.',
      tags: ['marketplace'],
      auth: 'user',
      idempotent: true,
      params: z.object({ escrowId: uuid }),
      body: z.object({ reason: z.string().trim().min(1).max(500) }),
      response: z.object({ escrow: escrowView, position: positionAnswer }),
      handler: async ({ params, body, principal, commandKey, correlationId }) => {
        const { state, position: written } = await resale.disputeEscrow(
          { escrowId: params.escrowId, reason: body.reason },
          principal,
          userCommandContext(api.services, principal, commandKey, correlationId),
        );
        return { escrow: viewOf(state), position: answeredPosition(written) };
      },
    });

    api.route({
      method: 'GET',
      url: '/api/v1/marketplace/venues/:venueId/royalties',
      summary: "A venue's resale royalties between two dates, from the ledger",
      description:
        'Venue managers of the venue and admins. `startDate` is inclusive, `endDate` exclusive; amounts in cents. ' +
        'An `endDate` before `startDate` is 422 VALIDATION_ERROR, as in the other reports.',
      tags: ['marketplace'],
      auth: { roles: ['venue_manager', 'admin'] },
      params: z.object({ venueId: uuid }),
      query: z
        .object({ startDate: dateOrDateTime.optional(), endDate: dateOrDateTime.optional(), position: positionParam })
        .refine(...periodInOrder('startDate', 'endDate')),
      response: z.object({
        totalRoyalties: z.number().int(),
        transactionCount: z.number().int(),
        averageRoyalty: z.number().int(),
        byEvent: z.array(
          z.object({ eventId: z.string(), eventName: z.string().nullable(), royalties: z.number().int(), transactions: z.number().int() }),
        ),
      }),
      handler: async ({ params, query, principal }) => {
        authorize(asUser(principal), 'read', { kind: 'venue', venueId: params.venueId });
        await awaitReadModel(api.services, ledger.name, query.position, api.config.READ_WAIT_MS);
        return resale.royaltyReport(params.venueId, {
          ...(query.startDate ? { startDate: query.startDate } : {}),
          ...(query.endDate ? { endDate: query.endDate } : {}),
        });
      },
    });
  },
};
