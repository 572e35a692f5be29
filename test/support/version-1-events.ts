import { randomUUID } from 'node:crypto';
import { eventIdFor } from '../../src/domain/ids.js';
import { quotePurchase } from '../../src/domain/purchase-quote.js';
import type { EventData } from '../../src/eventstore/event-store.js';

/**
 * Events as the code wrote them before schema versions per type (every event stamped 1) and
 * before the ticket catalogue (issue 17): each ticket line's unit price came from the buyer's
 * request, and no line said so. Appended as they are, they stand for what a store of that time
 * holds.
 */

/** Two lines as a buyer once priced them: no `priceSource`. */
export const VERSION_1_LINES = [
  { ticketTypeId: 'ga', quantity: 2, unitPrice: 4_000 },
  { ticketTypeId: 'vip', quantity: 1, unitPrice: 9_500, seatNumbers: ['A1'] },
] as const;

const quote = quotePurchase({
  ticketPrice: 17_500,
  ticketCount: 3,
  venueAddress: { city: 'Nashville', state: 'TN' },
  trailingVolume: 0,
  chain: 'polygon',
});

function written(type: string, data: Record<string, unknown>, streamKey: string, tenantId: string, actor: string): EventData {
  const commandId = randomUUID();
  return {
    id: eventIdFor(commandId, 0),
    type,
    data,
    metadata: { correlationId: streamKey, causationId: commandId, tenantId, actor, occurredAt: '2026-06-01T12:00:00.000Z', schemaVersion: 1 },
  };
}

export function paymentRequestedV1(paymentId: string, options: { userId?: string; venueId?: string; tenantId?: string } = {}): EventData {
  const userId = options.userId ?? 'buyer-1';
  return written(
    'PaymentRequested',
    {
      paymentId,
      userId,
      venueId: options.venueId ?? randomUUID(),
      eventId: 'event-before-the-catalogue',
      tickets: VERSION_1_LINES,
      quote,
      paymentMethod: { type: 'card', paymentMethodId: 'pm_card_visa' },
      captureMode: 'automatic',
      requestedAt: '2026-06-01T12:00:00.000Z',
      expiresAt: '2026-06-01T12:15:00.000Z',
    },
    paymentId,
    options.tenantId ?? 'tenant-1',
    `user:${userId}`,
  );
}

export function groupPaymentCreatedV1(groupId: string): EventData {
  return written(
    'GroupPaymentCreated',
    {
      groupId,
      organizerId: 'organizer-1',
      venueId: randomUUID(),
      eventId: 'event-before-the-catalogue',
      tickets: VERSION_1_LINES,
      quote,
      members: [
        { memberId: randomUUID(), email: 'a@example.com', name: 'A', ticketCount: 2, amountDue: quote.total - Math.floor(quote.total / 3) },
        { memberId: randomUUID(), email: 'b@example.com', name: 'B', ticketCount: 1, amountDue: Math.floor(quote.total / 3) },
      ],
      createdAt: '2026-06-01T12:00:00.000Z',
      expiresAt: '2026-06-02T12:00:00.000Z',
    },
    groupId,
    'tenant-1',
    'user:organizer-1',
  );
}

/** The lines a version 1 purchase reads as now: each priced by the buyer's request. */
export const VERSION_1_LINES_UPCAST = VERSION_1_LINES.map((line) => ({ ...line, priceSource: 'request' }));
