import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { TransientGatewayError } from '../../src/gateways/gateway.js';
import { createStripePayoutGateway } from '../../src/gateways/stripe.js';

interface Call {
  readonly what: string;
  readonly params: Record<string, unknown>;
  readonly options: Record<string, unknown>;
}

/** A Stripe client with only the two calls payouts make, recording them; `fail` decides what throws. */
function fakeStripe(fail: (what: string) => Error | undefined = () => undefined) {
  const calls: Call[] = [];
  const call = (what: string, id: string) => (params: Record<string, unknown>, options: Record<string, unknown>) => {
    calls.push({ what, params, options });
    const error = fail(what);
    return error ? Promise.reject(error) : Promise.resolve({ id, amount: params.amount });
  };
  const stripe = { transfers: { create: call('transfer', 'tr_1') }, payouts: { create: call('payout', 'po_1') } } as unknown as Stripe;
  return { stripe, calls };
}

const request = (instant: boolean, destination: string | null = 'acct_1') => ({
  idempotencyKey: 'key-1',
  amount: 44_550,
  currency: 'USD',
  instant,
  metadata: { payoutId: 'p1' },
  ...(destination ? { destination } : {}),
});

describe('Stripe payouts', () => {
  it('transfers to the connected account with the payout key', async () => {
    const { stripe, calls } = fakeStripe();
    expect(await createStripePayoutGateway(stripe).transfer(request(false))).toEqual({ kind: 'paid', reference: 'tr_1', amount: 44_550 });
    expect(calls).toEqual([
      { what: 'transfer', params: { amount: 44_550, currency: 'usd', destination: 'acct_1', metadata: { payoutId: 'p1' } }, options: { idempotencyKey: 'key-1' } },
    ]);
  });

  it('adds an instant payout on the connected account', async () => {
    const { stripe, calls } = fakeStripe();
    expect(await createStripePayoutGateway(stripe).transfer(request(true))).toEqual({ kind: 'paid', reference: 'po_1', amount: 44_550 });
    expect(calls[1]).toMatchObject({ what: 'payout', params: { method: 'instant' }, options: { idempotencyKey: 'key-1:instant', stripeAccount: 'acct_1' } });
  });

  it('keeps the transfer when the instant payout is refused: the money is the venue’s, arriving by standard payout', async () => {
    const refused = new Stripe.errors.StripeInvalidRequestError({ type: 'invalid_request_error', code: 'instant_payouts_unsupported', message: 'no' });
    const { stripe } = fakeStripe((what) => (what === 'payout' ? refused : undefined));
    expect(await createStripePayoutGateway(stripe).transfer(request(true))).toEqual({ kind: 'paid', reference: 'tr_1', amount: 44_550 });
  });

  it('fails without a connected account, and throws an outage as transient', async () => {
    expect(await createStripePayoutGateway(fakeStripe().stripe).transfer(request(false, null))).toMatchObject({ kind: 'failed', code: 'no_payout_account' });
    const down = fakeStripe(() => new Stripe.errors.StripeConnectionError({ type: 'api_error', message: 'reset' }));
    await expect(createStripePayoutGateway(down.stripe).transfer(request(false))).rejects.toThrow(TransientGatewayError);
  });
});
