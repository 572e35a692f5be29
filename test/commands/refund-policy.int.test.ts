import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toEventData } from '../../src/commands/handle-command.js';
import { legacyEventPolicyStreamId } from '../../src/events/refund-policy.js';
import { refundPolicyFor, setRefundPolicy } from '../../src/commands/refund-policy.js';
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

  it('lets each venue set its own policy for an event id another venue set first, locking neither out', async () => {
    const [eventId, ownVenue, otherVenue] = [randomUUID(), randomUUID(), randomUUID()];
    await setEvent(eventId, otherVenue, [{ hoursBefore: 0, refundBps: 0 }]);
    const own = await setEvent(eventId, ownVenue, [{ hoursBefore: 0, refundBps: 5_000 }]);
    expect(own.changed).toBe(true);
    expect(await refundPolicyFor(opened.storage.eventStore, { eventId, venueId: ownVenue }, new Date())).toMatchObject({ refundBps: 5_000, source: 'event' });
    expect(await refundPolicyFor(opened.storage.eventStore, { eventId, venueId: otherVenue }, new Date())).toMatchObject({ refundBps: 0, source: 'event' });
  });

  it("still reads an event policy kept under the event's id alone, for the venue that set it", async () => {
    const [eventId, venueId, otherVenue] = [randomUUID(), randomUUID(), randomUUID()];
    const startsAt = new Date(Date.now() + 30 * DAY).toISOString();
    const policy = { scope: 'event' as const, scopeId: eventId, venueId, startsAt, tiers: [{ hoursBefore: 0, refundBps: 2_500 }] };
    await opened.storage.eventStore.append(legacyEventPolicyStreamId(eventId), toEventData([{ type: 'RefundPolicySet', data: policy }], context()), {
      expected: 'no_stream',
    });
    expect(await refundPolicyFor(opened.storage.eventStore, { eventId, venueId }, new Date())).toMatchObject({ refundBps: 2_500, source: 'event' });
    expect(await refundPolicyFor(opened.storage.eventStore, { eventId, venueId: otherVenue }, new Date())).toBeUndefined();
    await setEvent(eventId, venueId, [{ hoursBefore: 0, refundBps: 7_500 }]);
    expect(await refundPolicyFor(opened.storage.eventStore, { eventId, venueId }, new Date())).toMatchObject({ refundBps: 7_500 });
  });
});
