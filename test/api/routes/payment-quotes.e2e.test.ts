import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { internalHeaders, testApp, type TestApp } from '../../support/app.js';
import { authAs, venueAt } from '../../support/payments-http.js';
import { NASHVILLE } from '../../support/payments.js';

describe('fee and tax calculations over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.close());

  const fees = async (body: object) =>
    t.app.inject({ method: 'POST', url: '/api/v1/payments/calculate-fees', headers: await authAs(), payload: body });

  const tax = (body: object) => {
    const raw = JSON.stringify(body);
    return t.app.inject({ method: 'POST', url: '/internal/calculate-tax', headers: internalHeaders('POST', '/internal/calculate-tax', raw, 'ticket-service'), payload: raw });
  };

  it('quotes the seed example: $100 for two tickets at a Starter venue in Nashville is 11845', async () => {
    const venueId = await venueAt(t);
    const response = await fees({ venueId, amount: 10_000, ticketCount: 2 });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      fees: { ticketPrice: 10_000, platformFee: 820, gasEstimate: 100, stateTax: 700, localTax: 225, total: 11_845 },
      gasEstimates: {
        polygon: { blockchain: 'polygon', perTicket: 50, total: 100 },
        solana: { blockchain: 'solana', perTicket: 50, total: 100 },
      },
      recommendedBlockchain: 'polygon',
      total: 11_845,
      platformFee: { tier: 'starter', rateBps: 820, tierSource: 'volume', scheduleVersion: '2025-01' },
    });
  });

  it('uses the tier a venue profile pins, and needs no Idempotency-Key', async () => {
    const venueId = await venueAt(t, { tierOverride: 'enterprise' });
    const response = await fees({ venueId, amount: 10_000, ticketCount: 1, blockchain: 'solana' });
    expect(response.json()).toMatchObject({ fees: { platformFee: 750, total: 11_725 }, recommendedBlockchain: 'solana' });
  });

  it('refuses an unknown venue with 404 and a float amount with 422', async () => {
    expect((await fees({ venueId: randomUUID(), amount: 10_000, ticketCount: 1 })).json()).toMatchObject({ code: 'VENUE_NOT_FOUND' });
    const float = await fees({ venueId: randomUUID(), amount: 99.99, ticketCount: 1 });
    expect(float.statusCode).toBe(422);
    expect(float.json()).toMatchObject({ errors: [{ field: 'amount' }] });
  });

  it('answers the seed example for Nashville: 700 state, 225 local, 100 entertainment', async () => {
    const response = await tax({ amount: 10_000, venueAddress: NASHVILLE, customerAddress: { city: 'Memphis', state: 'TN', zip: '38103' } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      taxableAmount: 10_000,
      stateTax: 700,
      localTax: 225,
      specialTax: 100,
      totalTax: 1_025,
      breakdown: {
        state: { name: 'Tennessee Sales Tax', rate: 7, amount: 700 },
        local: { name: 'Nashville Local Tax', rate: 2.25, amount: 225 },
        special: { name: 'Entertainment Tax', rate: 1, amount: 100 },
      },
      tableVersion: '2025-01',
    });
  });

  it('leaves out the taxes a city does not levy', async () => {
    const response = await tax({ amount: 10_000, venueAddress: { city: 'Austin', state: 'TX' } });
    expect(response.json()).toMatchObject({ localTax: 0, specialTax: 0, breakdown: { state: { amount: 625 } } });
    expect(response.json<{ breakdown: object }>().breakdown).not.toHaveProperty('local');
  });

  it('refuses an unsigned call, and a state it has no table for', async () => {
    const unsigned = await t.app.inject({ method: 'POST', url: '/internal/calculate-tax', payload: { amount: 1, venueAddress: NASHVILLE } });
    expect(unsigned.statusCode).toBe(401);
    const unknown = await tax({ amount: 10_000, venueAddress: { ...NASHVILLE, state: 'ZZ' } });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json()).toMatchObject({ code: 'TAX_JURISDICTION_UNKNOWN' });
  });
});
