import { randomUUID } from 'node:crypto';

/**
 * Services the composition root hands to route modules. Deciders take `now` and ids from their
 * command, so the clock and the id source live here, where tests can fix them. Later issues add
 * their services (payments, queries) to this interface and to `defaultServices`.
 */
export interface AppServices {
  readonly clock: () => Date;
  readonly newId: () => string;
}

export const defaultServices = (): AppServices => ({ clock: () => new Date(), newId: randomUUID });
