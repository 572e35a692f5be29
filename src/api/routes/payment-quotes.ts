import { z } from 'zod';
import type { RouteModule } from '../route.js';
import { uuid } from '../schemas.js';
import { blockchain, fees, orderAmount, usAddress } from './payment-schemas.js';

const gasEstimate = z.object({
  blockchain,
  perTicket: z.number().int().describe('Cents charged per minted ticket'),
  total: z.number().int().describe('Cents charged for ticketCount tickets'),
});

const feeQuote = z.object({
  fees,
  gasEstimates: z.object({ polygon: gasEstimate, solana: gasEstimate }),
  recommendedBlockchain: blockchain,
  total: z.number().int(),
  platformFee: z.object({
    tier: z.enum(['starter', 'pro', 'enterprise']),
    rateBps: z.number().int(),
    tierSource: z.enum(['volume', 'override']),
    scheduleVersion: z.string(),
  }),
});

const taxLine = z.object({ name: z.string(), rate: z.number().describe('Percent, e.g. 2.25'), amount: z.number().int() }).optional();

const taxAnswer = z.object({
  taxableAmount: z.number().int(),
  stateTax: z.number().int(),
  localTax: z.number().int(),
  specialTax: z.number().int(),
  totalTax: z.number().int(),
  breakdown: z.object({ state: taxLine, local: taxLine, special: taxLine }),
  tableVersion: z.string(),
});

/** Calculations that write nothing: an Idempotency-Key would have nothing to protect. */
const NOT_A_COMMAND = 'A calculation: it writes nothing, so it needs no Idempotency-Key (one sent is ignored).';

/** Seed 003 #2 (calculate-fees) and #15 (internal calculate-tax). */
export const paymentQuoteRoutes: RouteModule = {
  name: 'payment-quotes',
  register(api) {
    const payments = api.services.payments;

    api.route({
      method: 'POST',
      url: '/api/v1/payments/calculate-fees',
      summary: 'What a purchase at this venue would cost now: fee by tier, gas, taxes',
      description: `\`amount\` is the ticket price of \`ticketCount\` tickets, in cents. ${NOT_A_COMMAND}`,
      tags: ['payments'],
      auth: 'user',
      idempotent: false,
      body: z.object({
        venueId: uuid,
        amount: orderAmount,
        ticketCount: z.number().int().min(1).max(100),
        blockchain: blockchain.optional(),
      }),
      response: feeQuote,
      handler: async ({ body }) => {
        const quote = await payments.calculateFees(
          { venueId: body.venueId, amount: body.amount, ticketCount: body.ticketCount, ...(body.blockchain ? { chain: body.blockchain } : {}) },
          api.services.clock(),
        );
        const { tier, rateBps, tierSource, scheduleVersion } = quote.quote.platformFee;
        return {
          fees: quote.fees,
          gasEstimates: quote.gasEstimates,
          recommendedBlockchain: quote.recommendedBlockchain,
          total: quote.fees.total,
          platformFee: { tier, rateBps, tierSource, scheduleVersion },
        };
      },
    });

    api.route({
      method: 'POST',
      url: '/internal/calculate-tax',
      summary: 'Taxes on an amount at a venue address (state, local, entertainment)',
      description: `Taxes follow the venue's address; \`customerAddress\` is accepted and does not change admission taxes. ${NOT_A_COMMAND}`,
      tags: ['internal'],
      auth: 'internal',
      idempotent: false,
      body: z.object({
        amount: orderAmount,
        venueAddress: usAddress.partial({ street: true, zip: true }),
        customerAddress: usAddress.partial().optional(),
      }),
      response: taxAnswer,
      handler: ({ body }) => payments.calculateTax({ amount: body.amount, venueAddress: body.venueAddress }),
    });
  },
};
