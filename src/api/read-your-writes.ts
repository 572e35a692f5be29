import { z } from 'zod';
import { TesseraError } from '../errors.js';
import { parsePosition, positionToString, type Position } from '../eventstore/event-store.js';
import type { AppServices } from './services.js';

/** The `position` query parameter: what a command answered, `commit/prepare`. */
export const positionParam = z
  .string()
  .regex(/^\d{1,20}\/\d{1,20}$/, { error: 'must be a position a command answered (commit/prepare)' })
  .optional()
  .describe('Read your writes: the `position` a command answered; the query waits until its read model has reached it');

/** What a command answers as its `position`: where its last event landed, null when it wrote nothing. */
export const positionAnswer = z
  .string()
  .nullable()
  .describe('Read your writes: the position of the last event the command wrote; pass it as `?position=` to a query');

export const answeredPosition = (position: Position | null): string | null => (position ? positionToString(position) : null);

/**
 * Read-your-writes: when the caller passes the position a command answered, waits (at most
 * `timeoutMs`, READ_WAIT_MS) until `projection` has handled everything up to it. A read model
 * still behind then is 409 READ_MODEL_BEHIND, and the client retries: answering from a model
 * that has not seen the caller's own write would look like the write was lost.
 */
export async function awaitReadModel(
  services: Pick<AppServices, 'readSide'>,
  projection: string,
  position: string | undefined,
  timeoutMs: number,
): Promise<void> {
  if (position === undefined) return;
  if (await services.readSide.waitFor(projection, parsePosition(position), timeoutMs)) return;
  throw new TesseraError('READ_MODEL_BEHIND', `The ${projection} read model has not reached position ${position} yet; retry shortly`, {
    expose: { projection, position },
  });
}
