import { describe, expect, it } from 'vitest';
import { venueAccountDecider, type VenueAccountCommand } from '../../src/aggregates/venue-account.js';
import { PAYOUT_DAILY_LIMIT } from '../../src/domain/payouts.js';
import { DeciderSpecification } from '../support/decider.js';

const { given } = DeciderSpecification.for(venueAccountDecider);

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
const funded = given([]).after(settle('sale-1', 10_000_000));

describe('VenueAccount decider: settlement and reserves', () => {
  it('settles a sale into available less a reserve, rounding the reserve half-up', () => {
    given([])
      .when(settle('sale-1', 10_005))
      .then([
        {
          type: 'VenueSaleSettled',
          data: { venueId: VENUE, saleId: 'sale-1', source: 'payment', currency: 'USD', amount: 10_005, reserveBps: 1000, reserve: 1001, available: 9004, reserveReleaseAt: '2026-06-01T00:00:00.000Z' },
        },
      ]);
  });

  it('settles a sale once', () => {
    given(funded).when(settle('sale-1', 10_000_000)).thenNothing();
  });


  it('releases what is left of a sale reserve into available, once', () => {
    const released = given(funded).after({ type: 'ReleaseReserve', data: { venueId: VENUE, saleId: 'sale-1', currency: 'USD' } });
    expect(given(released).state().balances.USD).toMatchObject({ available: 10_000_000, reserved: 0 });
    given(released).when({ type: 'ReleaseReserve', data: { venueId: VENUE, saleId: 'sale-1', currency: 'USD' } }).thenNothing();
  });
});

describe('VenueAccount decider: payouts', () => {
  it('takes a standard payout from available with no fee', () => {
    const [requested] = given(funded).when(payout('p1', 45_000)).decided();
    expect(requested).toMatchObject({ type: 'VenuePayoutRequested', data: { amount: 45_000, fee: 0, net: 45_000, type: 'standard', day: '2026-03-01', estimatedArrival: '1-2 business days' } });
    expect(given([...funded, requested!]).state().balances.USD).toMatchObject({ available: 9_000_000 - 45_000, inTransit: 45_000 });
  });

  it('charges 1% for an instant payout, out of the amount', () => {
    expect(given(funded).when(payout('p1', 10_050, true)).decided()[0]).toMatchObject({ data: { amount: 10_050, feeBps: 100, fee: 101, net: 9_949, type: 'instant' } });
  });

  it('refuses a payout below $100, above what is payable, or past $50,000 in a day', () => {
    given(funded).when(payout('p1', 9_999)).thenRefused('PAYOUT_BELOW_MINIMUM');
    given(funded).when(payout('p1', 9_000_001)).thenRefused('INSUFFICIENT_FUNDS', { details: { expose: { payable: 9_000_000 } } });
    const today = given(funded).after(payout('p1', PAYOUT_DAILY_LIMIT - 10_000));
    given(today).when(payout('p2', 10_001)).thenRefused('PAYOUT_LIMIT_EXCEEDED', { details: { expose: { remainingToday: 10_000 } } });
    expect(given(today).when(payout('p2', 10_000)).decided()).toHaveLength(1);
    expect(given(today).when(payout('p3', 10_001, false, '2026-03-02T00:00:00.000Z')).decided()).toHaveLength(1);
  });

  it('refuses a payout while a change of payout account holds them, with when the hold ends, and writes nothing', () => {
    const held = (now: string) => payout('p1', 10_000, false, now, { destination: 'acct_new', payoutsHeldUntil: '2026-03-02T10:00:00.000Z' });
    given(funded)
      .when(held('2026-03-02T09:59:59.999Z'))
      .thenRefused('PAYOUT_ON_HOLD', { status: 409, details: { expose: { holdUntil: '2026-03-02T10:00:00.000Z' } } });
    given(funded).when(held('2026-03-02T10:00:00.000Z')).thenMatches([{ type: 'VenuePayoutRequested', data: { destination: 'acct_new' } }]);
  });

  it('records the payout account it was decided for, or null when the venue has none', () => {
    expect(given(funded).when(payout('p1', 10_000, false, NOW, { destination: 'acct_1' })).decided()[0]).toMatchObject({ data: { destination: 'acct_1' } });
    expect(given(funded).when(payout('p1', 10_000)).decided()[0]).toMatchObject({ data: { destination: null } });
  });

  it('decides the same payout id once', () => {
    const requested = given(funded).after(payout('p1', 10_000));
    given(requested).when(payout('p1', 10_000)).thenNothing();
  });

  it('records a payout sent once, and refuses one for an unknown payout', () => {
    const requested = given(funded).after(payout('p1', 10_000));
    const sent: VenueAccountCommand = { type: 'RecordPayoutSent', data: { payoutId: 'p1', gateway: 'sandbox', gatewayReference: 'tr_1' } };
    const done = given(requested).after(sent);
    expect(given(done).state().balances.USD).toMatchObject({ inTransit: 0, paidOut: 10_000 });
    given(done).when(sent).thenNothing();
    given(funded).when(sent).thenRefused('INVALID_STATE_TRANSITION');
    given(done).when({ type: 'RecordPayoutFailed', data: { payoutId: 'p1', code: 'x', reason: 'y' } }).thenRefused('INVALID_STATE_TRANSITION');
  });

  it('returns a failed payout to available and to the day limit', () => {
    const failedCommand: VenueAccountCommand = { type: 'RecordPayoutFailed', data: { payoutId: 'p1', code: 'account_invalid', reason: 'no' } };
    const failed = given(funded).after(payout('p1', PAYOUT_DAILY_LIMIT, true), failedCommand);
    expect(failed.at(-1)).toMatchObject({ type: 'VenuePayoutFailed', data: { amount: PAYOUT_DAILY_LIMIT, fee: PAYOUT_DAILY_LIMIT / 100 } });
    expect(given(failed).state().balances.USD).toMatchObject({ available: 9_000_000, inTransit: 0 });
    expect(given(failed).when(payout('p2', PAYOUT_DAILY_LIMIT)).decided()).toHaveLength(1);
    given(failed).when(failedCommand).thenNothing();
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
    const noted = given([]).after(takeBack('r1', 3_000));
    expect(noted[0]).toMatchObject({ type: 'VenueProceedsTakenBack', data: { afterSettlement: false, fromReserve: 0, fromAvailable: 0 } });
    expect(given(noted).when(settle('sale-1', 10_000)).decided()[0]).toMatchObject({ data: { amount: 7_000, reserve: 700, available: 6_300 } });
  });

  it('draws on the sale reserve first, then available, once the sale has settled', () => {
    const taken = given(funded).after(takeBack('r1', 1_500_000));
    expect(taken.at(-1)).toMatchObject({ data: { afterSettlement: true, fromReserve: 1_000_000, fromAvailable: 500_000 } });
    expect(given(taken).state().balances.USD).toMatchObject({ reserved: 0, available: 8_500_000 });
    given(taken).when({ type: 'ReleaseReserve', data: { venueId: VENUE, saleId: 'sale-1', currency: 'USD' } }).thenNothing();
    given(taken).when(takeBack('r1', 1_500_000)).thenNothing();
  });

  it('returns a refused refund to available after settlement, and to the settlement before it', () => {
    const after1 = given(funded).after(takeBack('r1', 2_000), giveBack('r1'));
    expect(after1.at(-1)).toMatchObject({ type: 'VenueProceedsReturned', data: { amount: 2_000, afterSettlement: true } });
    // It came out of the reserve and goes back to available: the venue may have it now.
    expect(given(after1).state().balances.USD).toMatchObject({ available: 9_002_000, reserved: 998_000 });
    const before = given([]).after(takeBack('r1', 2_000), giveBack('r1'));
    expect(before.at(-1)).toMatchObject({ data: { afterSettlement: false } });
    expect(given(before).when(settle('sale-1', 10_000)).decided()[0]).toMatchObject({ data: { amount: 10_000 } });
    given(before).when(giveBack('r1')).thenNothing();
  });

  it('refuses to return what was never taken back (retryable: the takeback may come later)', () => {
    given(funded).when(giveBack('nothing')).thenRefused('INVALID_STATE_TRANSITION', { details: { retryable: true } });
  });
});
