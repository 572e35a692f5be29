import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { EventData } from '../../src/eventstore/event-store.js';
import { paymentStreamId } from '../../src/events/payment.js';
import type { ReadSide } from '../../src/projections/engine/read-side.js';
import { findTicket, ticketsProjection } from '../../src/projections/tickets.js';
import { captured, requestData } from '../aggregates/payment-fixtures.js';
import { metadata } from '../support/events.js';
import { appendCompletedGroup } from '../support/group-purchase.js';
import { onEveryDialect, type ReadModelDatabase } from '../support/read-model-databases.js';
import { ticketIdFor } from '../../src/domain/ids.js';

const event = (type: string, data: unknown): EventData => ({ id: randomUUID(), type, data, metadata: metadata() });

onEveryDialect('the tickets read model', (open) => {
  let db: ReadModelDatabase;
  let readSide: ReadSide;
  beforeAll(async () => {
    db = await open();
    readSide = db.readSide({ projections: [ticketsProjection] });
    await readSide.start();
  });
  afterAll(() => db.close());

  it('gives each paid unit a ticket with its face value, drops unpaid ones, follows resales and refunds, and rebuilds the same', async () => {
    const paid = randomUUID();
    const unpaid = randomUUID();
    const tickets = [
      { ticketTypeId: 'ga', quantity: 2, unitPrice: 5_000 },
      { ticketTypeId: 'vip', quantity: 1, unitPrice: 8_000 },
    ];
    const capturedData = { ...(captured.data as object), paymentId: paid };
    await db.store.append(
      paymentStreamId(paid),
      [event('PaymentRequested', { ...requestData, paymentId: paid, tickets }), event('PaymentCaptured', capturedData)],
      { expected: 'no_stream' },
    );
    await db.store.append(
      paymentStreamId(unpaid),
      [event('PaymentRequested', { ...requestData, paymentId: unpaid }), event('PaymentFailed', { paymentId: unpaid, reason: 'declined', code: 'card_declined', gateway: 'sandbox' })],
      { expected: 'no_stream' },
    );
    const released = { escrowId: randomUUID(), ticketId: ticketIdFor(paid, 2), buyerId: 'buyer-9', sellerId: 'buyer-1' };
    await db.store.append(`escrow-${released.escrowId}`, [event('EscrowReleased', released)], { expected: 'any' });
    const { position } = await db.store.append(
      paymentStreamId(paid),
      [event('RefundSucceeded', { paymentId: paid, allocation: { ticketPrice: 5_000 } })],
      { expected: 'any' },
    );
    expect(await readSide.waitFor('tickets', position, 10_000)).toBe(true);

    expect(await findTicket(readSide.db, ticketIdFor(paid, 0))).toMatchObject({ faceValue: 5_000, status: 'active', ownerId: 'buyer-1', refunded: 5_000, resales: 0 });
    expect(await findTicket(readSide.db, ticketIdFor(paid, 2))).toMatchObject({ faceValue: 8_000, status: 'active', ownerId: 'buyer-9', resales: 1 });
    expect(await findTicket(readSide.db, ticketIdFor(paid, 3))).toBeUndefined();
    expect(await findTicket(readSide.db, ticketIdFor(unpaid, 0))).toMatchObject({ status: 'void' });
    expect((await readSide.verify()).ok).toBe(true);
  });

  it("gives a completed group purchase's tickets to the members in order, each run to the user who paid its share", async () => {
    const groupId = randomUUID();
    const { position } = await appendCompletedGroup(db.store, {
      groupId,
      venueId: 'venue-group',
      unitPrice: 4_000,
      members: [
        { ticketCount: 2, payerId: 'payer-a' },
        { ticketCount: 1, payerId: 'payer-b' },
      ],
    });
    expect(await readSide.waitFor('tickets', position, 10_000)).toBe(true);

    const owners = await Promise.all([0, 1, 2].map(async (i) => (await findTicket(readSide.db, ticketIdFor(groupId, i)))!));
    expect(owners.map((t) => t.ownerId)).toEqual(['payer-a', 'payer-a', 'payer-b']);
    expect(owners.every((t) => t.status === 'active' && t.faceValue === 4_000 && t.paymentId === groupId && t.venueId === 'venue-group')).toBe(true);
    expect(await findTicket(readSide.db, ticketIdFor(groupId, 3))).toBeUndefined();
    expect((await readSide.verify()).ok).toBe(true);
  });

  it("voids an expired group's tickets, which the organizer held while it collected", async () => {
    const groupId = randomUUID();
    const created = {
      groupId,
      organizerId: 'organizer-7',
      venueId: 'venue-group',
      eventId: 'event-group',
      tickets: [{ ticketTypeId: 'ga', quantity: 1, unitPrice: 4_000 }],
      quote: requestData.quote,
      members: [{ memberId: randomUUID(), email: 'a@example.com', name: 'A', ticketCount: 1, amountDue: requestData.quote.total }],
      createdAt: '2026-11-22T12:00:00.000Z',
      expiresAt: '2026-11-22T12:10:00.000Z',
    };
    const stream = `group-payment-${groupId}`;
    const open = await db.store.append(stream, [event('GroupPaymentCreated', created)], { expected: 'no_stream' });
    expect(await readSide.waitFor('tickets', open.position, 10_000)).toBe(true);
    expect(await findTicket(readSide.db, ticketIdFor(groupId, 0))).toMatchObject({ ownerId: 'organizer-7', status: 'pending' });
    const { position } = await db.store.append(stream, [event('GroupPaymentExpired', { groupId, expiresAt: created.expiresAt, expiredAt: created.expiresAt })], {
      expected: 'any',
    });
    expect(await readSide.waitFor('tickets', position, 10_000)).toBe(true);
    expect(await findTicket(readSide.db, ticketIdFor(groupId, 0))).toMatchObject({ ownerId: 'organizer-7', status: 'void' });
  });
});
