import { describe, expect, it } from 'vitest';
import { CATALOGUE_EVENT_TYPES } from '../../src/events/catalogue.js';
import { ESCROW_EVENT_TYPES } from '../../src/events/escrow.js';
import { GROUP_PAYMENT_EVENT_TYPES } from '../../src/events/group-payment.js';
import { LISTING_EVENT_TYPES } from '../../src/events/listing.js';
import { PAYEE_ACCOUNT_EVENT_TYPES } from '../../src/events/payee-account.js';
import { PAYMENT_EVENT_TYPES } from '../../src/events/payment.js';
import { RISK_POLICY_EVENT_TYPES } from '../../src/events/risk-policy.js';
import { VENUE_ACCOUNT_EVENT_TYPES } from '../../src/events/venue-account.js';
import { VENUE_EVENT_TYPES } from '../../src/events/venue.js';
import { EVENT_VERSIONS_BY_CONCEPT, eventVersionOf } from '../../src/events/versions.js';

/** What the deciders, the mint worker and the refund-policy decider write. */
const WRITTEN_TYPES = [
  ...CATALOGUE_EVENT_TYPES,
  ...ESCROW_EVENT_TYPES,
  ...GROUP_PAYMENT_EVENT_TYPES,
  ...LISTING_EVENT_TYPES,
  ...PAYEE_ACCOUNT_EVENT_TYPES,
  ...PAYMENT_EVENT_TYPES,
  ...RISK_POLICY_EVENT_TYPES,
  ...VENUE_ACCOUNT_EVENT_TYPES,
  ...VENUE_EVENT_TYPES,
  'NftBatchMinted',
  'RefundPolicySet',
];

describe('the event version catalogue', () => {
  it('gives every event type a schema version of 1 or more', () => {
    for (const type of WRITTEN_TYPES) expect(eventVersionOf(type), type).toBeGreaterThanOrEqual(1);
  });

  it('declares no type that no concept lists, and each type in one concept only', () => {
    const declared = Object.values(EVENT_VERSIONS_BY_CONCEPT).flatMap((catalogue) => Object.keys(catalogue));
    expect(new Set(declared).size).toBe(declared.length);
    expect(declared.toSorted()).toEqual(WRITTEN_TYPES.toSorted());
  });

  it('refuses to version an event type no catalogue declares', () => {
    expect(() => eventVersionOf('TicketPrinted')).toThrow(/TicketPrinted has no schema version/);
    expect(() => eventVersionOf('toString')).toThrow(/toString has no schema version/);
  });
});
