import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refundPolicyFor, setRefundPolicy } from '../../src/venues/refund-policies.js';
import { openTestStorage, type TestStorage } from '../support/app.js';
import { context } from '../support/payments.js';

const DAY = 86_400_000;

describe('refund policies bound to a venue', () => {
  let opened: TestStorage;
  beforeAll(async () => {
    opened = await openTestStorage('pglite');
  });
  afterAll(() => opened.cleanup());

  const setEvent = (eventId: string, venueId: string, tiers?: { hoursBefore: number; refundBps: number }[]) =>
    setRefundPolicy(
      opened.storage.eventStore,
      { scope: 'event', scopeId: eventId, venueId, startsAt: new Date(Date.now() + 30 * DAY).toISOString(), ...(tiers ? { tiers } : {}) },
      context(),
    );

  it("ignores an event policy another venue recorded first for a purchase at the event's own venue", async () => {
    const [eventId, ownVenue, otherVenue] = [randomUUID(), randomUUID(), randomUUID()];
    await setEvent(eventId, otherVenue, [{ hoursBefore: 0, refundBps: 0 }]);
    // The other venue's record says nothing for this venue's buyers: no start time, no policy.
    expect(await refundPolicyFor(opened.storage.eventStore, { eventId, venueId: ownVenue }, new Date())).toBeUndefined();
    expect(await refundPolicyFor(opened.storage.eventStore, { eventId, venueId: otherVenue }, new Date())).toMatchObject({ refundBps: 0, source: 'event' });
  });

  it('refuses an event policy write for an event already bound to another venue, writing nothing', async () => {
    const [eventId, ownVenue, otherVenue] = [randomUUID(), randomUUID(), randomUUID()];
    await setEvent(eventId, ownVenue);
    await expect(setEvent(eventId, otherVenue, [{ hoursBefore: 0, refundBps: 0 }])).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await refundPolicyFor(opened.storage.eventStore, { eventId, venueId: ownVenue }, new Date())).toMatchObject({ refundBps: 10_000, source: 'default' });
  });
});
