import { z } from 'zod';
import type { PaymentStatus } from '../../aggregates/payment.js';
import { cents, positiveCents } from '../schemas.js';
import type { RiskSignals } from '../../commands/risk.js';
import { addressKey } from '../../domain/risk.js';
import { withoutUndefined } from '../../aggregates/payment.js';

/** Zod schemas the payment routes share (seed 003 #1, #2, #4, #15 and the venue profile). */

/**
 * The most one ticket may cost, and so (with at most 10 lines of 10 tickets) the most an order
 * may: fee, tax and gas arithmetic then stays far inside exact integers.
 */
export const MAX_TICKET_PRICE = 100_000_000;
export const MAX_ORDER_AMOUNT = 100 * MAX_TICKET_PRICE;

export const ticketPrice = cents.max(MAX_TICKET_PRICE, { error: `must be at most ${MAX_TICKET_PRICE} cents a ticket` });
export const orderAmount = cents.max(MAX_ORDER_AMOUNT, { error: `must be at most ${MAX_ORDER_AMOUNT} cents` });
export const refundAmount = positiveCents.max(MAX_ORDER_AMOUNT, { error: `must be at most ${MAX_ORDER_AMOUNT} cents` });

export const blockchain = z.enum(['polygon', 'solana']).describe('Chain the tickets are minted on (default GAS_DEFAULT_CHAIN)');

const PAYMENT_STATUSES = [
  'pending',
  'processing',
  'completed',
  'partially_refunded',
  'refunded',
  'disputed',
  'failed',
  'cancelled',
  'expired',
] as const satisfies readonly PaymentStatus[];
// Breaks the build when the aggregate gains a status this list lacks.
type MissingStatus = Exclude<PaymentStatus, (typeof PAYMENT_STATUSES)[number]>;
const _everyStatusListed: [MissingStatus] extends [never] ? true : MissingStatus = true;

export const paymentStatus = z.enum(PAYMENT_STATUSES);

/** The seed's `fees` object: what the buyer pays, in cents. */
export const fees = z.object({
  ticketPrice: cents,
  platformFee: cents,
  gasEstimate: cents,
  stateTax: cents,
  localTax: cents,
  total: cents,
});

/** A US street address; the state decides the tax table (an unknown one is TAX_JURISDICTION_UNKNOWN). */
export const usAddress = z.object({
  street: z.string().trim().min(1).max(200),
  city: z.string().trim().min(1).max(100),
  state: z
    .string()
    .trim()
    .regex(/^[A-Za-z]{2}$/, { error: 'must be a two-letter state code' }),
  zip: z
    .string()
    .trim()
    .regex(/^\d{5}(-\d{4})?$/, { error: 'must be a ZIP code (12345 or 12345-6789)' }),
});

/** Where a command's events landed (`commit/prepare`): pass it to a query to read your own write. */

/**
 * Seed 003's `sessionData`: what the checkout page saw of the buyer (src/domain/risk.ts `botScore`
 * reads it). Bounded, so a hostile client cannot make scoring slow.
 */
export const sessionData = z
  .object({
    actions: z
      .array(
        z.object({
          type: z.string().trim().min(1).max(32),
          t: z.number().finite().min(0).max(86_400_000).describe('Milliseconds since the page loaded'),
          x: z.number().finite().optional(),
          y: z.number().finite().optional(),
        }),
      )
      .max(500)
      .optional(),
    browserFeatures: z
      .object({
        webdriver: z.boolean().optional(),
        headless: z.boolean().optional(),
        userAgent: z.string().max(512).optional(),
        languages: z.number().int().min(0).max(100).optional(),
        plugins: z.number().int().min(0).max(1000).optional(),
        screenWidth: z.number().int().min(0).max(100_000).optional(),
        screenHeight: z.number().int().min(0).max(100_000).optional(),
        touch: z.boolean().optional(),
      })
      .optional(),
  })
  .describe("The buyer's session signals for bot detection: pointer, key and click events with their times, and browser features");

/** The risk assessment's view of a request: its address, device and session. */
export function riskSignals(
  ip: string,
  body: { readonly deviceFingerprint?: string | undefined; readonly sessionData?: z.output<typeof sessionData> | undefined },
  emailDomain?: string,
): RiskSignals {
  return {
    ip: addressKey(ip),
    ...(emailDomain ? { emailDomain } : {}),
    // Counted as the lists compare it: the same device whatever case the client sends.
    ...(body.deviceFingerprint ? { deviceFingerprint: body.deviceFingerprint.toLowerCase() } : {}),
    ...(body.sessionData ? { sessionData: withoutUndefined(body.sessionData) } : {}),
  };
}
