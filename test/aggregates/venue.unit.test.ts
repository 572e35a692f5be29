import { describe, expect, it } from 'vitest';
import { venueDecider, type VenueCommand } from '../../src/aggregates/venue.js';
import { DeciderSpecification } from '../support/decider.js';

const { given } = DeciderSpecification.for(venueDecider);
const address = { street: '116 5th Ave N', city: 'Nashville', state: 'tn', zip: '37219' };
const NOW = '2026-03-01T10:00:00.000Z';
const DAY_MS = 86_400_000;
const save = (overrides: Record<string, unknown> = {}): VenueCommand => ({
  type: 'SaveVenueProfile',
  data: { venueId: 'v1', name: 'Ryman', address, changedBy: 'admin:admin-1', now: NOW, payoutAccountHoldMs: DAY_MS, ...overrides },
});

describe('VenueProfile decider', () => {
  it('registers a new venue, normalising the state code', () => {
    given([])
      .when(save({ tierOverride: 'pro' }))
      .then([{ type: 'VenueRegistered', data: { venueId: 'v1', name: 'Ryman', address: { ...address, state: 'TN' }, tierOverride: 'pro' } }]);
  });

  it('writes nothing when the same profile is saved again', () => {
    const registered = given([]).after(save());
    given(registered).when(save()).thenNothing();
  });

  it('records an update with the fields that changed', () => {
    const registered = given([]).after(save());
    const [updated] = given(registered).when(save({ name: 'Ryman Auditorium', payoutAccount: 'acct_1' })).decided();
    expect(updated).toMatchObject({ type: 'VenueProfileUpdated', data: { changed: ['name', 'payoutAccount'], payoutAccount: 'acct_1' } });
    expect(given([...registered, updated!]).state().profile?.name).toBe('Ryman Auditorium');
  });

  it('drops a tier override when a later save leaves it out', () => {
    const registered = given([]).after(save({ tierOverride: 'enterprise' }));
    const [updated] = given(registered).when(save()).decided();
    expect(updated).toMatchObject({ data: { changed: ['tierOverride'] } });
    expect(given([...registered, updated!]).state().profile?.tierOverride).toBeUndefined();
  });

  it('sets a payout account given at registration without a hold, and holds one first set later', () => {
    given([]).when(save({ payoutAccount: 'acct_1' })).thenMatches([{ type: 'VenueRegistered' }]);
    // The venue may have sold for days without one: its waiting balance must not go straight to the first account named.
    const later = given([]).after(save(), save({ payoutAccount: 'acct_1' }));
    expect(later.map((e) => e.type)).toEqual(['VenueRegistered', 'VenueProfileUpdated', 'VenuePayoutAccountChanged']);
    expect(given(later).state().payoutHold).toBeDefined();
  });

  it('records who replaced a payout account and when, and holds payouts for the configured period', () => {
    const events = given([]).after(
      save({ payoutAccount: 'acct_1' }),
      save({ payoutAccount: 'acct_2', changedBy: 'service:venue-service', now: '2026-03-02T08:00:00.000Z' }),
    );
    expect(events.slice(1)).toEqual([
      { type: 'VenueProfileUpdated', data: { venueId: 'v1', changed: ['payoutAccount'], name: 'Ryman', address: { ...address, state: 'TN' }, payoutAccount: 'acct_2' } },
      {
        type: 'VenuePayoutAccountChanged',
        data: {
          venueId: 'v1',
          payoutAccount: 'acct_2',
          previousPayoutAccount: 'acct_1',
          changedBy: 'service:venue-service',
          changedAt: '2026-03-02T08:00:00.000Z',
          holdUntil: '2026-03-03T08:00:00.000Z',
        },
      },
    ]);
    expect(given(events).state().payoutHold).toEqual({ until: '2026-03-03T08:00:00.000Z', changedBy: 'service:venue-service', changedAt: '2026-03-02T08:00:00.000Z' });
  });

  it('holds payouts when a payout account is removed, and again when one is set after the removal', () => {
    const removed = given([]).after(save({ payoutAccount: 'acct_1' }), save());
    expect(removed[2]).toEqual({
      type: 'VenuePayoutAccountChanged',
      data: { venueId: 'v1', previousPayoutAccount: 'acct_1', changedBy: 'admin:admin-1', changedAt: NOW, holdUntil: '2026-03-02T10:00:00.000Z' },
    });
    const [, reset] = given(removed).when(save({ payoutAccount: 'acct_3', now: '2026-03-05T10:00:00.000Z' })).decided();
    expect(reset).toEqual({
      type: 'VenuePayoutAccountChanged',
      data: { venueId: 'v1', payoutAccount: 'acct_3', changedBy: 'admin:admin-1', changedAt: '2026-03-05T10:00:00.000Z', holdUntil: '2026-03-06T10:00:00.000Z' },
    });
  });

  it('holds nothing for a change of other fields, and never shortens a running hold', () => {
    const changedName = given([]).after(save({ payoutAccount: 'acct_1' }), save({ payoutAccount: 'acct_1', name: 'Ryman Auditorium' }));
    expect(changedName.map((e) => e.type)).toEqual(['VenueRegistered', 'VenueProfileUpdated']);
    const shorter = given([]).after(save({ payoutAccount: 'acct_1' }), save({ payoutAccount: 'acct_2' }), save({ payoutAccount: 'acct_3', payoutAccountHoldMs: 1_000 }));
    expect(given(shorter).state().payoutHold?.until).toBe('2026-03-02T10:00:00.000Z');
  });

  it('refuses a venue without a name or in a state it has no tax rules for', () => {
    given([]).when(save({ name: ' ' })).thenRefused('VALIDATION_ERROR');
    given([]).when(save({ address: { ...address, state: 'ZZ' } })).thenRefused('TAX_JURISDICTION_UNKNOWN');
  });
});
