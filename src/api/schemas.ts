import { z } from 'zod';

/**
 * Schemas every route shares. Amounts are integer minor units (cents for USD); a float, a
 * negative, a string or anything past 2^53-1 is a 422, never rounded.
 */
export const cents = z
  .number({ error: 'must be an amount in cents (an integer)' })
  .int({ error: 'must be a whole number of cents (no fractions, at most 9007199254740991)' })
  .nonnegative({ error: 'must not be negative' })
  .describe('Amount in minor units (cents), an integer');

/** An amount that must be above zero, such as a payment or payout. */
export const positiveCents = cents.positive({ error: 'must be more than zero' });

/** An RFC 9562 UUID in its canonical text form. */
export const uuid = z.uuid({ error: 'must be a UUID' });

const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * The Idempotency-Key header (seed 003): a UUID. Any version is accepted (v4 as the seed says,
 * or v7); the nil UUID is refused because clients that send it share it by accident.
 */
export const idempotencyKey = uuid.refine((value) => value !== NIL_UUID, { error: 'must not be the nil UUID' });

export const fieldError = z.object({ field: z.string(), message: z.string() });

/** The seed's error body, on every error the API answers. */
export const errorBody = z
  .object({
    error: z.string().describe('What went wrong, for people'),
    code: z.string().describe('Stable machine-readable code (src/errors.ts)'),
    timestamp: z.string().describe('ISO-8601 time of the response'),
    path: z.string().describe('The request path'),
    errors: z.array(fieldError).optional().describe('Per-field problems of a VALIDATION_ERROR'),
    details: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
      .optional()
      .describe('Facts the client may act on, e.g. `transactionId` and `declineCode` of a PAYMENT_FAILED'),
  })
  .describe('Error');

export type ErrorBody = z.output<typeof errorBody>;
