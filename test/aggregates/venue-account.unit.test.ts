import { describe, expect, it } from 'vitest';
import {
  evolveVenueAccount,
  initialVenueAccountState,
  PAYOUT_DAILY_LIMIT,
  venueAccountDecider,
  type VenueAccountCommand,
  type VenueAccountState,
} from '../../src/aggregates/venue-account.js';
import type { VenueAccountEvent } from '../../src/events/venue-account-events.js';
import { thrownBy } from '../support/payments.js';

const stateOf = (events: readonly VenueAccountEvent[]): VenueAccountState => events.reduce(evolveVenueAccount, initialVenueAccountState());
const decide = (events: readonly VenueAccountEvent[], command: VenueAccountCommand) => venueAccountDecider.decide(command, stateOf(events));
const refused = (events: readonly VenueAccountEvent[], command: VenueAccountCommand) => thrownBy(() => decide(events, command));
const after = (events: readonly VenueAccountEvent[], ...commands: VenueAccountCommand[]) =>
  commands.reduce<VenueAccountEvent[]>((all, command) => [...all, ...decide(all, command)], [...events]);

const VENUE = 'venue-1';
const NOW = '2026-03-01T10:00:00.000Z';
const settle = (saleId: string, amount: number): VenueAccountCommand => ({
  type: 'SettleSale',
  data: { venueId: VENUE, saleId, source: 'payment', currency: 'USD', amount, reserveBps: 1000, reserveReleaseAt: '2026-06-01T00:00:00.000Z' },
});
const payout = (payoutId: string, amount: number, instant = false, now = NOW): VenueAccountCommand => ({
  type: 'RequestPayout',
  data: { venueId: VENUE, payoutId, currency: 'USD', amount, instant, requestedBy: 'user:manager', now },
});
const funded = after([], settle('sale-1', 10_000_000));

describe('VenueAccount decider: settlement and reserves', () => {
  it('settles a sale into available less a reserve, rounding the reserve half-up', () => {
    expect(decide([], settle('sale-1', 10_005))).toEqual([
      {
        type: 'VenueSaleSettled',
        data: { venueId: VENUE, saleId: 'sale-1', source: 'payment', currency: 'USD', amount: 10_005, reserveBps: 1000, reserve: 1001, available: 9004, reserveReleaseAt: '2026-06-01T00:00:00.000Z' },
      },
    ]);
  });

  it('settles nothing for a sale refunded in full before settlement', () => {
    expect(decide([], settle('sale-1', 0))).toEqual([]);
  });

  it('releases a reserve into available, never more than is reserved', () => {
    const released = after(funded, { type: 'ReleaseReserve', data: { venueId: VENUE, saleId: 'sale-1', currency: 'USD', amount: 1_000_000 } });
    expect(stateOf(released).balances.USD).toMatchObject({ available: 10_000_000, reserved: 0 });
    expect(refused(released, { type: 'ReleaseReserve', data: { venueId: VENUE, saleId: 'sale-1', currency: 'USD', amount: 1 } })).toMatchObject({
      code: 'INVALID_STATE_TRANSITION',
    });
  });
});

describe('VenueAccount decider: payouts', () => {
  it('takes a standard payout from available with no fee', () => {
    const [requested] = decide(funded, payout('p1', 45_000));
    expect(requested).toMatchObject({ type: 'VenuePayoutRequested', data: { amount: 45_000, fee: 0, net: 45_000, type: 'standard', day: '2026-03-01', estimatedArrival: '1-2 business days' } });
    expect(stateOf([...funded, requested!]).balances.USD).toMatchObject({ available: 9_000_000 - 45_000, inTransit: 45_000 });
  });

  it('charges 1% for an instant payout, out of the amount', () => {
    expect(decide(funded, payout('p1', 10_050, true))[0]).toMatchObject({ data: { amount: 10_050, feeBps: 100, fee: 101, net: 9_949, type: 'instant' } });
  });

  it('refuses a payout below $100, above what is payable, or past $50,000 in a day', () => {
    expect(refused(funded, payout('p1', 9_999))).toMatchObject({ code: 'PAYOUT_BELOW_MINIMUM' });
    expect(refused(funded, payout('p1', 9_000_001))).toMatchObject({ code: 'INSUFFICIENT_FUNDS', details: { expose: { payable: 9_000_000 } } });
    const today = after(funded, payout('p1', PAYOUT_DAILY_LIMIT - 10_000));
    expect(refused(today, payout('p2', 10_001))).toMatchObject({ code: 'PAYOUT_LIMIT_EXCEEDED', details: { expose: { remainingToday: 10_000 } } });
    expect(decide(today, payout('p2', 10_000))).toHaveLength(1);
    expect(decide(today, payout('p3', 10_001, false, '2026-03-02T00:00:00.000Z'))).toHaveLength(1);
  });

  it('decides the same payout id once', () => {
    expect(decide(after(funded, payout('p1', 10_000)), payout('p1', 10_000))).toEqual([]);
  });

  it('records a payout sent once, and refuses one for an unknown payout', () => {
    const requested = after(funded, payout('p1', 10_000));
    const sent: VenueAccountCommand = { type: 'RecordPayoutSent', data: { payoutId: 'p1', gateway: 'sandbox', gatewayReference: 'tr_1' } };
    const done = after(requested, sent);
    expect(stateOf(done).balances.USD).toMatchObject({ inTransit: 0, paidOut: 10_000 });
    expect(decide(done, sent)).toEqual([]);
    expect(refused(funded, sent)).toMatchObject({ code: 'INVALID_STATE_TRANSITION' });
    expect(refused(done, { type: 'RecordPayoutFailed', data: { payoutId: 'p1', code: 'x', reason: 'y' } })).toMatchObject({ code: 'INVALID_STATE_TRANSITION' });
  });

  it('returns a failed payout to available and to the day limit', () => {
    const failedCommand: VenueAccountCommand = { type: 'RecordPayoutFailed', data: { payoutId: 'p1', code: 'account_invalid', reason: 'no' } };
    const failed = after(funded, payout('p1', PAYOUT_DAILY_LIMIT, true), failedCommand);
    expect(failed.at(-1)).toMatchObject({ type: 'VenuePayoutFailed', data: { amount: PAYOUT_DAILY_LIMIT, fee: PAYOUT_DAILY_LIMIT / 100 } });
    expect(stateOf(failed).balances.USD).toMatchObject({ available: 9_000_000, inTransit: 0 });
    expect(decide(failed, payout('p2', PAYOUT_DAILY_LIMIT))).toHaveLength(1);
    expect(decide(failed, failedCommand)).toEqual([]);
  });
});
