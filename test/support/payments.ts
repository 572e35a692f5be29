import { randomUUID } from 'node:crypto';
import type { CommandContext } from '../../src/commands/handle-command.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { VenueProfileData } from '../../src/events/venue-events.js';

export const NASHVILLE: VenueProfileData['address'] = { street: '1 Broadway', city: 'Nashville', state: 'TN', zip: '37203' };

export function context(overrides: Partial<CommandContext> = {}): CommandContext {
  return {
    commandId: randomUUID(),
    now: new Date(),
    actor: 'user:test',
    tenantId: 'tenant-test',
    correlationId: randomUUID(),
    ...overrides,
  };
}

/** The payments settings with fast retries, for tests. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    PM_MAX_ATTEMPTS: '3',
    PM_RETRY_INITIAL_MS: '5',
    PM_RETRY_MAX_MS: '20',
    DEADLINE_POLL_MS: '20',
    PAYMENT_WAIT_MS: '10000',
    ...overrides,
  });
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** What `fn` throws (fails the test if it does not throw). */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** A purchase of `quantity` tickets at `unitPrice` cents by `buyer-1`. */
export const purchaseInput = (venueId: string, paymentMethodId = 'pm_card_visa', unitPrice = 10_000, quantity = 1) => ({
  userId: 'buyer-1',
  venueId,
  eventId: randomUUID(),
  tickets: [{ ticketTypeId: randomUUID(), quantity, unitPrice }],
  paymentMethod: { type: 'card' as const, paymentMethodId },
});
