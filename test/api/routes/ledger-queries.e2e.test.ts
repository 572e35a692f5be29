import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken, testApp, type TestApp } from '../../support/app.js';
import { authAs, purchase, sqlBackends, venueAt, type ProcessAnswer } from '../../support/payments-http.js';

const managerOf = async (...venues: string[]) => ({
  authorization: `Bearer ${await signToken({ role: 'venue_manager', sub: 'manager-1', venues })}`,
});

interface Entry {
  entryType: string;
  amounts: { currency: string; amount: number }[];
  postings: { account: string; amount: number }[];
}

describe.each(sqlBackends())('ledger queries over HTTP (%s)', (backend) => {
  let t: TestApp;
  let venueId: string;
  let position: string;
  let beforePurchase: string;

  beforeAll(async () => {
    t = await testApp({ backend, background: true });
    venueId = await venueAt(t, { tierOverride: 'pro' });
    beforePurchase = new Date(Date.now() - 1_000).toISOString();
    position = (await purchase(t, venueId)).json<ProcessAnswer & { position: string }>().position;
  });
  afterAll(() => t.close());

  const get = async (url: string, headers?: Record<string, string>) => t.app.inject({ method: 'GET', url, headers: headers ?? (await authAs('admin')) });

  it("answers a venue's manager its balance from the ledger: a $100 sale is 9900 pending (the 1% entertainment tax withheld)", async () => {
    const response = await get(`/api/v1/venues/${venueId}/balance?position=${position}`, await managerOf(venueId));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      venueId,
      balance: { available: 0, pending: 9_900, reserved: 0, currency: 'USD' },
      payoutInfo: { available: 0, reserved: 0, payable: 0 },
      asOf: null,
    });
  });

  it('answers the balance as of a time before the sale as zero', async () => {
    const response = await get(`/api/v1/venues/${venueId}/balance?asOf=${beforePurchase}&position=${position}`);
    expect(response.json()).toMatchObject({ balance: { pending: 0 }, asOf: beforePurchase });
  });

  it('answers the same balance for the venue id in upper case, whichever case the manager token names it in', async () => {
    const upper = venueId.toUpperCase();
    for (const headers of [await managerOf(upper), await managerOf(venueId), await authAs('admin')]) {
      const response = await get(`/api/v1/venues/${upper}/balance?position=${position}`, headers);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ venueId, balance: { pending: 9_900 } });
    }
    const account = await get(`/api/v1/ledger/accounts/venue:${upper}:pending?position=${position}`, await managerOf(upper));
    expect(account.statusCode).toBe(200);
    expect(account.json()).toMatchObject({ account: `venue:${venueId}:pending`, balances: [{ currency: 'USD', balance: -9_900 }] });
  });

  it("refuses a venue's balance to managers of other venues and to plain users (403), and answers an unknown venue 404", async () => {
    expect((await get(`/api/v1/venues/${venueId}/balance`, await managerOf(randomUUID()))).json()).toMatchObject({ code: 'FORBIDDEN' });
    expect((await get(`/api/v1/venues/${venueId}/balance`, await authAs('user'))).statusCode).toBe(403);
    const unknown = await get(`/api/v1/venues/${randomUUID()}/balance`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'VENUE_NOT_FOUND' });
  });

  it("answers an account's balance with the ledger sign and its entries with their postings", async () => {
    const response = await get(`/api/v1/ledger/accounts/venue:${venueId}:pending?position=${position}`);
    expect(response.statusCode).toBe(200);
    const body = response.json<{ balances: unknown[]; entries: Entry[]; nextCursor: string | null; class: string; normalBalance: string }>();
    expect(body).toMatchObject({ class: 'liability', normalBalance: 'credit', nextCursor: null });
    expect(body.balances).toEqual([{ currency: 'USD', balance: -9_900, debits: 0, credits: 9_900, postings: 1 }]);
    expect(body.entries).toHaveLength(1);
    expect(body.entries[0]).toMatchObject({ entryType: 'sale', amounts: [{ currency: 'USD', amount: -9_900 }] });
    expect(body.entries[0]!.postings.reduce((sum, p) => sum + p.amount, 0)).toBe(0);
  });

  it("shows a venue manager only the legs to their venue's accounts and not the platform's card cost; an admin sees the whole entry", async () => {
    const url = `/api/v1/ledger/accounts/venue:${venueId}:pending?position=${position}`;
    const seen = async (headers: Record<string, string>) =>
      (await get(url, headers)).json<{ entries: (Entry & { metadata: Record<string, unknown> })[] }>().entries[0]!;
    const manager = await seen(await managerOf(venueId));
    expect(manager.postings).toEqual([{ account: `venue:${venueId}:pending`, currency: 'USD', amount: -9_900 }]);
    expect(manager.metadata).toMatchObject({ venueId, platformFeeBps: 790 });
    expect(manager.metadata).not.toHaveProperty('processingCostBps');
    expect(manager.metadata).not.toHaveProperty('processingCostFixed');
    const admin = await seen(await authAs('admin'));
    expect(admin.postings.filter((p) => p.account === 'gateway:fees')).toEqual([{ account: 'gateway:fees', currency: 'USD', amount: 371 }]);
    expect(admin.metadata).toMatchObject({ processingCostBps: 290, processingCostFixed: 30 });
  });

  it('pages entries and reads an account as of a time before any of them', async () => {
    await purchase(t, venueId);
    const more = (await purchase(t, venueId)).json<{ position: string }>().position;
    const first = (await get(`/api/v1/ledger/accounts/platform:fees?limit=2&position=${more}`)).json<{ entries: Entry[]; nextCursor: string }>();
    expect(first.entries).toHaveLength(2);
    const second = (await get(`/api/v1/ledger/accounts/platform:fees?limit=2&after=${first.nextCursor}`)).json<{ entries: Entry[]; nextCursor: null }>();
    expect(second.entries).toHaveLength(1);
    expect(second.nextCursor).toBeNull();
    const past = (await get(`/api/v1/ledger/accounts/platform:fees?asOf=${beforePurchase}`)).json<{ balances: unknown[]; entries: unknown[] }>();
    expect(past).toMatchObject({ balances: [], entries: [] });
  });

  it("lets a venue manager read their own venue's accounts only", async () => {
    expect((await get(`/api/v1/ledger/accounts/venue:${venueId}:pending`, await managerOf(venueId))).statusCode).toBe(200);
    expect((await get('/api/v1/ledger/accounts/platform:fees', await managerOf(venueId))).statusCode).toBe(403);
    expect((await get('/api/v1/ledger/accounts/platform:fees', await authAs('user'))).statusCode).toBe(403);
  });

  it('answers an account outside the chart 422 and one never posted to 404 ACCOUNT_NOT_FOUND', async () => {
    expect((await get('/api/v1/ledger/accounts/venu:1:pending')).json()).toMatchObject({ code: 'VALIDATION_ERROR' });
    const never = await get(`/api/v1/ledger/accounts/venue:${randomUUID()}:reserved`);
    expect(never.statusCode).toBe(404);
    expect(never.json()).toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
  });

  it('answers an asOf in a year PostgreSQL cannot read (0000) or before 1970 with 422 VALIDATION_ERROR on every ledger route', async () => {
    for (const url of [
      `/api/v1/ledger/accounts/platform:fees?asOf=0000-01-01T00:00:00Z`,
      `/api/v1/venues/${venueId}/balance?asOf=0000-01-01T00:00:00Z`,
      '/api/v1/ledger/trial-balance?asOf=0000-01-01T00:00:00Z',
      '/api/v1/ledger/trial-balance?asOf=1969-12-31T23:59:59Z',
    ]) {
      const response = await get(url);
      expect(response.statusCode, url).toBe(422);
      expect(response.json(), url).toMatchObject({ code: 'VALIDATION_ERROR', errors: [{ field: 'query.asOf' }] });
    }
    expect((await get('/api/v1/ledger/trial-balance?asOf=1970-01-01T00:00:00Z')).statusCode).toBe(200);
  });

  it('answers a cursor whose time or entry id PostgreSQL cannot cast with 422 VALIDATION_ERROR, not 500', async () => {
    const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const after of [
      cursor(['2026-13-45 99:99:99', randomUUID()]),
      cursor(['2026-02-30 12:00:00+00', randomUUID()]),
      cursor(['0000-01-01 00:00:00+00', randomUUID()]),
      cursor(['2026-11-22 12:00:00+99', randomUUID()]),
      cursor(['2026-11-22 12:00:00+00', '-'.repeat(36)]),
      cursor(['2026-11-22 12:00:00+00', 'not json']),
      'not-a-cursor',
    ]) {
      const response = await get(`/api/v1/ledger/accounts/platform:fees?after=${after}`);
      expect(response.statusCode, after).toBe(422);
      expect(response.json(), after).toMatchObject({ code: 'VALIDATION_ERROR', errors: [{ field: 'query.after' }] });
    }
    const wellFormed = await get(`/api/v1/ledger/accounts/platform:fees?after=${cursor(['2026-11-22 12:00:00.123456+00', randomUUID()])}`);
    expect(wellFormed.statusCode).toBe(200);
  });

  it('answers the trial balance to admins: balanced, debits equal credits per currency', async () => {
    const response = await get(`/api/v1/ledger/trial-balance?position=${position}`);
    expect(response.statusCode).toBe(200);
    const body = response.json<{ balanced: boolean; currencies: { currency: string; debits: number; credits: number; net: number }[] }>();
    expect(body.balanced).toBe(true);
    expect(body.currencies).toEqual([expect.objectContaining({ currency: 'USD', net: 0 })]);
    expect(body.currencies[0]!.debits).toBe(body.currencies[0]!.credits);
    expect((await get('/api/v1/ledger/trial-balance', await managerOf(venueId))).statusCode).toBe(403);
  });
});
