import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogueHandler } from '../../../src/commands/catalogue.js';
import type { AccessRequest, WaitingRoomService } from '../../../src/commands/waiting-room.js';
import { connectPostgres } from '../../../src/db/sql-client.js';
import { ACCESS_TOKEN_TTL_MS, roomIdOf, signAccessToken, type AccessClaims } from '../../../src/domain/waiting-room.js';
import type { WaitingRoomSettings } from '../../../src/events/catalogue.js';
import type { EventStore } from '../../../src/eventstore/event-store.js';
import { sqlEventStore } from '../../../src/runtime.js';
import { bearer, openTestStorage, reachableBackends, testApp, TEST_JWT_SECRET, TEST_TENANT, type Backend, type TestApp, type TestStorage } from '../../support/app.js';
import { env, freshPostgresSchema } from '../../support/databases.js';
import { testRedis } from '../../support/redis.js';

/** The secret the test apps sign access tokens with. */
const SECRET = 'waiting-room-secret-for-the-e2e-suite!!';

/** Time moves only when a test moves it. */
function movableClock() {
  let offset = 0;
  return { clock: () => new Date(Date.now() + offset), advance: (ms: number) => void (offset += ms) };
}

async function configureRoom(store: EventStore, venueId: string, eventId: string, room: Partial<WaitingRoomSettings> = {}) {
  const settings: WaitingRoomSettings = { enabled: true, capacity: 2, releaseRate: 600, order: 'first_come', ...room };
  await catalogueHandler.handle(
    store,
    { venueId, eventId },
    { type: 'ConfigureWaitingRoom', data: { venueId, eventId, room: settings } },
    { commandId: randomUUID(), now: new Date(), actor: 'admin:admin-1', tenantId: TEST_TENANT, correlationId: randomUUID() },
  );
  return settings;
}

const roomUrl = (venueId: string, eventId: string) => `/api/v1/venues/${venueId}/events/${eventId}/waiting-room`;

interface PlaceBody {
  status: string;
  position?: number;
  estimatedWaitSeconds?: number;
  token?: string;
  jti?: string;
  expiresAt?: string;
  joined?: boolean;
}

function roomClient(t: TestApp, venueId: string, eventId: string) {
  const url = roomUrl(venueId, eventId);
  return {
    join: async (user: string) => t.app.inject({ method: 'POST', url: `${url}/join`, headers: await bearer({ sub: user }) }),
    status: async (user: string) => t.app.inject({ method: 'GET', url: `${url}/status`, headers: await bearer({ sub: user }) }),
    leave: async (user: string) => t.app.inject({ method: 'DELETE', url, headers: await bearer({ sub: user }) }),
    manager: async (method: 'GET' | 'DELETE', path: string, venues: readonly string[] = [venueId], role: 'venue_manager' | 'admin' | 'user' = 'venue_manager') =>
      t.app.inject({ method, url: `${url}${path}`, headers: await bearer({ sub: 'manager-1', role, venues }) }),
  };
}

const place = (response: { statusCode: number; body: string; json: <T>() => T }) => {
  expect(response.statusCode, response.body).toBe(200);
  return response.json<PlaceBody>();
};

const env_ = { WAITING_ROOM_SECRET: SECRET, WAITING_ROOM_TICK_MS: '50' };

for (const backend of reachableBackends()) {
  describe(`waiting room routes on ${backend}`, () => {
    const time = movableClock();
    let t: TestApp;
    let access: WaitingRoomService;
    beforeAll(async () => {
      t = await testApp({ backend, env: env_, clock: time.clock });
      access = t.tessera.services.waitingRoom;
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    });

    /** A room of its own, and a buyer admitted in it. */
    const admittedIn = async (settings: Partial<WaitingRoomSettings> = {}) => {
      const venueId = randomUUID();
      const eventId = randomUUID();
      const room = await configureRoom(t.storage.eventStore, venueId, eventId, settings);
      const client = roomClient(t, venueId, eventId);
      const user = `fan-${randomUUID()}`;
      const joined = place(await client.join(user));
      expect(joined.status).toBe('admitted');
      const request = (token: string | undefined, overrides: Partial<AccessRequest> = {}): AccessRequest => ({
        token,
        tenantId: TEST_TENANT,
        userId: user,
        venueId,
        eventId,
        room,
        ...overrides,
      });
      return { venueId, eventId, room, client, user, token: joined.token!, jti: joined.jti!, request };
    };

    const refusal = async (promise: Promise<unknown>) => {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e as { code: string; status: number; details: { expose?: { reason?: string } } },
      );
      expect(error, 'expected a refusal').toBeDefined();
      return { code: error!.code, status: error!.status, reason: error!.details.expose?.reason };
    };

    it('answers 404 WAITING_ROOM_NOT_FOUND for an event without an enabled room, and 401 without a bearer token', async () => {
      const venueId = randomUUID();
      const eventId = randomUUID();
      const missing = await roomClient(t, venueId, eventId).join('fan-1');
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toMatchObject({ code: 'WAITING_ROOM_NOT_FOUND', path: `${roomUrl(venueId, eventId)}/join`, timestamp: expect.any(String) as string });
      await configureRoom(t.storage.eventStore, venueId, eventId, { enabled: false });
      expect((await roomClient(t, venueId, eventId).join('fan-1')).statusCode).toBe(404);
      const anonymous = await t.app.inject({ method: 'POST', url: `${roomUrl(venueId, eventId)}/join` });
      expect(anonymous.statusCode).toBe(401);
    });

    it('queues buyers in join order with their estimated wait, keeps the place of one who joins again, and admits as places free up', async () => {
      const venueId = randomUUID();
      const eventId = randomUUID();
      await configureRoom(t.storage.eventStore, venueId, eventId, { capacity: 1, releaseRate: 60 });
      const client = roomClient(t, venueId, eventId);
      const first = place(await client.join('fan-a'));
      expect(first).toMatchObject({ status: 'admitted', joined: true, token: expect.any(String) as string });
      expect(place(await client.join('fan-b'))).toEqual({ status: 'waiting', position: 1, estimatedWaitSeconds: 0, joined: true });
      expect(place(await client.join('fan-c'))).toEqual({ status: 'waiting', position: 2, estimatedWaitSeconds: 1, joined: true });
      expect(place(await client.join('fan-b'))).toMatchObject({ status: 'waiting', position: 1, joined: false });
      expect(place(await client.join('fan-a'))).toMatchObject({ status: 'admitted', jti: first.jti, token: first.token, joined: false });
      expect((await client.status('fan-z')).json()).toMatchObject({ code: 'NOT_IN_WAITING_ROOM' });
      // fan-a leaves: the place goes to fan-b.
      expect((await client.leave('fan-a')).json()).toEqual({ left: true });
      expect((await client.leave('fan-a')).json()).toEqual({ left: false });
      expect(place(await client.status('fan-b'))).toMatchObject({ status: 'admitted' });
      expect(place(await client.status('fan-c'))).toMatchObject({ status: 'waiting', position: 1 });
    });

    it('keeps a draw place however often a buyer leaves and joins again before the sale opens', async () => {
      const venueId = randomUUID();
      const eventId = randomUUID();
      await configureRoom(t.storage.eventStore, venueId, eventId, { order: 'draw', opensAt: new Date(time.clock().getTime() + 3_600_000).toISOString(), capacity: 1, releaseRate: 60 });
      const client = roomClient(t, venueId, eventId);
      for (let i = 0; i < 30; i++) place(await client.join(`crowd-${i}`));
      const first = place(await client.join('re-roller'));
      expect(first).toMatchObject({ status: 'waiting', joined: true });
      for (let i = 0; i < 15; i++) {
        expect((await client.leave('re-roller')).json()).toEqual({ left: true });
        expect(place(await client.join('re-roller'))).toMatchObject({ status: 'waiting', position: first.position, joined: true });
      }
      expect(place(await client.status('re-roller')).position).toBe(first.position);
    });

    it('requires a token for a purchase of a protected event (QUEUE_TOKEN_REQUIRED) and accepts the admitted buyer\'s own', async () => {
      const { request, jti, token } = await admittedIn();
      expect(await refusal(access.check(request(undefined)))).toMatchObject({ code: 'QUEUE_TOKEN_REQUIRED', status: 403 });
      expect(await refusal(access.check(request('  ')))).toMatchObject({ code: 'QUEUE_TOKEN_REQUIRED', status: 403 });
      expect(await access.check(request(token))).toEqual({ jti });
    });

    it('consumes a token once: a retry of the same purchase passes, a replay by another purchase is refused', async () => {
      const { request, jti, token, client, user } = await admittedIn();
      await access.consume(jti, 'purchase-1');
      await access.consume(jti, 'purchase-1');
      expect(await refusal(access.consume(jti, 'purchase-2'))).toMatchObject({ code: 'INVALID_ACCESS_TOKEN', status: 403, reason: 'used' });
      expect(await access.check(request(token, { commandId: 'purchase-1' }))).toEqual({ jti });
      expect(await refusal(access.check(request(token, { commandId: 'purchase-2' })))).toMatchObject({ code: 'INVALID_ACCESS_TOKEN', reason: 'used' });
      expect(place(await client.status(user))).toEqual({ status: 'purchased', jti });
    });

    it('lets exactly one of concurrent purchases consume a token', async () => {
      const { jti } = await admittedIn();
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => access.consume(jti, `purchase-${i}`)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    });

    it('refuses a token ten minutes after admission, and gives its place to the next buyer', async () => {
      const { request, token, jti, client, user, venueId } = await admittedIn({ capacity: 1 });
      expect(place(await client.join('next-in-line'))).toMatchObject({ status: 'waiting', position: 1 });
      time.advance(ACCESS_TOKEN_TTL_MS);
      expect(await refusal(access.check(request(token)))).toMatchObject({ code: 'INVALID_ACCESS_TOKEN', reason: 'expired' });
      expect(await refusal(access.consume(jti, 'late-purchase'))).toMatchObject({ code: 'INVALID_ACCESS_TOKEN', reason: 'expired' });
      expect(place(await client.status(user))).toEqual({ status: 'expired', jti });
      expect(place(await client.status('next-in-line'))).toMatchObject({ status: 'admitted' });
      const activity = await client.manager('GET', '/activity', [venueId]);
      const actions = activity.json<{ items: { userId: string; action: string; metadata: Record<string, unknown> }[] }>().items.filter((i) => i.userId === user);
      expect(actions.map((a) => a.action)).toEqual(['abandoned', 'admitted', 'joined']);
      expect(actions[0]!.metadata).toEqual({ jti, reason: 'expired' });
    });

    it("revokes a token for the venue's managers and admins only; a revoked token buys nothing", async () => {
      const { request, token, jti, client, venueId } = await admittedIn();
      expect((await client.manager('DELETE', `/tokens/${jti}`, [randomUUID()])).statusCode).toBe(403);
      expect((await client.manager('DELETE', `/tokens/${jti}`, [], 'user')).statusCode).toBe(403);
      expect((await client.manager('DELETE', `/tokens/${'0'.repeat(32)}`)).json()).toMatchObject({ code: 'ACCESS_TOKEN_NOT_FOUND' });
      expect((await client.manager('DELETE', '/tokens/not-a-jti')).statusCode).toBe(422);
      const revoked = await client.manager('DELETE', `/tokens/${jti}`, [venueId]);
      expect(revoked.json()).toEqual({ jti, revoked: true, state: 'revoked' });
      expect((await client.manager('DELETE', `/tokens/${jti}`, [], 'admin')).json()).toEqual({ jti, revoked: false, state: 'revoked' });
      expect(await refusal(access.check(request(token)))).toMatchObject({ code: 'INVALID_ACCESS_TOKEN', reason: 'revoked' });
      expect(await refusal(access.consume(jti, 'purchase'))).toMatchObject({ code: 'INVALID_ACCESS_TOKEN', reason: 'revoked' });
    });

    it("refuses a tampered, forged, unsigned or predictable token, another buyer's, and one for another event or venue", async () => {
      const { request, token, jti, room, venueId, eventId, user } = await admittedIn();
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
      const reencode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const refused = async (candidate: string, overrides: Partial<AccessRequest> = {}) => {
        const r = await refusal(access.check(request(candidate, overrides)));
        expect(r.code).toBe('INVALID_ACCESS_TOKEN');
        expect(r.status).toBe(403);
      };
      await refused(`${header}.${reencode({ ...claims, userId: 'someone-else' })}.${signature}`);
      await refused(`${header}.${reencode({ ...claims, exp: Number(claims.exp) + 3600 })}.${signature}`);
      await refused(`${reencode({ alg: 'none', typ: 'JWT' })}.${payload}.`);
      await refused(`access_${eventId}_${roomIdOf({ venueId, eventId })}`);
      await refused(`${token}x`);
      await refused('x'.repeat(100_000));
      // Signed with the bearer tokens' secret, or ours with a guessed jti: not issued by the room.
      await refused(await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(TEST_JWT_SECRET)));
      await refused(signAccessToken(SECRET, { ...(claims as unknown as AccessClaims), jti: jti.replace(/.$/, (c) => (c === '0' ? '1' : '0')) }));
      // The buyer's own token, presented by another buyer, for another event, venue or tenant.
      await refused(token, { userId: 'someone-else' });
      await refused(token, { eventId: randomUUID() });
      await refused(token, { venueId: randomUUID() });
      await refused(token, { tenantId: 'tenant-2' });
      // Another buyer's valid token is theirs alone.
      const other = place(await roomClient(t, venueId, eventId).join('other-fan'));
      await refused(other.token!, { userId: user });
      expect(room.enabled).toBe(true);
      const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(/waiting_room_token_checks_total\{result="signature"\} \d+/);
      expect(metrics.body).toMatch(/waiting_room_token_checks_total\{result="mismatch"\} \d+/);
    });

    it("holds one room for the event across tenants: one capacity for all, the same sub in two tenants two buyers, the venue's managers seeing them all", async () => {
      const venueId = randomUUID();
      const eventId = randomUUID();
      const settings = await configureRoom(t.storage.eventStore, venueId, eventId, { capacity: 1, releaseRate: 60 });
      const url = roomUrl(venueId, eventId);
      const as = async (tenantId: string) => bearer({ sub: 'fan-same-sub', tenantId });
      const first = place(await t.app.inject({ method: 'POST', url: `${url}/join`, headers: await as('tenant-a') }));
      expect(first).toMatchObject({ status: 'admitted', joined: true });
      // Another tenant selling the same event: the same room, so no second capacity; the same sub is someone else.
      expect(place(await t.app.inject({ method: 'POST', url: `${url}/join`, headers: await as('tenant-b') }))).toMatchObject({ status: 'waiting', position: 1, joined: true });
      const request = (tenantId: string): AccessRequest => ({ token: first.token, tenantId, userId: 'fan-same-sub', venueId, eventId, room: settings });
      expect(await refusal(access.check(request('tenant-b')))).toMatchObject({ code: 'INVALID_ACCESS_TOKEN' });
      expect(await access.check(request('tenant-a'))).toEqual({ jti: first.jti });
      const manager = await bearer({ sub: 'manager-1', role: 'venue_manager', venues: [venueId], tenantId: 'tenant-c' });
      expect((await t.app.inject({ method: 'GET', url, headers: manager })).json()).toMatchObject({ queueLength: 1, active: 1 });
      const activity = (await t.app.inject({ method: 'GET', url: `${url}/activity`, headers: manager })).json<{ items: { tenantId: string; userId: string; action: string }[] }>();
      expect(activity.items.filter((i) => i.action === 'joined').map((i) => i.tenantId).sort()).toEqual(['tenant-a', 'tenant-b']);
      // tenant-b's buyer leaving takes nothing from tenant-a's.
      expect((await t.app.inject({ method: 'DELETE', url, headers: await as('tenant-b') })).json()).toEqual({ left: true });
      expect(place(await t.app.inject({ method: 'GET', url: `${url}/status`, headers: await as('tenant-a') }))).toMatchObject({ status: 'admitted', jti: first.jti });
    });

    it("shows the room's figures and activity to the venue's managers, paged, and to nobody else", async () => {
      const { client, venueId, jti } = await admittedIn({ capacity: 3 });
      await client.join('second');
      await access.consume(jti, 'purchase-1');
      const stats = await client.manager('GET', '', [venueId]);
      expect(stats.json()).toMatchObject({ venueId, queueLength: 0, active: 1, tokensInUse: 2, admittedLastMinute: 2, settings: { capacity: 3, releaseRate: 600 } });
      expect((await client.manager('GET', '', [randomUUID()])).statusCode).toBe(403);
      expect((await t.app.inject({ method: 'GET', url: `${roomUrl(venueId, randomUUID())}/activity`, headers: await bearer({ role: 'admin' }) })).json()).toMatchObject({
        code: 'WAITING_ROOM_NOT_FOUND',
      });
      const page = (await client.manager('GET', '/activity?limit=3', [venueId])).json<{ items: { action: string; seq: number }[]; nextBefore: number | null }>();
      expect(page.items.map((i) => i.action)).toEqual(['purchased', 'admitted', 'joined']);
      const rest = (await client.manager('GET', `/activity?limit=3&before=${page.nextBefore}`, [venueId])).json<{ items: { action: string }[]; nextBefore: number | null }>();
      expect(rest.items.map((i) => i.action)).toEqual(['admitted', 'joined']);
      expect(rest.nextBefore).toBeNull();
      expect((await client.manager('GET', '/activity?limit=100000', [venueId])).statusCode).toBe(422);
    });
  });
}

describe('waiting room places survive an API restart', () => {
  for (const backend of reachableBackends()) {
    it(`keeps every place and token on ${backend} when the app closes and another opens on the same store`, async () => {
      const shared: TestStorage = await openTestStorage(backend);
      try {
        const venueId = randomUUID();
        const eventId = randomUUID();
        await configureRoom(shared.storage.eventStore, venueId, eventId, { capacity: 1 });
        const before = await testApp({ shared, env: env_ });
        const first = roomClient(before, venueId, eventId);
        const admitted = place(await first.join('fan-1'));
        expect(place(await first.join('fan-2'))).toMatchObject({ position: 1 });
        expect(place(await first.join('fan-3'))).toMatchObject({ position: 2 });
        await before.close();

        const after = await testApp({ shared, env: env_ });
        try {
          const second = roomClient(after, venueId, eventId);
          expect(place(await second.status('fan-3'))).toMatchObject({ status: 'waiting', position: 2 });
          expect(place(await second.status('fan-1'))).toMatchObject({ status: 'admitted', jti: admitted.jti, token: admitted.token });
          const request = { token: admitted.token, tenantId: TEST_TENANT, userId: 'fan-1', venueId, eventId, room: { enabled: true, capacity: 1, releaseRate: 600, order: 'first_come' as const } };
          expect(await after.tessera.services.waitingRoom.check(request)).toEqual({ jti: admitted.jti });
        } finally {
          await after.close();
        }
      } finally {
        await shared.cleanup();
      }
    }, 60_000);
  }
});

describe.runIf(env.databaseUrl && env.redisUrl)('two API instances on one PostgreSQL and one Redis', () => {
  const backend: Backend = 'redis';
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  let redis: Awaited<ReturnType<typeof testRedis>>;
  let apps: TestApp[] = [];

  beforeAll(async () => {
    schema = await freshPostgresSchema(env.databaseUrl!);
    redis = await testRedis(env.redisUrl!);
    // Each instance has its own pool and its own Redis connection, as two processes would.
    const instance = async (): Promise<TestApp> => {
      const sql = schema.connect({ poolSize: 5 });
      const own = await testRedis(env.redisUrl!);
      const storage = { sql, eventStore: sqlEventStore(sql), redis: own.redis, close: () => sql.close() };
      return testApp({ backend, shared: { storage, redisPrefix: redis.prefix, cleanup: () => Promise.resolve(own.redis.disconnect()) }, env: env_ });
    };
    apps = [await instance(), await instance()];
  }, 60_000);

  afterAll(async () => {
    for (const app of apps) {
      await app.close();
      app.storage.redis?.disconnect();
    }
    await redis?.cleanup();
    await schema?.drop();
  });

  it('share one queue: places in join order across both, a token from one checked and consumed on the other', async () => {
    const [a, b] = apps as [TestApp, TestApp];
    const venueId = randomUUID();
    const eventId = randomUUID();
    const setup = connectPostgres({ url: env.databaseUrl!, schema: schema.schema, poolSize: 1 });
    const settings = await configureRoom(sqlEventStore(setup), venueId, eventId, { capacity: 1, releaseRate: 600 });
    await setup.close();
    const onA = roomClient(a, venueId, eventId);
    const onB = roomClient(b, venueId, eventId);
    const admitted = place(await onA.join('fan-1'));
    expect(admitted.status).toBe('admitted');
    expect(place(await onB.join('fan-2'))).toMatchObject({ status: 'waiting', position: 1 });
    expect(place(await onA.join('fan-3'))).toMatchObject({ status: 'waiting', position: 2 });
    expect(place(await onB.join('fan-1'))).toMatchObject({ status: 'admitted', jti: admitted.jti, joined: false });
    // Concurrent joins on both instances: every place distinct, none lost.
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? onA : onB).join(`crowd-${i}`)));
    expect(many.map((r) => place(r).position).sort((x, y) => x! - y!)).toEqual(Array.from({ length: 20 }, (_, i) => i + 3));

    const request = { token: admitted.token, tenantId: TEST_TENANT, userId: 'fan-1', venueId, eventId, room: settings };
    expect(await b.tessera.services.waitingRoom.check(request)).toEqual({ jti: admitted.jti });
    await b.tessera.services.waitingRoom.consume(admitted.jti!, 'purchase-on-b');
    await expect(a.tessera.services.waitingRoom.consume(admitted.jti!, 'purchase-on-a')).rejects.toMatchObject({ code: 'INVALID_ACCESS_TOKEN' });
    // The freed place goes to fan-2, seen from either instance.
    expect(place(await onA.status('fan-2'))).toMatchObject({ status: 'admitted' });
    expect(place(await onB.status('fan-3'))).toMatchObject({ status: 'waiting', position: 1 });
  });
});
