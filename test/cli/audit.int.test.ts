import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentDecider } from '../../src/aggregates/payment.js';
import { fold } from '../../src/aggregates/decider.js';
import { auditJsonLines, auditTable, auditTrail } from '../../src/cli/audit.js';
import { saveVenueProfile } from '../../src/commands/venue.js';
import type { PgliteSqlClient } from '../../src/db/sql-client.js';
import { paymentStreamId, type PaymentEvent } from '../../src/events/payment.js';
import { venueStreamId } from '../../src/events/venue.js';
import { sqlEventStore } from '../../src/runtime.js';
import type { EventStore } from '../../src/eventstore/event-store.js';
import { freshPglite } from '../support/databases.js';
import { event } from '../support/events.js';
import { context, NASHVILLE } from '../support/payments.js';
import { appendPurchaseHistory } from '../support/purchase-history.js';
import { paymentRequestedV1, VERSION_1_LINES_UPCAST } from '../support/version-1-events.js';

describe('the audit trail of a stream', () => {
  let sql: PgliteSqlClient;
  let store: EventStore;
  let refunded: string;

  beforeAll(async () => {
    sql = await freshPglite();
    store = sqlEventStore(sql);
    // The third payment of a history is refunded in full.
    refunded = (await appendPurchaseHistory(store, 3))[2]!;
  });
  afterAll(() => sql.close());

  it("gives every event with the Payment decider's state after it, the last one equal to a fold of the stream", async () => {
    const trail = await auditTrail(store, `payment-${refunded}`);
    expect(trail.aggregate).toBe('Payment');
    expect(trail.entries.map((e) => e.type)).toEqual([
      'PaymentRequested', 'PaymentSubmitted', 'PaymentAuthorized', 'PaymentCaptured', 'RefundRequested', 'RefundSucceeded',
    ]);
    const events = (await store.readStream(`payment-${refunded}`)).map((e) => ({ type: e.type, data: e.data }) as PaymentEvent);
    expect(trail.entries.map((e) => e.state)).toEqual(events.map((_, n) => fold(paymentDecider, events.slice(0, n + 1))));
    expect(trail.entries[3]!.changed).toEqual(expect.arrayContaining(['status', 'captured']));
    expect(trail.entries[0]!.metadata).toMatchObject({ actor: 'system:history', correlationId: refunded });
  });

  it('prints one JSON line per event and a table with the fields each event changed', async () => {
    const trail = await auditTrail(store, `payment-${refunded}`);
    const lines = auditJsonLines(trail).trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { revision: number }).revision)).toEqual([0, 1, 2, 3, 4, 5]);
    const table = auditTable(trail).split('\n');
    expect(table[0]).toBe(`payment-${refunded} (Payment, 6 events)`);
    expect(table[1]).toMatch(/^REV {2}EVENT +OCCURRED AT +ACTOR +POSITION$/);
    expect(table).toContain('     status = "refunded"');
  });

  it('shows a purchase stored before the catalogue as it reads now: version 2, every line priced by the request', async () => {
    const paymentId = randomUUID();
    await store.append(paymentStreamId(paymentId), [paymentRequestedV1(paymentId)], { expected: 'no_stream' });
    const [entry] = (await auditTrail(store, paymentStreamId(paymentId))).entries;
    expect(entry).toMatchObject({
      metadata: { schemaVersion: 2 },
      data: { tickets: VERSION_1_LINES_UPCAST },
      state: { request: { tickets: VERSION_1_LINES_UPCAST } },
    });
  });

  it("shows a change of a venue's payout account with the hold it put on payouts", async () => {
    const venueId = randomUUID();
    const hold = { payoutAccountHoldMs: 86_400_000 };
    const at = new Date('2026-03-01T10:00:00.000Z');
    await saveVenueProfile(store, { venueId, name: 'Ryman', address: NASHVILLE, payoutAccount: 'acct_1' }, context({ now: at }), hold);
    await saveVenueProfile(store, { venueId, name: 'Ryman', address: NASHVILLE, payoutAccount: 'acct_2' }, context({ now: at, actor: 'admin:a-1' }), hold);
    const trail = await auditTrail(store, venueStreamId(venueId));
    expect(trail.aggregate).toBe('VenueProfile');
    expect(trail.entries.map((e) => e.type)).toEqual(['VenueRegistered', 'VenueProfileUpdated', 'VenuePayoutAccountChanged']);
    expect(trail.entries[2]).toMatchObject({
      changed: ['payoutHold'],
      state: { payoutHold: { until: '2026-03-02T10:00:00.000Z', changedBy: 'admin:a-1', changedAt: '2026-03-01T10:00:00.000Z' } },
    });
  });

  it('lists the events of a stream no aggregate owns, with no state', async () => {
    await store.append('tally-audit', [event('Tallied', { amount: 1 })], { expected: 'no_stream' });
    const trail = await auditTrail(store, 'tally-audit');
    expect(trail.aggregate).toBeNull();
    expect(trail.entries).toMatchObject([{ type: 'Tallied', state: null, changed: [] }]);
  });
});
