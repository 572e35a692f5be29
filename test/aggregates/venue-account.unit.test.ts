import { describe, expect, it } from 'vitest';
import {
  evolveVenueAccount,
  initialVenueAccountState,
  PAYOUT_DAILY_LIMIT,
  venueAccountDecider,
  type VenueAccountCommand,
  type VenueAccountState,
} from '../../src/aggregates/venue-account.js';
import type { VenueAccountEvent } from '../../src/events/venue-account.js';
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
const payout = (
  payoutId: string,
  amount: number,
  instant = false,
  now = NOW,
  terms: { destination?: string; payoutsHeldUntil?: string } = {},
): VenueAccountCommand => ({
  type: 'RequestPayout',
  data: { venueId: VENUE, payoutId, currency: 'USD', amount, instant, requestedBy: 'user:manager', now, ...terms },
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

  it('settles a sale once', () => {
    expect(decide(funded, settle('sale-1', 10_000_000))).toEqual([]);
  });


  it('releases what is left of a sale reserve into available, once', () => {
    const released = after(funded, { type: 'ReleaseReserve', data: { venueId: VENUE, saleId: 'sale-1', currency: 'USD' } });
    expect(stateOf(released).balances.USD).toMatchObject({ available: 10_000_000, reserved: 0 });
    expect(decide(released, { type: 'ReleaseReserve', data: { venueId: VENUE, saleId: 'sale-1', currency: 'USD' } })).toEqual([]);
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

  it('refuses a payout while a change of payout account holds them, with when the hold ends, and writes nothing', () => {
    const held = (now: string) => payout('p1', 10_000, false, now, { destination: 'acct_new', payoutsHeldUntil: '2026-03-02T10:00:00.000Z' });
    expect(refused(funded, held('2026-03-02T09:59:59.999Z'))).toMatchObject({
      code: 'PAYOUT_ON_HOLD',
      status: 409,
      details: { expose: { holdUntil: '2026-03-02T10:00:00.000Z' } },
    });
    expect(decide(funded, held('2026-03-02T10:00:00.000Z'))).toMatchObject([{ type: 'VenuePayoutRequested', data: { destination: 'acct_new' } }]);
  });

  it('records the payout account it was decided for, or null when the venue has none', () => {
    expect(decide(funded, payout('p1', 10_000, false, NOW, { destination: 'acct_1' }))[0]).toMatchObject({ data: { destination: 'acct_1' } });
    expect(decide(funded, payout('p1', 10_000))[0]).toMatchObject({ data: { destination: null } });
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

describe('VenueAccount decider: proceeds taken back by refunds and chargebacks', () => {
  const takeBack = (takebackId: string, amount: number, saleId = 'sale-1'): VenueAccountCommand => ({
    type: 'TakeBackProceeds',
    data: { venueId: VENUE, saleId, takebackId, currency: 'USD', amount },
  });
  const giveBack = (takebackId: string, saleId = 'sale-1'): VenueAccountCommand => ({
    type: 'ReturnProceeds',
    data: { venueId: VENUE, saleId, takebackId, currency: 'USD' },
  });

  it('settles less by what was taken back before settlement, and books nothing for the note', () => {
    const noted = after([], takeBack('r1', 3_000));
    expect(noted[0]).toMatchObject({ type: 'VenueProceedsTakenBack', data: { afterSettlement: false, fromReserve: 0, fromAvailable: 0 } });
    expect(decide(noted, settle('sale-1', 10_000))[0]).toMatchObject({ data: { amount: 7_000, reserve: 700, available: 6_300 } });
  });

  it('draws on the sale reserve first, then available, once the sale has settled', () => {
    const taken = after(funded, takeBack('r1', 1_500_000));
    expect(taken.at(-1)).toMatchObject({ data: { afterSettlement: true, fromReserve: 1_000_000, fromAvailable: 500_000 } });
    expect(stateOf(taken).balances.USD).toMatchObject({ reserved: 0, available: 8_500_000 });
    expect(decide(taken, { type: 'ReleaseReserve', data: { venueId: VENUE, saleId: 'sale-1', currency: 'USD' } })).toEqual([]);
    expect(decide(taken, takeBack('r1', 1_500_000))).toEqual([]);
  });

  it('returns a refused refund to available after settlement, and to the settlement before it', () => {
    const after1 = after(funded, takeBack('r1', 2_000), giveBack('r1'));
    expect(after1.at(-1)).toMatchObject({ type: 'VenueProceedsReturned', data: { amount: 2_000, afterSettlement: true } });
    // It came out of the reserve and goes back to available: the venue may have it now.
    expect(stateOf(after1).balances.USD).toMatchObject({ available: 9_002_000, reserved: 998_000 });
    const before = after([], takeBack('r1', 2_000), giveBack('r1'));
    expect(before.at(-1)).toMatchObject({ data: { afterSettlement: false } });
    expect(decide(before, settle('sale-1', 10_000))[0]).toMatchObject({ data: { amount: 10_000 } });
    expect(decide(before, giveBack('r1'))).toEqual([]);
  });

  it('refuses to return what was never taken back (retryable: the takeback may come later)', () => {
    expect(refused(funded, giveBack('nothing'))).toMatchObject({ code: 'INVALID_STATE_TRANSITION', details: { retryable: true } });
  });
});
