import { describe, expect, it } from 'vitest';
import { payeeAccountDecider, type PayeeAccountCommand } from '../../src/aggregates/payee-account.js';
import { PAYOUT_DAILY_LIMIT } from '../../src/domain/payouts.js';
import type { Payee } from '../../src/events/payee-account.js';
import { DeciderSpecification } from '../support/decider.js';

const { given } = DeciderSpecification.for(payeeAccountDecider);

const SELLER: Payee = { kind: 'seller', id: 'a3c1e9b0-0000-4000-8000-000000000001' };
const NOW = '2026-03-01T10:00:00.000Z';
const HOUR = 3_600_000;

const credit = (creditId: string, amount: number, payee = SELLER): PayeeAccountCommand => ({
  type: 'CreditProceeds',
  data: { payee, creditId, currency: 'USD', amount },
});
const setAccount = (payoutAccount: string | null, now = '2026-02-01T00:00:00.000Z', holdMs = HOUR): PayeeAccountCommand => ({
  type: 'SetPayoutAccount',
  data: { payee: SELLER, payoutAccount, changedBy: 'user:seller-1', now, holdMs },
});
const payout = (payoutId: string, amount: number, options: { instant?: boolean; now?: string; terms?: { destination: string | null; heldUntil?: string } } = {}): PayeeAccountCommand => ({
  type: 'RequestPayout',
  data: {
    payee: SELLER,
    payoutId,
    currency: 'USD',
    amount,
    instant: options.instant ?? false,
    requestedBy: 'user:seller-1',
    now: options.now ?? NOW,
    ...(options.terms ? { terms: options.terms } : {}),
  },
});

const owed = given([]).after(setAccount('acct_seller'), credit('escrow-1', 12_750), credit('escrow-2', 12_750));

describe('PayeeAccount decider: credits', () => {
  it('credits a released resale once per escrow', () => {
    const events = given([]).after(credit('escrow-1', 12_750));
    expect(given(events).state().balances.USD).toEqual({ payable: 12_750, inTransit: 0, paidOut: 0 });
    given(events).when(credit('escrow-1', 12_750)).thenNothing();
  });

  it('credits nothing for a zero share (an artist-less resale)', () => {
    given([]).when(credit('escrow-1', 0)).thenNothing();
  });
});

describe('PayeeAccount decider: payouts under the venue rules', () => {
  it('takes a standard payout from what is owed, to the payout account it was decided for', () => {
    const [requested] = given(owed).when(payout('p1', 25_500)).thenMatches([
      { type: 'PayeePayoutRequested', data: { kind: 'seller', payeeId: SELLER.id, amount: 25_500, fee: 0, net: 25_500, type: 'standard', day: '2026-03-01', destination: 'acct_seller' } },
    ]);
    expect(given([...owed, requested!]).state().balances.USD).toEqual({ payable: 0, inTransit: 25_500, paidOut: 0 });
  });

  it('charges 1% half-up for an instant payout, out of the amount', () => {
    given(owed).when(payout('p1', 10_050, { instant: true })).thenMatches([{ data: { amount: 10_050, feeBps: 100, fee: 101, net: 9_949, type: 'instant' } }]);
  });

  it('refuses less than the minimum, more than is owed, and past the daily limit', () => {
    given(owed).when(payout('p1', 9_999)).thenRefused('PAYOUT_BELOW_MINIMUM', { details: { expose: { minimum: 10_000 } } });
    given(owed).when(payout('p1', 25_501)).thenRefused('INSUFFICIENT_FUNDS', { status: 400, details: { expose: { payable: 25_500 } } });
    const rich = given([]).after(setAccount('acct_seller'), credit('escrow-1', 2 * PAYOUT_DAILY_LIMIT));
    const today = given(rich).after(payout('p1', PAYOUT_DAILY_LIMIT - 10_000));
    given(today).when(payout('p2', 10_001)).thenRefused('PAYOUT_LIMIT_EXCEEDED', { details: { expose: { remainingToday: 10_000 } } });
    given(today).when(payout('p2', 10_000, { now: '2026-03-02T00:00:00.000Z' })).thenMatches([{ data: { day: '2026-03-02' } }]);
  });

  it('refuses a payee with no payout account, and while a change of it holds payouts', () => {
    given(given([]).after(credit('escrow-1', 50_000))).when(payout('p1', 10_000)).thenRefused('PAYOUT_ACCOUNT_REQUIRED', { status: 409 });
    const changed = given(owed).after(setAccount('acct_new', '2026-03-01T09:30:00.000Z'));
    given(changed).when(payout('p1', 10_000)).thenRefused('PAYOUT_ON_HOLD', { details: { expose: { holdUntil: '2026-03-01T10:30:00.000Z' } } });
    given(changed).when(payout('p1', 10_000, { now: '2026-03-01T10:30:00.000Z' })).thenMatches([{ data: { destination: 'acct_new' } }]);
  });

  it("pays a venue's royalties to the account and under the hold the venue's stream gives", () => {
    const venueOwed = given([]).after(credit('escrow-1', 15_000, { kind: 'venue', id: 'v1' }));
    given(venueOwed).when(payout('p1', 10_000, { terms: { destination: 'acct_venue' } })).thenMatches([{ data: { destination: 'acct_venue' } }]);
    given(venueOwed).when(payout('p1', 10_000, { terms: { destination: 'acct_venue', heldUntil: '2026-03-02T00:00:00.000Z' } })).thenRefused('PAYOUT_ON_HOLD');
    given(venueOwed).when(payout('p1', 10_000, { terms: { destination: null } })).thenRefused('PAYOUT_ACCOUNT_REQUIRED');
  });

  it('decides a payout id once', () => {
    const paid = given(owed).after(payout('p1', 10_000));
    given(paid).when(payout('p1', 10_000)).thenNothing();
  });

  it('extends a hold with a later change, never shortens it', () => {
    const long = given([]).after(setAccount('acct_a', '2026-03-01T00:00:00.000Z', 24 * HOUR));
    given(long).when(setAccount('acct_b', '2026-03-01T01:00:00.000Z', HOUR)).thenMatches([{ data: { holdUntil: '2026-03-02T00:00:00.000Z', previousPayoutAccount: 'acct_a' } }]);
    given(long).when(setAccount('acct_a', '2026-03-01T01:00:00.000Z')).thenNothing();
  });
});

describe('PayeeAccount decider: the transfer outcome', () => {
  const requested = given(owed).after(payout('p1', 20_000, { instant: true }));

  it('records a sent payout once', () => {
    const sent = given(requested).after({ type: 'RecordPayoutSent', data: { payoutId: 'p1', gateway: 'sandbox', gatewayReference: 'tr_1' } });
    expect(given(sent).state().balances.USD).toEqual({ payable: 5_500, inTransit: 0, paidOut: 19_800 });
    given(sent).when({ type: 'RecordPayoutSent', data: { payoutId: 'p1', gateway: 'sandbox', gatewayReference: 'tr_1' } }).thenNothing();
    given(sent).when({ type: 'RecordPayoutFailed', data: { payoutId: 'p1', code: 'x', reason: 'y' } }).thenRefused('INVALID_STATE_TRANSITION');
  });

  it('returns a failed payout and its fee to what is owed, and restores the day', () => {
    const failed = given(requested).after({ type: 'RecordPayoutFailed', data: { payoutId: 'p1', code: 'account_invalid', reason: 'no' } });
    expect(given(failed).state().balances.USD).toEqual({ payable: 25_500, inTransit: 0, paidOut: 0 });
    expect(given(failed).state().dailyPayouts['USD:2026-03-01']).toBe(0);
  });
});
