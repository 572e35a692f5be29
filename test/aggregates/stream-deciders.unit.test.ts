import { describe, expect, it } from 'vitest';
import { escrowDecider } from '../../src/aggregates/escrow.js';
import { aggregateOfStream } from '../../src/aggregates/stream-deciders.js';
import { venueAccountDecider } from '../../src/aggregates/venue-account.js';
import { venueDecider } from '../../src/aggregates/venue.js';

describe('the aggregate a stream belongs to', () => {
  it('tells a venue account from a venue profile by the longer prefix', () => {
    expect(aggregateOfStream('venue-account-7a1f')).toMatchObject({ aggregate: 'VenueAccount' });
    expect(aggregateOfStream('venue-account-7a1f')!.decider).toBe(venueAccountDecider);
    expect(aggregateOfStream('venue-7a1f')!.decider).toBe(venueDecider);
  });

  it("names each aggregate's decider by its stream prefix, and none for other streams", () => {
    expect(
      ['payment-1', 'group-payment-1', 'listing-1', 'escrow-1', 'refund-policy-venue-1', 'payee-account-seller-1'].map((s) => aggregateOfStream(s)?.aggregate),
    ).toEqual(['Payment', 'GroupPayment', 'Listing', 'Escrow', 'RefundPolicy', 'PayeeAccount']);
    expect(aggregateOfStream('escrow-1')!.decider).toBe(escrowDecider);
    expect(aggregateOfStream('tally-1')).toBeUndefined();
  });
});
