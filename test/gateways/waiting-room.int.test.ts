import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogueHandler } from '../../src/commands/catalogue.js';
import { waitingRoomService, type ActivityEntry, type TokenRecord, type WaitingRoomActivityLog, type WaitingRoomStore } from '../../src/commands/waiting-room.js';
import { ACCESS_TOKEN_TTL_MS, JTI_PATTERN, roomIdOf, type AdmissionRules, type Buyer, type RoomKey } from '../../src/domain/waiting-room.js';
import { createRedisWaitingRoomStore } from '../../src/gateways/waiting-room-redis.js';
import { createSqlActivityLog, createSqlWaitingRoomStore } from '../../src/gateways/waiting-room-sql.js';
import type { WaitingRoomSettings } from '../../src/events/catalogue.js';
import type { EventStore } from '../../src/eventstore/event-store.js';
import type { SqlClient } from '../../src/db/sql-client.js';
import { sqlEventStore } from '../../src/runtime.js';
import { env, freshPglite, freshPostgresSchema } from '../support/databases.js';
import { testRedis } from '../support/redis.js';

/**
 * The waiting room store's contract (src/commands/waiting-room.ts, WaitingRoomStore), run against
 * every adapter: SQL on PGlite always and on PostgreSQL when DATABASE_URL is set, Redis when
 * REDIS_URL is set. Each case opens a room of its own (a fresh event); every call passes its time.
 */

interface Opened {
  readonly store: WaitingRoomStore;
  readonly activity: WaitingRoomActivityLog;
  /** Where the rooms' catalogues are, for the service's timer. */
  readonly events: EventStore;
  /** The SQL store's database (the SQL backends only). */
  readonly roomsSql?: SqlClient;
  close(): Promise<void>;
}

interface StoreBackend {
  readonly name: string;
  open(): Promise<Opened>;
}

function storeBackends(): StoreBackend[] {
  const list: StoreBackend[] = [
    {
      name: 'sql on PGlite',
      async open() {
        const sql = await freshPglite();
        return { store: createSqlWaitingRoomStore(sql), activity: createSqlActivityLog(sql), events: sqlEventStore(sql), roomsSql: sql, close: () => sql.close() };
      },
    },
  ];
  const databaseUrl = env.databaseUrl;
  const redisUrl = env.redisUrl;
  if (databaseUrl) {
    list.push({
      name: 'sql on PostgreSQL',
      async open() {
        const schema = await freshPostgresSchema(databaseUrl);
        const sql = schema.connect({ poolSize: 20 });
        return {
          store: createSqlWaitingRoomStore(sql),
          activity: createSqlActivityLog(sql),
          events: sqlEventStore(sql),
          roomsSql: sql,
          close: () => schema.drop(),
        };
      },
    });
  }
  if (redisUrl) {
    list.push({
      name: 'redis',
      async open() {
        // The activity log is SQL in every mode.
        const sql = await freshPglite();
        const redis = await testRedis(redisUrl);
        return {
          store: createRedisWaitingRoomStore(redis.redis, redis.prefix),
          activity: createSqlActivityLog(sql),
          events: sqlEventStore(sql),
          async close() {
            await redis.cleanup();
            await sql.close();
          },
        };
      },
    });
  }
  return list;
}

const T0 = Date.parse('2031-06-04T12:00:00.000Z');
const SECOND = 1_000;
const newRoom = (): RoomKey => ({ venueId: randomUUID(), eventId: randomUUID() });
const buyer = (userId: string, tenantId = 'tenant-1'): Buyer => ({ tenantId, userId });
const rules = (overrides: Partial<AdmissionRules> = {}): AdmissionRules => ({ capacity: 100, releaseRate: 60, order: 'first_come', ...overrides });
const users = (n: number) => Array.from({ length: n }, (_, i) => `user-${String(i).padStart(3, '0')}`);

function waitingRoomStoreContract(backend: StoreBackend): void {
  describe(`waiting room store contract: ${backend.name}`, () => {
    let opened: Opened;
    let store: WaitingRoomStore;
    beforeAll(async () => {
      opened = await backend.open();
      store = opened.store;
    }, 60_000);
    afterAll(() => opened.close());

    /** Joins users one after another at T0 (in a room that admits nobody yet unless `r` says so). */
    const joinAll = async (room: RoomKey, names: readonly string[], r: AdmissionRules, at = T0) => {
      const answers = [];
      for (const [i, user] of names.entries()) answers.push(await store.join(room, r, buyer(user), at, (i * 7919) % 1000 / 1000));
      return answers;
    };
    const closed = rules({ opensAt: T0 + 3_600_000 });

    it('gives each buyer a place in join order, and a buyer who joins again keeps theirs', async () => {
      const room = newRoom();
      const answers = await joinAll(room, users(4), closed);
      expect(answers.map((a) => a.member)).toEqual([1, 2, 3, 4].map((position) => ({ status: 'waiting', position, joinedAt: T0 })));
      expect(answers.every((a) => a.joined)).toBe(true);
      const again = await store.join(room, closed, buyer('user-001'), T0 + SECOND, 0.5);
      expect(again.joined).toBe(false);
      expect(again.member).toEqual({ status: 'waiting', position: 2, joinedAt: T0 });
      expect((await store.status(room, closed, buyer('user-003'), T0 + SECOND)).member).toMatchObject({ status: 'waiting', position: 4 });
      expect((await store.status(room, closed, buyer('stranger'), T0 + SECOND)).member).toBeUndefined();
      expect((await store.status(newRoom(), closed, buyer('stranger'), T0)).member).toBeUndefined();
    });

    it('admits nobody before the sale opens, then the first buyers in join order as far as the burst allows', async () => {
      const room = newRoom();
      const r = rules({ opensAt: T0 + 10 * SECOND });
      await joinAll(room, users(8), r);
      expect((await store.admit(room, r, T0 + 9 * SECOND)).admitted).toEqual([]);
      const opened = await store.admit(room, r, T0 + 10 * SECOND);
      expect(opened.admitted.map((a) => a.userId)).toEqual(users(5));
      expect(opened.admitted.every((a) => JTI_PATTERN.test(a.jti) && a.expiresAt === T0 + 10 * SECOND + ACCESS_TOKEN_TTL_MS)).toBe(true);
      expect(new Set(opened.admitted.map((a) => a.jti)).size).toBe(5);
      expect(opened).toMatchObject({ queueLength: 3, active: 5 });
      // A second later one more buyer's worth of budget has built up (60 a minute).
      expect((await store.admit(room, r, T0 + 11 * SECOND)).admitted.map((a) => a.userId)).toEqual(['user-005']);
      expect((await store.admit(room, r, T0 + 11 * SECOND)).admitted).toEqual([]);
      const admitted = (await store.status(room, r, buyer('user-000'), T0 + 11 * SECOND)).member;
      expect(admitted).toEqual({ status: 'admitted', jti: opened.admitted[0]!.jti, expiresAt: opened.admitted[0]!.expiresAt });
      expect((await store.status(room, r, buyer('user-007'), T0 + 11 * SECOND)).member).toMatchObject({ status: 'waiting', position: 2 });
    });

    it('admits on join when there is room, and never past capacity', async () => {
      const room = newRoom();
      const r = rules({ capacity: 2 });
      const answers = await joinAll(room, users(3), r);
      expect(answers.map((a) => a.member.status)).toEqual(['admitted', 'admitted', 'waiting']);
      expect(answers.flatMap((a) => a.admitted.map((x) => x.userId))).toEqual(['user-000', 'user-001']);
      expect((await store.admit(room, r, T0 + 30 * SECOND)).admitted).toEqual([]);
      expect(await store.stats(room, T0 + 30 * SECOND)).toEqual({ queueLength: 1, active: 2, tokensInUse: 2, admittedLastMinute: 2 });
      expect(await store.stats(room, T0 + 60 * SECOND)).toMatchObject({ admittedLastMinute: 0 });
    });

    it("draws the buyers who joined before the sale opened in the order of their draw keys, ahead of later joiners", async () => {
      const room = newRoom();
      const r = rules({ order: 'draw', opensAt: T0 + 10 * SECOND, capacity: 100, releaseRate: 600 });
      const keys = [0.9, 0.1, 0.5, 0.3];
      for (const [i, user] of users(4).entries()) await store.join(room, r, buyer(user), T0, keys[i]!);
      expect((await store.status(room, r, buyer('user-001'), T0 + 9 * SECOND)).member).toMatchObject({ position: 1 });
      expect((await store.status(room, r, buyer('user-000'), T0 + 9 * SECOND)).member).toMatchObject({ position: 4 });
      // Joining after the sale opens ticks the room too: the draw goes first.
      const admitted = [
        ...(await store.join(room, r, buyer('late-1'), T0 + 10 * SECOND, 0)).admitted,
        ...(await store.join(room, r, buyer('late-0'), T0 + 11 * SECOND, 0)).admitted,
        ...(await store.admit(room, r, T0 + 12 * SECOND)).admitted,
      ].map((a) => a.userId);
      expect(admitted).toEqual(['user-001', 'user-003', 'user-002', 'user-000', 'late-1', 'late-0']);
    });

    it('lapses a token unused for ten minutes once, freeing its place for the next buyer', async () => {
      const room = newRoom();
      const r = rules({ capacity: 1 });
      const [first] = await joinAll(room, ['a', 'b'], r);
      const jti = first!.admitted[0]!.jti;
      expect((await store.admit(room, r, T0 + ACCESS_TOKEN_TTL_MS - 1)).lapsed).toEqual([]);
      const lapsed = await store.admit(room, r, T0 + ACCESS_TOKEN_TTL_MS);
      expect(lapsed.lapsed).toEqual([{ tenantId: 'tenant-1', userId: 'a', jti }]);
      expect(lapsed.admitted.map((a) => a.userId)).toEqual(['b']);
      expect((await store.admit(room, r, T0 + ACCESS_TOKEN_TTL_MS + SECOND)).lapsed).toEqual([]);
      expect((await store.status(room, r, buyer('a'), T0 + ACCESS_TOKEN_TTL_MS)).member).toEqual({ status: 'expired', jti });
      expect(await store.token(jti)).toMatchObject({ state: 'expired', userId: 'a' });
      expect(await store.consume(jti, 'cmd-late', T0 + ACCESS_TOKEN_TTL_MS)).toEqual({ outcome: 'refused', reason: 'expired' });
      // Joining again after a lapse is a new place at the back.
      expect((await store.join(room, r, buyer('a'), T0 + ACCESS_TOKEN_TTL_MS + SECOND, 0)).member).toMatchObject({ status: 'waiting', position: 1 });
    });

    it('consumes a token once: the same command again is a retry, another command is refused', async () => {
      const room = newRoom();
      const [joined] = await joinAll(room, ['buyer'], rules());
      const jti = joined!.admitted[0]!.jti;
      expect(await store.token(jti)).toEqual({ jti, roomId: expect.any(String) as string, ...room, tenantId: 'tenant-1', userId: 'buyer', expiresAt: T0 + ACCESS_TOKEN_TTL_MS, state: 'active' });
      const used = await store.consume(jti, 'cmd-1', T0 + SECOND);
      expect(used).toEqual({ outcome: 'consumed', token: expect.objectContaining({ jti, tenantId: 'tenant-1', userId: 'buyer', ...room, state: 'consumed', commandId: 'cmd-1' }) as TokenRecord });
      expect(await store.consume(jti, 'cmd-1', T0 + 2 * SECOND)).toEqual({ outcome: 'again' });
      expect(await store.consume(jti, 'cmd-2', T0 + 2 * SECOND)).toEqual({ outcome: 'refused', reason: 'used' });
      expect(await store.consume('0'.repeat(32), 'cmd-3', T0)).toEqual({ outcome: 'refused', reason: 'unknown' });
      expect((await store.status(room, rules(), buyer('buyer'), T0 + 2 * SECOND)).member).toEqual({ status: 'purchased', jti });
      expect(await store.stats(room, T0 + 2 * SECOND)).toEqual({ queueLength: 0, active: 0, tokensInUse: 1, admittedLastMinute: 1 });
    });

    it('lets exactly one of ten concurrent commands consume a token', async () => {
      const room = newRoom();
      const [joined] = await joinAll(room, ['buyer'], rules());
      const jti = joined!.admitted[0]!.jti;
      const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => store.consume(jti, `cmd-${i}`, T0 + SECOND)));
      expect(outcomes.filter((o) => o.outcome === 'consumed')).toHaveLength(1);
      expect(outcomes.filter((o) => o.outcome === 'refused')).toHaveLength(9);
    });

    it('never admits past the budget or capacity when many calls tick at once', async () => {
      const room = newRoom();
      const r = rules({ capacity: 7, releaseRate: 120 });
      await joinAll(room, users(30), { ...r, opensAt: T0 }, T0 - SECOND);
      const burst = await Promise.all(Array.from({ length: 12 }, () => store.admit(room, r, T0)));
      expect(burst.flatMap((t) => t.admitted)).toHaveLength(7);
      const later = await Promise.all(Array.from({ length: 12 }, () => store.admit(room, rules({ capacity: 1000, releaseRate: 120 }), T0 + SECOND)));
      // 10 (the burst) less the 7 spent, plus two a second.
      expect(later.flatMap((t) => t.admitted)).toHaveLength(5);
      const all = [...burst, ...later].flatMap((t) => t.admitted.map((a) => a.userId)).sort();
      expect(all).toEqual(users(12));
    });

    it('takes a leaving buyer out: the queue closes up, and an admitted buyer gives back the token and the place', async () => {
      const room = newRoom();
      const r = rules({ capacity: 1 });
      const [first] = await joinAll(room, ['a', 'b', 'c'], r);
      expect((await store.leave(room, r, buyer('b'), T0 + SECOND)).left).toEqual({ from: 'waiting' });
      expect((await store.status(room, r, buyer('c'), T0 + SECOND)).member).toMatchObject({ status: 'waiting', position: 1 });
      const gone = await store.leave(room, r, buyer('a'), T0 + 2 * SECOND);
      expect(gone.left).toEqual({ from: 'admitted', jti: first!.admitted[0]!.jti });
      expect(gone.admitted.map((a) => a.userId)).toEqual(['c']);
      expect(await store.token(first!.admitted[0]!.jti)).toMatchObject({ state: 'revoked' });
      expect((await store.leave(room, r, buyer('a'), T0 + 3 * SECOND)).left).toBeUndefined();
      expect((await store.status(room, r, buyer('a'), T0 + 3 * SECOND)).member).toBeUndefined();
    });

    it("revokes an active token of the room only, once, and frees its place", async () => {
      const room = newRoom();
      const r = rules({ capacity: 1 });
      const [first] = await joinAll(room, ['a', 'b'], r);
      const jti = first!.admitted[0]!.jti;
      expect(await store.revoke(newRoom(), jti, T0)).toEqual({ outcome: 'not_found' });
      expect(await store.revoke(room, 'f'.repeat(32), T0)).toEqual({ outcome: 'not_found' });
      expect(await store.revoke(room, jti, T0 + SECOND)).toEqual({ outcome: 'revoked', tenantId: 'tenant-1', userId: 'a' });
      expect(await store.revoke(room, jti, T0 + SECOND)).toEqual({ outcome: 'not_active', state: 'revoked' });
      expect(await store.consume(jti, 'cmd', T0 + SECOND)).toEqual({ outcome: 'refused', reason: 'revoked' });
      expect((await store.status(room, r, buyer('a'), T0 + 2 * SECOND)).member).toEqual({ status: 'revoked', jti });
      expect((await store.admit(room, r, T0 + 2 * SECOND)).active).toBe(1);
      expect((await store.status(room, r, buyer('b'), T0 + 2 * SECOND)).member).toMatchObject({ status: 'admitted' });
    });

    it("holds one room per venue's event for every tenant: their buyers share its capacity, and the same user id in two tenants is two buyers", async () => {
      const room = newRoom();
      const r = rules({ capacity: 2 });
      const [inOne, inTwo, third] = [buyer('fan', 'tenant-1'), buyer('fan', 'tenant-2'), buyer('other', 'tenant-3')];
      const first = await store.join(room, r, inOne, T0, 0);
      const second = await store.join(room, r, inTwo, T0, 0);
      expect([first.joined, second.joined]).toEqual([true, true]);
      expect(first.admitted).toEqual([{ ...inOne, jti: expect.any(String) as string, expiresAt: T0 + ACCESS_TOKEN_TTL_MS }]);
      expect(second.admitted).toEqual([{ ...inTwo, jti: expect.any(String) as string, expiresAt: T0 + ACCESS_TOKEN_TTL_MS }]);
      expect((await store.join(room, r, third, T0, 0)).member).toMatchObject({ status: 'waiting', position: 1 });
      expect(await store.token(second.admitted[0]!.jti)).toMatchObject({ ...inTwo, ...room });
      expect(await store.stats(room, T0)).toMatchObject({ queueLength: 1, active: 2 });
      // tenant-2's fan leaving gives back their own token, not tenant-1's fan's, and frees the place.
      const left = await store.leave(room, r, inTwo, T0 + SECOND);
      expect(left.left).toEqual({ from: 'admitted', jti: second.admitted[0]!.jti });
      expect(left.admitted).toEqual([expect.objectContaining(third)]);
      expect((await store.status(room, r, inOne, T0 + SECOND)).member).toMatchObject({ status: 'admitted', jti: first.admitted[0]!.jti });
      expect(await store.revoke(room, first.admitted[0]!.jti, T0 + SECOND)).toEqual({ outcome: 'revoked', ...inOne });
    });

    it('keeps buyers apart whose tenant and user ids would run together when joined with a separator', async () => {
      const room = newRoom();
      const r = rules({ opensAt: T0 + 3_600_000 });
      const one = buyer('b:c', 'a');
      const other = buyer('c', 'a:b');
      expect((await store.join(room, r, one, T0, 0)).joined).toBe(true);
      expect((await store.join(room, r, other, T0, 0)).joined).toBe(true);
      expect((await store.leave(room, r, one, T0)).left).toEqual({ from: 'waiting' });
      expect((await store.status(room, r, other, T0)).member).toMatchObject({ status: 'waiting', position: 1 });
      expect((await store.status(room, r, one, T0)).member).toBeUndefined();
    });

    it('lists the rooms with buyers in them for the timer, and forgets a room once everyone is through', async () => {
      const room = newRoom();
      const r = rules({ capacity: 5 });
      const [joined] = await joinAll(room, ['a'], r);
      expect(await store.rooms()).toContainEqual(room);
      await store.consume(joined!.admitted[0]!.jti, 'cmd', T0 + SECOND);
      await store.admit(room, r, T0 + 2 * SECOND);
      expect(await store.rooms()).not.toContainEqual(room);
    });

    it('drops an idle room from the timer\'s list, and lists it again when a buyer joins', async () => {
      const room = newRoom();
      const r = rules({ opensAt: T0 + 3_600_000 });
      await store.join(room, r, buyer('a'), T0, 0);
      expect(await store.rooms()).toContainEqual(room);
      await store.leave(room, r, buyer('a'), T0 + SECOND);
      expect(await store.rooms()).not.toContainEqual(room);
      await store.join(room, r, buyer('a'), T0 + 2 * SECOND, 0);
      expect(await store.rooms()).toContainEqual(room);
    });

    it('forgets a room taken off the timer\'s list, its buyers keeping their places, until a call leaves buyers in it', async () => {
      const room = newRoom();
      const r = rules({ opensAt: T0 + 3_600_000 });
      await joinAll(room, ['a', 'b'], r);
      await store.forget(room);
      expect(await store.rooms()).not.toContainEqual(room);
      expect((await store.status(room, r, buyer('b'), T0 + SECOND)).member).toMatchObject({ status: 'waiting', position: 2 });
      expect(await store.rooms()).toContainEqual(room);
    });

    it('takes a room switched off with buyers in it off the timer\'s list on the next tick, and keeps ticking the others', async () => {
      const at = new Date(T0);
      const service = waitingRoomService({ store: opened.events, rooms: store, activity: opened.activity, secret: 'w'.repeat(32), clock: () => at });
      const configure = (room: RoomKey, settings: WaitingRoomSettings) =>
        catalogueHandler.handle(
          opened.events,
          room,
          { type: 'ConfigureWaitingRoom', data: { ...room, room: settings } },
          { commandId: randomUUID(), now: at, actor: 'admin:admin-1', tenantId: 'tenant-1', correlationId: randomUUID() },
        );
      const settings: WaitingRoomSettings = { enabled: true, capacity: 1, releaseRate: 60, order: 'first_come' };
      const [off, on] = [newRoom(), newRoom()];
      for (const room of [off, on]) {
        await configure(room, settings);
        for (const name of ['a', 'b']) await service.join(room, buyer(name));
      }
      await configure(off, { ...settings, enabled: false });
      await service.tick();
      const listed = await store.rooms();
      expect(listed).not.toContainEqual(off);
      expect(listed).toContainEqual(on);
    });

    it.runIf(backend.name.startsWith('sql'))('writes nothing to the room row on a poll that admits and lapses nobody', async () => {
      const room = newRoom();
      const r = rules({ capacity: 1 });
      await joinAll(room, ['a', 'b'], r);
      // A row's xmin changes with every UPDATE of it (a lock alone leaves it).
      const version = async () =>
        (await opened.roomsSql!.query<{ v: string }>('SELECT xmin::text AS v FROM tessera_waiting_rooms WHERE room_id = $1', [roomIdOf(room)])).rows[0]!.v;
      const before = await version();
      for (const at of [T0 + SECOND, T0 + 2 * SECOND]) expect((await store.status(room, r, buyer('b'), at)).member).toMatchObject({ status: 'waiting', position: 1 });
      expect(await store.admit(room, r, T0 + 3 * SECOND)).toMatchObject({ admitted: [], lapsed: [] });
      expect(await version()).toBe(before);
    });

    it('keeps the activity log newest first, paged, with concurrent writes grouped and all durable', async () => {
      const room = newRoom();
      const entry = (i: number): ActivityEntry => ({ ...room, tenantId: `tenant-${i % 2}`, userId: `u-${i}`, action: 'joined', metadata: { position: i, note: 'quote " and \\ slash' }, at: new Date(T0 + i) });
      await Promise.all(Array.from({ length: 50 }, (_, i) => opened.activity.record([entry(i)])));
      const first = await opened.activity.list(room, { limit: 30 });
      const rest = await opened.activity.list(room, { limit: 30, before: first.at(-1)!.seq });
      expect(first).toHaveLength(30);
      expect(rest).toHaveLength(20);
      const all = [...first, ...rest];
      expect(new Set(all.map((a) => a.userId)).size).toBe(50);
      expect(all.map((a) => a.seq)).toEqual([...all.map((a) => a.seq)].sort((a, b) => b - a));
      expect(all.find((a) => a.userId === 'u-7')).toMatchObject({ tenantId: 'tenant-1', action: 'joined', metadata: { position: 7, note: 'quote " and \\ slash' }, at: new Date(T0 + 7) });
      expect(await opened.activity.list(newRoom(), { limit: 10 })).toEqual([]);
    });
  });
}

for (const backend of storeBackends()) waitingRoomStoreContract(backend);
