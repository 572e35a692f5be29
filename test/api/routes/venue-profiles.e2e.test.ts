import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { venueStreamId } from '../../../src/events/venue.js';
import { internalHeaders, testApp, type TestApp } from '../../support/app.js';
import { authAs } from '../../support/payments-http.js';
import { NASHVILLE } from '../../support/payments.js';

const profile = { name: 'Ryman Auditorium', address: NASHVILLE };

describe('PUT /api/v1/venues/:venueId', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp();
  });
  afterAll(() => t.close());

  const put = async (venueId: string, body: unknown, headers?: Record<string, string>) =>
    t.app.inject({ method: 'PUT', url: `/api/v1/venues/${venueId}`, headers: headers ?? (await authAs('admin')), payload: body as object });

  /** The venue service's call, signed over the body exactly as sent. */
  const fromService = (venueId: string, body: object, service = 'venue-service') => {
    const raw = JSON.stringify(body);
    const url = `/api/v1/venues/${venueId}`;
    return t.app.inject({ method: 'PUT', url, headers: internalHeaders('PUT', url, raw, service), payload: raw });
  };

  it('registers a venue for an admin (201), then keeps it unchanged when the same profile comes again (200)', async () => {
    const venueId = randomUUID();
    const created = await put(venueId, profile);
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ venueId, ...profile, created: true, changed: true, position: expect.any(String) as string });
    const again = await put(venueId, profile);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ created: false, changed: false, position: null });
    expect(await t.storage.eventStore.readStream(venueStreamId(venueId))).toHaveLength(1);
  });

  it('replaces the profile, pinning a tier', async () => {
    const venueId = randomUUID();
    await put(venueId, profile);
    const updated = await put(venueId, { ...profile, tierOverride: 'enterprise', payoutAccount: 'acct_123' });
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({ tierOverride: 'enterprise', payoutAccount: 'acct_123', changed: true });
    const events = await t.storage.eventStore.readStream(venueStreamId(venueId));
    // A payout account named after registration holds payouts (payout-account-hold.e2e).
    expect(events.map((e) => e.type)).toEqual(['VenueRegistered', 'VenueProfileUpdated', 'VenuePayoutAccountChanged']);
    expect(events[1]!.metadata.actor).toBe('admin:admin-1');
  });

  it('accepts the venue service by its signed call, and records it as the actor', async () => {
    const venueId = randomUUID();
    const response = await fromService(venueId, profile);
    expect(response.statusCode).toBe(201);
    const [registered] = await t.storage.eventStore.readStream(venueStreamId(venueId));
    expect(registered!.metadata).toMatchObject({ actor: 'service:venue-service', tenantId: 'internal' });
  });

  it('refuses a signed venue-service request replayed against another venue, or replayed to its own (issue 17)', async () => {
    const [venueA, victim] = [randomUUID(), randomUUID()];
    expect((await put(victim, { ...profile, payoutAccount: 'acct_victim' })).statusCode).toBe(201);
    // The venue service's own call for venue A, captured on the way (body, headers and all).
    const raw = JSON.stringify({ ...profile, payoutAccount: 'acct_attacker' });
    const captured = internalHeaders('PUT', `/api/v1/venues/${venueA}`, raw, 'venue-service');
    const original = await t.app.inject({ method: 'PUT', url: `/api/v1/venues/${venueA}`, headers: captured, payload: raw });
    expect(original.statusCode).toBe(201);

    const reaimed = await t.app.inject({ method: 'PUT', url: `/api/v1/venues/${victim}`, headers: captured, payload: raw });
    expect(reaimed.statusCode).toBe(401);
    expect(reaimed.json()).toMatchObject({ code: 'INVALID_SIGNATURE' });
    const replayed = await t.app.inject({ method: 'PUT', url: `/api/v1/venues/${venueA}`, headers: captured, payload: raw });
    expect(replayed.statusCode).toBe(401);
    expect(replayed.json()).toMatchObject({ code: 'SIGNATURE_REPLAYED' });

    expect(await t.tessera.services.venues.getProfile(victim)).toMatchObject({ payoutAccount: 'acct_victim' });
    expect((await t.storage.eventStore.readStream(venueStreamId(victim))).map((e) => e.type)).toEqual(['VenueRegistered']);
    expect(await t.storage.eventStore.readStream(venueStreamId(venueA))).toHaveLength(1);
  });

  it('refuses other services, users, venue managers and anonymous callers', async () => {
    const venueId = randomUUID();
    expect((await fromService(venueId, profile, 'order-service')).statusCode).toBe(403);
    expect((await put(venueId, profile, await authAs('user'))).statusCode).toBe(403);
    expect((await put(venueId, profile, await authAs('venue_manager'))).statusCode).toBe(403);
    const anonymous = await t.app.inject({ method: 'PUT', url: `/api/v1/venues/${venueId}`, payload: profile });
    expect(anonymous.statusCode).toBe(401);
    expect(await t.storage.eventStore.readStream(venueStreamId(venueId))).toHaveLength(0);
  });

  it.each([
    ['a venue id that is not a UUID', 'not-a-uuid', profile, 'params.venueId'],
    ['a missing address', randomUUID(), { name: 'Ryman' }, 'address'],
    ['a state that is not two letters', randomUUID(), { ...profile, address: { ...NASHVILLE, state: 'Tennessee' } }, 'address.state'],
    ['an unknown tier', randomUUID(), { ...profile, tierOverride: 'platinum' }, 'tierOverride'],
  ])('refuses %s with 422', async (_case, venueId, body, field) => {
    const response = await put(venueId, body);
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ code: 'VALIDATION_ERROR', errors: [expect.objectContaining({ field }) as object] });
  });

  it('refuses a state without a tax table with TAX_JURISDICTION_UNKNOWN', async () => {
    const response = await put(randomUUID(), { ...profile, address: { ...NASHVILLE, state: 'ZZ' } });
    expect(response.statusCode).toBe(422);
    expect(response.json()).toMatchObject({ code: 'TAX_JURISDICTION_UNKNOWN' });
  });

  it('documents both ways in: a bearer token or the internal signature', async () => {
    const document = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<{
      paths: Record<string, Record<string, { security: unknown[] }>>;
    }>();
    expect(document.paths['/api/v1/venues/{venueId}']!.put!.security).toEqual([
      { bearerAuth: [] },
      { internalService: [], internalTimestamp: [], internalNonce: [], internalSignature: [] },
    ]);
    expect(document.paths['/api/v1/webhooks/stripe']!.post!.security).toEqual([{ stripeSignature: [] }]);
  });
});
