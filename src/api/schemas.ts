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

/**
 * An RFC 9562 UUID, read in either case and handed on in lower case (its canonical text form),
 * so the same id names the same payment, venue or stream on every route: streams, accounts and
 * token claims compare ids as text.
 */
export const uuid = z.uuid({ error: 'must be a UUID' }).overwrite((value) => value.toLowerCase());

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

/**
 * The years a date or date-time query parameter may name. z.iso accepts year 0000, which
 * PostgreSQL has no such year for: its cast would fail and answer 500 instead of 422.
 */
export const MIN_YEAR = 1970;
export const MAX_YEAR = 9999;

const yearInRange = (text: string): boolean => {
  const year = Number(text.slice(0, 4));
  return year >= MIN_YEAR && year <= MAX_YEAR;
};
const yearRangeError = { error: `the year must be between ${MIN_YEAR} and ${MAX_YEAR}` };

/** An ISO-8601 date-time with an offset, e.g. 2026-11-22T12:00:00Z, in years MIN_YEAR..MAX_YEAR. */
export const isoDateTime = (error: string) => z.iso.datetime({ offset: true, error }).refine(yearInRange, yearRangeError);

/** An ISO-8601 calendar date, YYYY-MM-DD, in years MIN_YEAR..MAX_YEAR. */
export const isoDate = (error: string) => z.iso.date({ error }).refine(yearInRange, yearRangeError);

const instant = (value: string | Date): number => (typeof value === 'string' ? Date.parse(value) : value.getTime());

/**
 * The refinement every report's query takes so that its period is not inverted: the end (when
 * both are given) may not come before the start, or the request is 422 VALIDATION_ERROR naming
 * the end's field. Spread it into `.refine(...periodInOrder('startDate', 'endDate'))`.
 */
export function periodInOrder<Start extends string, End extends string>(
  start: Start,
  end: End,
): [check: (query: { readonly [K in Start | End]?: string | Date | undefined }) => boolean, params: { error: string; path: PropertyKey[] }] {
  const check = (query: { readonly [K in Start | End]?: string | Date | undefined }): boolean => {
    const [from, to] = [query[start], query[end]];
    return from === undefined || to === undefined || instant(from) <= instant(to);
  };
  return [check, { error: `must not be before ${start}`, path: [end] }];
}

/** Seed 003's `deviceFingerprint`: the buyer's device, for fraud screening. */
export const deviceFingerprint = z.string().trim().min(1).max(256).describe("The buyer's device fingerprint (seed 003), for fraud screening");
