import { describe, expect, it } from 'vitest';
import { venueDecider, type VenueCommand, type VenueProfileState } from '../../src/aggregates/venue.js';
import type { VenueEvent } from '../../src/events/venue.js';
import { thrownBy } from '../support/payments.js';

const stateOf = (events: readonly VenueEvent[]): VenueProfileState => events.reduce((state, event) => venueDecider.evolve(state, event), venueDecider.initialState());
const address = { street: '116 5th Ave N', city: 'Nashville', state: 'tn', zip: '37219' };
const NOW = '2026-03-01T10:00:00.000Z';
const DAY_MS = 86_400_000;
const save = (overrides: Record<string, unknown> = {}): VenueCommand => ({
  type: 'SaveVenueProfile',
  data: { venueId: 'v1', name: 'Ryman', address, changedBy: 'admin:admin-1', now: NOW, payoutAccountHoldMs: DAY_MS, ...overrides },
});
/** The events of saving each command in turn. */
const saved = (...commands: VenueCommand[]) =>
  commands.reduce<VenueEvent[]>((all, command) => [...all, ...venueDecider.decide(command, stateOf(all))], []);

describe('VenueProfile decider', () => {
  it('registers a new venue, normalising the state code', () => {
    const events = venueDecider.decide(save({ tierOverride: 'pro' }), stateOf([]));
    expect(events).toEqual([
      { type: 'VenueRegistered', data: { venueId: 'v1', name: 'Ryman', address: { ...address, state: 'TN' }, tierOverride: 'pro' } },
    ]);
  });

  it('writes nothing when the same profile is saved again', () => {
    const registered = venueDecider.decide(save(), stateOf([]));
    expect(venueDecider.decide(save(), stateOf(registered))).toEqual([]);
  });

  it('records an update with the fields that changed', () => {
    const registered = venueDecider.decide(save(), stateOf([]));
    const [updated] = venueDecider.decide(save({ name: 'Ryman Auditorium', payoutAccount: 'acct_1' }), stateOf(registered));
    expect(updated).toMatchObject({ type: 'VenueProfileUpdated', data: { changed: ['name', 'payoutAccount'], payoutAccount: 'acct_1' } });
    expect(stateOf([...registered, updated!]).profile?.name).toBe('Ryman Auditorium');
  });

  it('drops a tier override when a later save leaves it out', () => {
    const registered = venueDecider.decide(save({ tierOverride: 'enterprise' }), stateOf([]));
    const [updated] = venueDecider.decide(save(), stateOf(registered));
    expect(updated).toMatchObject({ data: { changed: ['tierOverride'] } });
    expect(stateOf([...registered, updated!]).profile?.tierOverride).toBeUndefined();
  });

  it('sets a payout account given at registration without a hold, and holds one first set later', () => {
    const atRegistration = venueDecider.decide(save({ payoutAccount: 'acct_1' }), stateOf([]));
    expect(atRegistration.map((e) => e.type)).toEqual(['VenueRegistered']);
    // The venue may have sold for days without one: its waiting balance must not go straight to the first account named.
    const later = saved(save(), save({ payoutAccount: 'acct_1' }));
    expect(later.map((e) => e.type)).toEqual(['VenueRegistered', 'VenueProfileUpdated', 'VenuePayoutAccountChanged']);
    expect(stateOf(later).payoutHold).toBeDefined();
  });

  it('records who replaced a payout account and when, and holds payouts for the configured period', () => {
    const events = saved(
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
    expect(stateOf(events).payoutHold).toEqual({ until: '2026-03-03T08:00:00.000Z', changedBy: 'service:venue-service', changedAt: '2026-03-02T08:00:00.000Z' });
  });

  it('holds payouts when a payout account is removed, and again when one is set after the removal', () => {
    const removed = saved(save({ payoutAccount: 'acct_1' }), save());
    expect(removed[2]).toEqual({
      type: 'VenuePayoutAccountChanged',
      data: { venueId: 'v1', previousPayoutAccount: 'acct_1', changedBy: 'admin:admin-1', changedAt: NOW, holdUntil: '2026-03-02T10:00:00.000Z' },
    });
    const [, reset] = venueDecider.decide(save({ payoutAccount: 'acct_3', now: '2026-03-05T10:00:00.000Z' }), stateOf(removed));
    expect(reset).toEqual({
      type: 'VenuePayoutAccountChanged',
      data: { venueId: 'v1', payoutAccount: 'acct_3', changedBy: 'admin:admin-1', changedAt: '2026-03-05T10:00:00.000Z', holdUntil: '2026-03-06T10:00:00.000Z' },
    });
  });

  it('holds nothing for a change of other fields, and never shortens a running hold', () => {
    const changedName = saved(save({ payoutAccount: 'acct_1' }), save({ payoutAccount: 'acct_1', name: 'Ryman Auditorium' }));
    expect(changedName.map((e) => e.type)).toEqual(['VenueRegistered', 'VenueProfileUpdated']);
    const shorter = saved(save({ payoutAccount: 'acct_1' }), save({ payoutAccount: 'acct_2' }), save({ payoutAccount: 'acct_3', payoutAccountHoldMs: 1_000 }));
    expect(stateOf(shorter).payoutHold?.until).toBe('2026-03-02T10:00:00.000Z');
  });

  it('refuses a venue without a name or in a state it has no tax rules for', () => {
    expect(thrownBy(() => venueDecider.decide(save({ name: ' ' }), stateOf([])))).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(thrownBy(() => venueDecider.decide(save({ address: { ...address, state: 'ZZ' } }), stateOf([])))).toMatchObject({
      code: 'TAX_JURISDICTION_UNKNOWN',
    });
  });
});
