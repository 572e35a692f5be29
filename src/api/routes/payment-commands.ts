import { z } from 'zod';
import { paymentFailedError, type PurchaseOutcome } from '../../commands/payment.js';
import { userCommandContext } from '../command-context.js';
import type { RouteModule } from '../route.js';
import { deviceFingerprint, uuid } from '../schemas.js';
import { answeredPosition, positionAnswer } from '../read-your-writes.js';
import { blockchain, fees, paymentStatus, refundAmount, riskSignals, sessionData, ticketPrice } from './payment-schemas.js';

const MAX_TICKETS_PER_LINE = 10;

const ticketLine = z
  .object({
    ticketTypeId: uuid,
    quantity: z
      .number()
      .int({ error: 'must be a whole number' })
      .min(1, { error: 'must be at least 1' })
      .max(MAX_TICKETS_PER_LINE, { error: `must be less than or equal to ${MAX_TICKETS_PER_LINE}` }),
    price: ticketPrice
      .optional()
      .describe(
        'The price of one ticket you expect to pay, in cents. Prices come from the catalogue; a price other than the registered one is 409 PRICE_MISMATCH',
      ),
    seatNumbers: z.array(z.string().trim().min(1).max(20)).max(MAX_TICKETS_PER_LINE).optional(),
  })
  .refine((line) => line.seatNumbers === undefined || line.seatNumbers.length === line.quantity, {
    error: 'must name one seat per ticket',
    path: ['seatNumbers'],
  });

const processBody = z.object({
  venueId: uuid,
  eventId: uuid,
  tickets: z.array(ticketLine).min(1, { error: 'must hold at least one ticket line' }).max(10),
  paymentMethod: z.object({
    type: z.literal('card'),
    paymentMethodId: z.string().trim().min(1).max(255).describe('A gateway token such as pm_card_visa; never card data'),
  }),
  blockchain: blockchain.optional(),
  deviceFingerprint: deviceFingerprint.optional(),
  sessionData: sessionData.optional(),
});

const nextAction = z.object({
  type: z.literal('authenticate'),
  redirectUrl: z.string().optional(),
  clientSecret: z.string().optional(),
});

const processed = z.object({
  success: z.literal(true),
  transaction: z.object({
    id: z.string(),
    amount: z.number().int().describe('What the card is charged, in cents: fees.total'),
    currency: z.string(),
    status: paymentStatus,
    stripePaymentIntentId: z.string().optional().describe("The gateway's payment intent (pi_sandbox_... on the sandbox)"),
    nextAction: nextAction.optional().describe('Present while the customer must complete 3-D Secure'),
    review: z.literal('pending').optional().describe("Present while the card is authorized and the purchase waits for a fraud analyst's review"),
    pollPath: z.string().describe('Where to read the transaction while it is not final'),
  }),
  fees,
  position: positionAnswer,
});

const refundBody = z
  .object({
    amount: refundAmount.optional().describe('Cents to refund; omitted for everything that remains refundable'),
    reason: z.string().trim().min(1).max(500).default('requested_by_customer'),
  })
  .default({ reason: 'requested_by_customer' });

const refunded = z.object({
  success: z.literal(true),
  refund: z.object({ id: z.string(), amount: z.number().int(), status: z.enum(['pending', 'succeeded', 'failed']) }),
  transaction: z.object({ id: z.string(), status: paymentStatus }),
  position: positionAnswer,
});

const ENDED_UNPAID = new Set(['failed', 'expired', 'cancelled']);


function processAnswer(outcome: PurchaseOutcome): z.output<typeof processed> {
  return {
    success: true,
    transaction: {
      id: outcome.paymentId,
      amount: outcome.fees.total,
      currency: outcome.quote.currency,
      status: outcome.status,
      ...(outcome.gatewayReference ? { stripePaymentIntentId: outcome.gatewayReference } : {}),
      ...(outcome.nextAction ? { nextAction: outcome.nextAction } : {}),
      ...(outcome.review ? { review: outcome.review } : {}),
      pollPath: outcome.pollPath,
    },
    fees: outcome.fees,
    position: answeredPosition(outcome.position),
  };
}

/**
 * The payment commands (seed 003 #1 and #4): a purchase and a refund. Their command ids derive
 * from the caller's Idempotency-Key (userCommandContext), so a retry finds its payment or
 * refund instead of making another; the HTTP layer replays stored answers on top.
 */
export const paymentCommandRoutes: RouteModule = {
  name: 'payment-commands',
  features: (config) => ({ stripe: config.GATEWAY === 'stripe' }),
  register(api) {
    const payments = api.services.payments;
    for (const metric of api.services.metrics.payments.all) api.metrics.registerMetric(metric);
    api.metrics.registerMetric(api.services.metrics.notificationsUnaddressed);

    api.route({
      method: 'POST',
      url: '/api/v1/payments/process',
      summary: 'Buy tickets: price them, charge the card, answer once the gateway has answered',
      description:
        'Answers 200 with the final status once the gateway has answered (within PAYMENT_WAIT_MS), or 202 with ' +
        '`processing` (still with the gateway) or `pending` plus `nextAction` (3-D Secure), and `pollPath`. A ' +
        'declined card is 402 PAYMENT_FAILED with `details.transactionId` and the decline codes; an unknown venue ' +
        'is 404 VENUE_NOT_FOUND. Ticket prices come from the event\'s catalogue at the venue: a ticket type it does not ' +
        'hold is 404 TICKET_TYPE_NOT_FOUND, one not on sale now 409 TICKET_SALE_CLOSED, and a `price` other than the ' +
        'registered one 409 PRICE_MISMATCH (with `details.price`); nothing is charged or written. A ticket type whose ' +
        'capacity is taken is 409 SOLD_OUT (`details.remaining`); an order over the event\'s purchase limits is 403 ' +
        'PURCHASE_LIMIT_EXCEEDED naming the limit (`details.limit`: per_user, per_payment_method, per_address, per_order). ' +
        'While the event\'s waiting room is on, the purchase needs the room\'s access token in `x-access-token` (403 ' +
        'QUEUE_TOKEN_REQUIRED, INVALID_ACCESS_TOKEN); the token is used once.',
      tags: ['payments'],
      auth: 'user',
      idempotent: true,
      body: processBody,
      response: processed,
      otherStatuses: [202],
      handler: async ({ body, principal, commandKey, correlationId, setStatus, ip, header }) => {
        const accessToken = header('x-access-token');
        // Where the receipt goes (src/processmanagers/notifications.ts): recorded beside the events, never in them.
        if (principal.email) await api.services.contacts.record(principal.tenantId, principal.userId, principal.email, api.services.clock());
        const outcome = await payments.processPayment(
          {
            userId: principal.userId,
            venueId: body.venueId,
            eventId: body.eventId,
            tickets: body.tickets.map(({ ticketTypeId, quantity, price, seatNumbers }) => ({
              ticketTypeId,
              quantity,
              ...(price === undefined ? {} : { expectedPrice: price }),
              ...(seatNumbers ? { seatNumbers } : {}),
            })),
            paymentMethod: body.paymentMethod,
            ...(body.blockchain ? { chain: body.blockchain } : {}),
            signals: riskSignals(ip, body, principal.emailDomain),
            ...(accessToken ? { accessToken } : {}),
          },
          userCommandContext(api.services, principal, commandKey, correlationId),
        );
        if (ENDED_UNPAID.has(outcome.status)) throw paymentFailedError(outcome);
        if (!outcome.settled || outcome.status === 'pending' || outcome.review) setStatus(202);
        return processAnswer(outcome);
      },
    });

    api.route({
      method: 'POST',
      url: '/api/v1/payments/transaction/:transactionId/refund',
      summary: 'Refund a transaction in full (no amount) or in part',
      description:
        "Only the buyer (in the payment's tenant) or an admin may refund (403 FORBIDDEN otherwise). The refund is recorded and answered " +
        '`pending`; the gateway is called in the background. More than remains refundable is 400 ' +
        'REFUND_EXCEEDS_ORIGINAL with `details.refundable`; a payment not captured (or under dispute) is 409 ' +
        'PAYMENT_NOT_REFUNDABLE.',
      tags: ['payments'],
      auth: 'user',
      idempotent: true,
      params: z.object({ transactionId: uuid }),
      body: refundBody,
      response: refunded,
      handler: async ({ params, body, principal, commandKey, correlationId }) => {
        const receipt = await payments.refundPayment(
          {
            paymentId: params.transactionId,
            reason: body.reason,
            requester: principal,
            ...(body.amount === undefined ? {} : { amount: body.amount }),
          },
          userCommandContext(api.services, principal, commandKey, correlationId),
        );
        return {
          success: true as const,
          refund: receipt.refund,
          transaction: { id: params.transactionId, status: receipt.paymentStatus },
          position: answeredPosition(receipt.position),
        };
      },
    });
  },
};
