import { describe, expect, it } from 'vitest';
import { integrationCatalogue, integrationSchema, isPublishedSource, toCloudEvent, type SourceEvent } from '../../src/events/integration.js';
import { checkJsonSchema } from '../support/json-schema-check.js';

const tenantId = 'tenant-a';
let revision = 0;
const recorded = (type: string, data: Record<string, unknown>, streamId = 'payment-p1'): SourceEvent => ({
  id: `00000000-0000-4000-8000-${String(++revision).padStart(12, '0')}`,
  type,
  data,
  streamId,
  revision,
  recordedAt: new Date('2026-05-01T10:00:01Z'),
  metadata: { tenantId, occurredAt: '2026-05-01T10:00:00.000Z' },
});

// What the personal fields of the domain events look like: none of it may go out.
const personal = {
  paymentMethod: { type: 'card', paymentMethodId: 'pm_card_visa' },
  paymentMethodId: 'pm_card_visa',
  email: 'buyer@example.com',
  ipAddress: '203.0.113.9',
  deviceFingerprint: 'fp-123',
  features: { ipAddress: '203.0.113.9', cardCountry: 'US' },
};
const quote = { total: 10_000, lines: [] };
const split = { sellerPayout: 8000, venueRoyalty: 1000, artistRoyalty: 0, platformFee: 1000, rates: { venueRoyaltyBps: 1000, artistRoyaltyBps: 0, platformFeeBps: 1000 } };
const escrow = { escrowId: 'e1', ticketId: 't1', buyerId: 'u1', sellerId: 'u2', venueId: 'v1', eventId: 'ev1', currency: 'USD', amount: 12_000 };
const assessment = {
  paymentId: 'p1', assessmentId: 'p1', subject: 'purchase', userId: 'u1', venueId: 'v1', eventId: 'ev1', amount: 10_000,
  rules: [{ rule: 'velocity', kind: 'limit', points: 40, detail: '5 in 1h from 203.0.113.9' }], score: 62, level: 'HIGH',
  botScore: 0.1, scalperScore: 0.2, modelVersion: 'm1', modelScore: 0.4, latencyMs: 3, assessedAt: '2026-05-01T10:00:00.000Z',
};

/** One domain event for every published type, carrying every personal field the domain holds. */
const SOURCES: readonly SourceEvent[] = [
  recorded('PaymentCaptured', { paymentId: 'p1', venueId: 'v1', userId: 'u1', eventId: 'ev1', currency: 'USD', amount: 10_000, ticketPrice: 9000, gateway: 'sandbox', gatewayReference: 'ch_1', processingCost: 320, quote, ...personal }),
  recorded('PaymentFailed', { paymentId: 'p1', reason: 'Your card was declined', code: 'card_declined', declineCode: 'insufficient_funds', gateway: 'sandbox', ...personal }),
  recorded('RefundSucceeded', { paymentId: 'p1', refundId: 'r1', venueId: 'v1', userId: 'u1', currency: 'USD', amount: 2500, allocation: {}, gatewayReference: 're_1' }),
  recorded('DisputeClosed', { paymentId: 'p1', disputeId: 'd1', venueId: 'v1', currency: 'USD', outcome: 'lost', amount: 10_000 }),
  recorded('EscrowFunded', { ...escrow, gateway: 'sandbox', gatewayReference: 'ch_2', fundedAt: '2026-05-01T10:00:00.000Z', releaseDeadline: '2026-05-02T10:00:00.000Z', ...personal }, 'escrow-e1'),
  recorded('EscrowReleased', { ...escrow, split, transferTxHash: '0xabc', releasedAt: '2026-05-01T11:00:00.000Z' }, 'escrow-e1'),
  recorded('EscrowRefunded', { ...escrow, reason: 'transfer not confirmed', refundedAt: '2026-05-02T10:00:00.000Z' }, 'escrow-e1'),
  recorded('GroupPaymentCompleted', {
    groupId: 'g1', organizerId: 'u1', venueId: 'v1', eventId: 'ev1', currency: 'USD', amount: 20_000, ticketPrice: 18_000, gateway: 'sandbox', processingCost: 600, quote,
    contributions: [
      { memberId: 'm1', amount: 10_000, gatewayReference: 'ch_3', ticketCount: 2, payerId: 'u1', email: 'a@example.com' },
      { memberId: 'm2', amount: 10_000, gatewayReference: 'ch_4', ticketCount: 1, payerId: 'u3', email: 'b@example.com' },
    ],
  }, 'group-payment-g1'),
  recorded('GroupPaymentExpired', { groupId: 'g1', expiresAt: '2026-05-01T12:00:00.000Z', expiredAt: '2026-05-01T12:00:01.000Z' }, 'group-payment-g1'),
  recorded('VenuePayoutSent', { venueId: 'v1', payoutId: 'po1', currency: 'USD', net: 50_000, gateway: 'sandbox', gatewayReference: 'tr_1' }, 'venue-account-v1'),
  recorded('NftBatchMinted', { batchId: 'b1', chain: 'polygon', txHash: '0xdef', gasFee: 3, currency: 'USD', tickets: [{ ticketId: 't1', paymentId: 'p1' }] }, 'nft-batch-b1'),
  recorded('PaymentRiskAssessed', { ...assessment, decision: 'review', ...personal }),
];

const PERSONAL_FIELD = /email|card|paymentmethod|^ip|ipaddress|device|fingerprint|features/i;
const keysOf = (value: unknown): string[] =>
  value && typeof value === 'object' ? Object.entries(value).flatMap(([key, child]) => [key, ...keysOf(child)]) : [];

describe('the integration event catalogue', () => {
  it('publishes one CloudEvent for each catalogued domain event, valid against its versioned schema', () => {
    const types = new Set<string>();
    for (const source of SOURCES) {
      const event = toCloudEvent(source);
      expect(event, source.type).toBeDefined();
      const [type, version] = event!.dataschema.split('/').slice(-3, -1);
      const schema = integrationSchema(type!, Number(version));
      expect(schema, event!.dataschema).toBeDefined();
      expect(checkJsonSchema(schema!, event!.data), source.type).toEqual([]);
      expect(checkJsonSchema(schema!, { ...event!.data, extra: 1 }), source.type).toContain('$: unexpected extra');
      types.add(event!.type);
    }
    expect(types.size).toBe(SOURCES.length);
    expect(new Set(integrationCatalogue().map((entry) => entry.type))).toEqual(types);
  });

  it('fills the CloudEvents envelope from the source event: its id, the tenant, the aggregate as subject and partition key', () => {
    const source = SOURCES[4]!;
    expect(toCloudEvent(source)).toEqual({
      specversion: '1.0',
      id: source.id,
      source: '/tessera/tenant-a',
      type: 'com.tessera.escrow.funded',
      subject: 'e1',
      time: '2026-05-01T10:00:00.000Z',
      datacontenttype: 'application/json',
      dataschema: '/api/v1/integration-events/com.tessera.escrow.funded/1/schema',
      tenantid: 'tenant-a',
      partitionkey: 'e1',
      sequence: String(source.revision).padStart(12, '0'),
      data: { escrowId: 'e1', ticketId: 't1', venueId: 'v1', eventId: 'ev1', amount: 12_000, currency: 'USD', releaseDeadline: '2026-05-02T10:00:00.000Z' },
    });
  });

  it('never lets card, payment-method, e-mail, IP or device data out', () => {
    for (const source of SOURCES) {
      const leaked = keysOf(toCloudEvent(source)).filter((key) => PERSONAL_FIELD.test(key));
      expect(leaked, source.type).toEqual([]);
      const body = JSON.stringify(toCloudEvent(source));
      for (const value of ['pm_card_visa', 'buyer@example.com', '203.0.113.9', 'fp-123', 'a@example.com']) expect(body, source.type).not.toContain(value);
    }
  });

  it('maps an event to the same CloudEvent every time, so a re-publish repeats its id', () => {
    for (const source of SOURCES) expect(JSON.stringify(toCloudEvent(structuredClone(source)))).toBe(JSON.stringify(toCloudEvent(source)));
  });

  it('orders one aggregate’s events by their sequence as strings', () => {
    const at = (revision: number) => toCloudEvent({ ...SOURCES[0]!, revision })!.sequence;
    expect([at(10), at(9), at(100)].sort()).toEqual([at(9), at(10), at(100)]);
  });

  it('publishes nothing for a dispute won, a purchase approved, or an internal event', () => {
    expect(toCloudEvent(recorded('DisputeClosed', { paymentId: 'p1', disputeId: 'd1', venueId: 'v1', currency: 'USD', outcome: 'won', amount: 10 }))).toBeUndefined();
    expect(toCloudEvent(recorded('PaymentRiskAssessed', { ...assessment, decision: 'approve' }))).toBeUndefined();
    expect(toCloudEvent(recorded('PaymentSubmitted', { paymentId: 'p1' }))).toBeUndefined();
    expect(isPublishedSource('PaymentSubmitted')).toBe(false);
    expect(isPublishedSource('PaymentCaptured')).toBe(true);
  });

  it('names no schema for a version that was never published', () => {
    expect(integrationSchema('com.tessera.payment.completed', 1)).toBeDefined();
    expect(integrationSchema('com.tessera.payment.completed', 2)).toBeUndefined();
    expect(integrationSchema('com.tessera.nothing', 1)).toBeUndefined();
  });
});
