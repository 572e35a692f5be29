import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, signToken, type TestApp } from '../../support/app.js';
import { authAs, completedPurchase, purchaseBody, refund, venueAt } from '../../support/payments-http.js';

const EVENT = purchaseBody('x').eventId;
const HOUR = 3_600_000;

describe('refund policies over HTTP', () => {
  let t: TestApp;
  let venueId: string;

  const setEvent = async (hoursFromNow: number, headers?: Record<string, string>) =>
    t.app.inject({
      method: 'PUT',
      url: `/api/v1/events/${EVENT}/refund-policy`,
      headers: headers ?? { authorization: `Bearer ${await signToken({ role: 'venue_manager', sub: 'manager-1', venues: [venueId] })}` },
      payload: { venueId, startsAt: new Date(Date.now() + hoursFromNow * HOUR).toISOString() },
    });

  beforeAll(async () => {
    t = await testApp({ background: true, env: { DEADLINE_POLL_MS: '20', PM_RETRY_INITIAL_MS: '5', PM_MAX_ATTEMPTS: '3' } });
    venueId = await venueAt(t);
  });
  afterAll(() => t.close());

  it('refunds a buyer in full more than 7 days before the event', async () => {
    expect((await setEvent(24 * 8)).statusCode).toBe(200);
    const paid = await completedPurchase(t, venueId);
    const refunded = await refund(t, paid.id);
    expect(refunded.statusCode).toBe(200);
    expect(refunded.json<{ refund: { amount: number } }>().refund.amount).toBe(paid.amount);
  });

  it('refunds half between 7 days and 48 hours before, refusing more with what is refundable', async () => {
    await setEvent(72);
    const paid = await completedPurchase(t, venueId);
    const tooMuch = await refund(t, paid.id, { amount: paid.amount });
    expect(tooMuch.statusCode).toBe(400);
    expect(tooMuch.json()).toMatchObject({ code: 'REFUND_POLICY_EXCEEDED', details: { refundable: Math.round(paid.amount / 2), refundPercent: 50 } });
    const half = await refund(t, paid.id);
    expect(half.json<{ refund: { amount: number } }>().refund.amount).toBe(Math.round(paid.amount / 2));
  });

  it('refunds a buyer nothing within 48 hours, while an admin still may', async () => {
    await setEvent(10);
    const paid = await completedPurchase(t, venueId);
    expect((await refund(t, paid.id)).json<{ code: string }>().code).toBe('REFUND_POLICY_EXCEEDED');
    const byAdmin = await refund(t, paid.id, { headers: await authAs('admin') });
    expect(byAdmin.statusCode).toBe(200);
  });

  it('refuses an event start without an offset or outside the years 1970-9999 with 422, writing nothing', async () => {
    const headers = { authorization: `Bearer ${await signToken({ role: 'venue_manager', sub: 'manager-1', venues: [venueId] })}` };
    const event = randomUUID();
    for (const startsAt of ['0000-01-01T00:00:00Z', '2026-12-01T20:00:00', 'tomorrow']) {
      const response = await t.app.inject({ method: 'PUT', url: `/api/v1/events/${event}/refund-policy`, headers, payload: { venueId, startsAt } });
      expect(response.statusCode, startsAt).toBe(422);
      expect(response.json()).toMatchObject({ code: 'VALIDATION_ERROR' });
    }
    expect(await t.storage.eventStore.readStream(`refund-policy-event-${venueId}-${event}`)).toEqual([]);
  });

  it('follows the venue tiers when the event has none, and refuses a manager of another venue', async () => {
    const tiers = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/venues/${venueId}/refund-policy`,
      headers: await authAs('admin'),
      payload: { tiers: [{ hoursBefore: 1, refundBps: 2_500 }] },
    });
    expect(tiers.statusCode).toBe(200);
    await setEvent(10);
    const paid = await completedPurchase(t, venueId);
    expect((await refund(t, paid.id)).json<{ refund: { amount: number } }>().refund.amount).toBe(Math.round(paid.amount / 4));
    const stranger = { authorization: `Bearer ${await signToken({ role: 'venue_manager', sub: 'm2', venues: [randomUUID()] })}` };
    expect((await setEvent(10, stranger)).statusCode).toBe(403);
  });

  it("does not let another venue's manager lock this venue's managers out of an event's policy", async () => {
    const otherVenue = await venueAt(t);
    const otherManager = { authorization: `Bearer ${await signToken({ role: 'venue_manager', sub: 'manager-2', venues: [otherVenue] })}` };
    const first = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/events/${EVENT}/refund-policy`,
      headers: otherManager,
      payload: { venueId: otherVenue, startsAt: new Date(Date.now() + 2 * HOUR).toISOString(), tiers: [{ hoursBefore: 0, refundBps: 0 }] },
    });
    expect(first.statusCode).toBe(200);
    expect((await setEvent(24 * 8)).statusCode).toBe(200);
    // The other venue's policy (nothing back) binds only its own buyers.
    const paid = await completedPurchase(t, venueId);
    expect((await refund(t, paid.id)).statusCode).toBe(200);
  });
});
