import { z } from 'zod';
import { asUser, authorize } from '../../domain/access.js';
import { actorOf } from '../auth/principal.js';
import { userCommandContext } from '../command-context.js';
import { answeredPosition, positionAnswer } from '../read-your-writes.js';
import type { RouteModule } from '../route.js';
import { positiveCents, uuid } from '../schemas.js';

/** Venue payouts (seed 003 #12). The balance route (#11) reads the ledger (issue 5). */
export const venuePayoutRoutes: RouteModule = {
  name: 'venue-payouts',
  register(api) {
    api.route({
      method: 'POST',
      url: '/api/v1/venues/:venueId/payout',
      summary: "Pay out a venue's available balance: standard (free, 1-2 business days) or instant (1% fee, ~30 min)",
      description:
        'The amount leaves `available` at once; the transfer runs in the background. Less than 10000 cents is 422 ' +
        'PAYOUT_BELOW_MINIMUM; more than is available is 400 INSUFFICIENT_FUNDS with `details.payable`; past ' +
        '5,000,000 cents in a UTC day is 422 PAYOUT_LIMIT_EXCEEDED with `details.remainingToday`. For ' +
        'PAYOUT_ACCOUNT_CHANGE_HOLD_MS (24 h) after the venue\'s payout account was replaced or removed, 409 ' +
        'PAYOUT_ON_HOLD with `details.holdUntil`. The payout goes to the account the venue has when it is requested.',
      tags: ['venues'],
      auth: { roles: ['venue_manager', 'admin'] },
      idempotent: true,
      params: z.object({ venueId: uuid }),
      body: z.object({
        amount: positiveCents.max(Number.MAX_SAFE_INTEGER).describe('Cents taken from available; an instant fee comes out of it'),
        instant: z.boolean().default(false),
        currency: z.enum(['USD']).default('USD'),
      }),
      response: z.object({
        success: z.literal(true),
        message: z.string(),
        payoutId: z.string(),
        amount: z.number().int(),
        fee: z.number().int(),
        netAmount: z.number().int().describe('What reaches the venue: amount less the fee'),
        type: z.enum(['standard', 'instant']),
        estimatedArrival: z.string(),
        position: positionAnswer.describe('Read your writes: pass it as `?position=` to the balance route'),
      }),
      handler: async ({ params, body, principal, commandKey, correlationId }) => {
        authorize(asUser(principal), 'manage', { kind: 'venue', venueId: params.venueId });
        const { payout, position } = await api.services.venues.requestPayout(
          { venueId: params.venueId, amount: body.amount, instant: body.instant, currency: body.currency, requestedBy: actorOf(principal) },
          userCommandContext(api.services, principal, commandKey, correlationId),
        );
        return {
          success: true as const,
          message: 'Payout initiated',
          payoutId: payout.payoutId,
          amount: payout.amount,
          fee: payout.fee,
          netAmount: payout.net,
          type: payout.type,
          estimatedArrival: payout.estimatedArrival,
          position: answeredPosition(position),
        };
      },
    });
  },
};
