import { describe, expect, it } from 'vitest';
import { venueDecider, type VenueProfileState } from '../../src/aggregates/venue-profile.js';
import type { VenueEvent } from '../../src/events/venue-events.js';
import { thrownBy } from '../support/payments.js';

const stateOf = (events: readonly VenueEvent[]): VenueProfileState => events.reduce((state, event) => venueDecider.evolve(state, event), venueDecider.initialState());
const address = { street: '116 5th Ave N', city: 'Nashville', state: 'tn', zip: '37219' };
const save = (overrides: Record<string, unknown> = {}) => ({ type: 'SaveVenueProfile' as const, data: { venueId: 'v1', name: 'Ryman', address, ...overrides } });

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

  it('refuses a venue without a name or in a state it has no tax rules for', () => {
    expect(thrownBy(() => venueDecider.decide(save({ name: ' ' }), stateOf([])))).toMatchObject({ code: 'VALIDATION_ERROR' });
    expect(thrownBy(() => venueDecider.decide(save({ address: { ...address, state: 'ZZ' } }), stateOf([])))).toMatchObject({
      code: 'TAX_JURISDICTION_UNKNOWN',
    });
  });
});
