import { randomUUID } from 'node:crypto';
import type { RequestedTicketLine } from '../../src/aggregates/catalogue.js';
import type { CommandContext } from '../../src/commands/handle-command.js';
import type { Principal } from '../../src/domain/access.js';
import { uuidV5 } from '../../src/domain/ids.js';
import type { CatalogueCommands } from '../../src/commands/catalogue.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { VenueProfileData } from '../../src/events/venue.js';

export const NASHVILLE: VenueProfileData['address'] = { street: '1 Broadway', city: 'Nashville', state: 'TN', zip: '37203' };

/** The tenant of context(): commands of tests act in it. */
export const TEST_TENANT_ID = 'tenant-test';

/** A user of TEST_TENANT_ID, as a command's requester. */
export const principal = (userId: string, role: Principal['role'] = 'user'): Principal => ({ userId, role, venues: [], tenantId: TEST_TENANT_ID });

export function context(overrides: Partial<CommandContext> = {}): CommandContext {
  return {
    commandId: randomUUID(),
    now: new Date(),
    actor: 'user:test',
    tenantId: TEST_TENANT_ID,
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
    // These suites buy as one user from one address; fraud screening is tested on its own (test/**/risk*).
    FRAUD_CHECKS: 'false',
    PURCHASE_LIMITS: 'false',
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

/** The event the command-level helpers buy tickets to. */
export const EVENT_ID = '6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b';

/** The ticket type of EVENT_ID that costs `price` cents (registerPrices puts it in a venue's catalogue). */
export const ticketTypeAtPrice = (price: number): string => uuidV5(`test-ticket-type:${price}`);

/** A purchase of `quantity` tickets at `unitPrice` cents by `buyer-1` (register its price with registerPrices). */
export const purchaseInput = (venueId: string, paymentMethodId = 'pm_card_visa', unitPrice = 10_000, quantity = 1) => ({
  userId: 'buyer-1',
  venueId,
  eventId: EVENT_ID,
  tickets: [{ ticketTypeId: ticketTypeAtPrice(unitPrice), quantity, expectedPrice: unitPrice }],
  paymentMethod: { type: 'card' as const, paymentMethodId },
});

/**
 * Puts a purchase's ticket types in the catalogue of its venue and event at the prices it
 * expects (an unchanged ticket type writes nothing), so the purchase is priced as it says.
 */
export async function registerPrices(
  services: Pick<CatalogueCommands, 'saveTicketType'>,
  purchase: { readonly venueId: string; readonly eventId: string; readonly tickets: readonly RequestedTicketLine[] },
): Promise<void> {
  for (const line of purchase.tickets) {
    const price = line.expectedPrice ?? 10_000;
    await services.saveTicketType(
      { venueId: purchase.venueId, eventId: purchase.eventId, ticketTypeId: line.ticketTypeId, name: `At ${price}`, price, currency: 'USD' },
      context({ actor: 'admin:test' }),
    );
  }
}
