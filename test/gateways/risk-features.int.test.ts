import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObservedCounts, RiskFeatureStore, RiskObservation, VelocityLimits } from '../../src/commands/risk.js';
import { connectPostgres } from '../../src/db/sql-client.js';
import { createRedisRiskFeatureStore } from '../../src/gateways/risk-features-redis.js';
import { createSqlRiskFeatureStore } from '../../src/gateways/risk-features-sql.js';
import { env, freshPglite, freshPostgresSchema } from '../support/databases.js';
import { testRedis } from '../support/redis.js';

/**
 * The risk feature store's contract (src/commands/risk.ts, RiskFeatureStore), run against every
 * adapter: the SQL store on PGlite always and on PostgreSQL when DATABASE_URL is set, the Redis
 * store when REDIS_URL is set. Every case makes its own users, cards, devices, addresses and
 * events, so the cases share one store per backend; every purchase passes an explicit time.
 */

interface OpenedStore {
  readonly store: RiskFeatureStore;
  close(): Promise<void>;
}

interface StoreBackend {
  readonly name: string;
  open(): Promise<OpenedStore>;
}

const databaseUrl = env.databaseUrl;
const redisUrl = env.redisUrl;

/** PGlite always; PostgreSQL (a fresh schema, a pool wide enough to race) and Redis (a prefix of its own) when configured. */
function storeBackends(): StoreBackend[] {
  const list: StoreBackend[] = [
    {
      name: 'sql on PGlite',
      async open() {
        const sql = await freshPglite();
        return { store: createSqlRiskFeatureStore(sql), close: () => sql.close() };
      },
    },
  ];
  if (databaseUrl) {
    list.push({
      name: 'sql on PostgreSQL',
      async open() {
        const schema = await freshPostgresSchema(databaseUrl);
        return { store: createSqlRiskFeatureStore(schema.connect({ poolSize: 20 })), close: () => schema.drop() };
      },
    });
  }
  if (redisUrl) {
    list.push({
      name: 'redis',
      async open() {
        const redis = await testRedis(redisUrl);
        return { store: createRedisRiskFeatureStore(redis.redis, redis.prefix), close: () => redis.cleanup() };
      },
    });
  }
  return list;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Far from the wall clock and from every other case's times: only the times passed count. */
const T0 = Date.parse('2031-06-04T12:00:00.000Z');
const at = (offsetMs: number) => new Date(T0 + offsetMs);

const OPEN: VelocityLimits = { userHour: 1e12, userDay: 1e12, userWeek: 1e12, ipMinute: 1e12, ipHour: 1e12, cardDay: 1e12, cardUsers: 1e12, eventTickets: 1e12 };
/** Every limit 0: the store answers the counts a purchase would have and records nothing. */
const PROBE: VelocityLimits = { userHour: 0, userDay: 0, userWeek: 0, ipMinute: 0, ipHour: 0, cardDay: 0, cardUsers: 0, eventTickets: 0 };
const LIMITS = Object.keys(OPEN) as (keyof VelocityLimits)[];

/** Names of this case's own: a user, a card, a device... never seen by another case. */
const fresh = (kind: string) => `${kind}-${randomUUID()}`;

/** A purchase by a fresh user on a fresh card for a fresh event at T0, no address, no device. */
function purchase(overrides: Partial<RiskObservation> = {}): RiskObservation {
  return { id: fresh('pay'), at: at(0), userId: fresh('user'), card: fresh('card'), eventId: fresh('event'), tickets: 1, amount: 5_000, ...overrides };
}

/** The counts of a first purchase with an address and a device. */
const FIRST: ObservedCounts = {
  userHour: 1,
  userDay: 1,
  userWeek: 1,
  ipMinute: 1,
  ipHour: 1,
  cardDay: 1,
  cardUsers: 1,
  eventTickets: 1,
  eventTenMinutes: 1,
  deviceUsers: 1,
  userDevices: 1,
  newDevice: true,
  userPurchases: 0,
  userAmountSum: 0,
  userFirstSeen: null,
};

function riskFeatureStoreContract(backend: StoreBackend): void {
  describe(`risk feature store contract: ${backend.name}`, () => {
    let opened: OpenedStore;
    let store: RiskFeatureStore;
    beforeAll(async () => {
      opened = await backend.open();
      store = opened.store;
    });
    afterAll(() => opened.close());

    const observe = (o: RiskObservation, limits: VelocityLimits = OPEN) => store.observe(o, limits);
    const record = async (o: RiskObservation) => {
      const result = await observe(o);
      expect(result.recorded).toBe(true);
      return result.counts;
    };
    /** What a purchase like `o` would count now, recording nothing. */
    const probe = async (o: RiskObservation) => {
      const result = await observe({ ...o, id: fresh('probe') }, PROBE);
      expect(result.recorded).toBe(false);
      return result.counts;
    };

    describe('counting', () => {
      it('counts the purchase itself: a first purchase is 1 in every window, with no history before it', async () => {
        const o = purchase({ ip: fresh('ip'), device: fresh('device') });
        expect(await observe(o)).toEqual({ recorded: true, known: false, counts: FIRST });
      });

      it('counts a second purchase by the same user as 2, with the first as its history', async () => {
        const first = purchase({ ip: fresh('ip'), device: fresh('device'), tickets: 2, amount: 7_000, at: at(-5 * MINUTE) });
        await record(first);
        const second = await record({ ...first, id: fresh('pay'), at: at(-4.5 * MINUTE), tickets: 1, amount: 3_000 });
        expect(second).toEqual({
          ...FIRST,
          userHour: 2,
          userDay: 2,
          userWeek: 2,
          ipMinute: 2,
          ipHour: 2,
          cardDay: 2,
          eventTickets: 3,
          eventTenMinutes: 2,
          newDevice: false,
          userPurchases: 1,
          userAmountSum: 7_000,
          userFirstSeen: first.at,
        });
      });

      it('slides its windows: a purchase 61 minutes earlier counts in the day but not the hour, 8 days earlier in no window', async () => {
        const now = purchase({ ip: fresh('ip') });
        await record({ ...now, id: fresh('pay'), at: at(-8 * DAY) });
        await record({ ...now, id: fresh('pay'), at: at(-61 * MINUTE) });
        const counts = await record(now);
        expect(counts).toMatchObject({ userHour: 1, userDay: 2, userWeek: 2, ipMinute: 1, ipHour: 1, cardDay: 2, eventTenMinutes: 1, userPurchases: 2 });
      });

      it('slides the shorter windows too: 2 minutes earlier is out of the address minute, 11 minutes earlier out of the event ten minutes', async () => {
        const now = purchase({ ip: fresh('ip') });
        await record({ ...now, id: fresh('pay'), at: at(-11 * MINUTE) });
        await record({ ...now, id: fresh('pay'), at: at(-2 * MINUTE) });
        expect(await record(now)).toMatchObject({ ipMinute: 1, ipHour: 3, eventTenMinutes: 2, userHour: 3 });
      });

      it('ends a window exactly one length back: a purchase an hour earlier is out of the hour, a millisecond later is in', async () => {
        const user = purchase();
        await record({ ...user, id: fresh('pay'), at: at(-HOUR) });
        expect(await probe(user)).toMatchObject({ userHour: 1, userDay: 2 });
        await record({ ...user, id: fresh('pay'), at: at(-HOUR + 1) });
        expect(await probe(user)).toMatchObject({ userHour: 2, userDay: 3 });
      });

      it('counts a user day as 24 hours and a week as 7 times 24, as fixed lengths', async () => {
        const user = purchase();
        await record({ ...user, id: fresh('pay'), at: at(-DAY + 1) });
        await record({ ...user, id: fresh('pay'), at: at(-7 * DAY + 1) });
        await record({ ...user, id: fresh('pay'), at: at(-7 * DAY) });
        expect(await probe(user)).toMatchObject({ userHour: 1, userDay: 2, userWeek: 3, userPurchases: 3 });
      });

      it('counts what its windows hold when purchases are recorded a little out of order', async () => {
        // A purchase that started earlier reaches the store after a later one: the later one's
        // count must not have dropped what the earlier one's windows still hold.
        const o = purchase({ ip: fresh('ip') });
        await record({ ...o, id: fresh('pay'), at: at(0) });
        await record({ ...o, id: fresh('pay'), at: at(HOUR + 10_000) });
        expect(await record({ ...o, id: fresh('pay'), at: at(HOUR - 5_000) })).toMatchObject({ userHour: 3, ipHour: 3, cardDay: 3 });
        await record({ ...o, id: fresh('pay'), at: at(HOUR + 10 * MINUTE + 10_000) });
        expect(await record({ ...o, id: fresh('pay'), at: at(HOUR + 10 * MINUTE - 5_000) })).toMatchObject({ eventTenMinutes: 3, ipMinute: 2 });
      });

      it('counts no address when the purchase has none, and no address limit applies to it', async () => {
        const o = purchase();
        const result = await observe(o, { ...OPEN, ipMinute: 0, ipHour: 0 });
        expect(result.recorded).toBe(true);
        expect(result.counts).toMatchObject({ ipMinute: 0, ipHour: 0, userHour: 1 });
        // A purchase with an address counts only the purchases from it.
        const ip = fresh('ip');
        expect(await record({ ...o, id: fresh('pay'), at: at(1), ip })).toMatchObject({ ipMinute: 1, ipHour: 1, userHour: 2 });
      });

      it('answers the user first seen as the earliest recorded purchase, whatever order they were recorded in', async () => {
        const o = purchase();
        await record(o);
        expect(await record({ ...o, id: fresh('pay'), at: at(-2 * DAY) })).toMatchObject({ userFirstSeen: at(0), userPurchases: 1 });
        expect(await record({ ...o, id: fresh('pay'), at: at(MINUTE) })).toMatchObject({ userFirstSeen: at(-2 * DAY), userPurchases: 2 });
        // A refused purchase is no history: the first seen stays.
        expect((await observe({ ...o, id: fresh('pay'), at: at(-40 * DAY) }, { ...OPEN, userHour: 0 })).recorded).toBe(false);
        expect(await probe(o)).toMatchObject({ userFirstSeen: at(-2 * DAY), userPurchases: 3, userAmountSum: 15_000 });
      });
    });

    describe('limits', () => {
      /**
       * A history that puts every limited count at 2 or more for `next`: the user bought twice,
       * once from the same address, for the same event, on the same card, and another user paid
       * with the card.
       */
      async function history() {
        const ip = fresh('ip');
        const card = fresh('card');
        const eventId = fresh('event');
        const userId = fresh('user');
        await record({ id: fresh('pay'), at: at(-30_000), userId, ip, card, eventId, tickets: 2, amount: 1_000 });
        await record({ id: fresh('pay'), at: at(-40_000), userId: fresh('user'), card, eventId: fresh('event'), tickets: 1, amount: 1_000 });
        const next: RiskObservation = { id: fresh('pay'), at: at(0), userId, ip, card, eventId, tickets: 2, amount: 1_000 };
        const expected = { userHour: 2, userDay: 2, userWeek: 2, ipMinute: 2, ipHour: 2, cardDay: 3, cardUsers: 2, eventTickets: 4 };
        return { next, expected };
      }

      it.each(LIMITS)('refuses a purchase over the %s limit alone: not recorded, answering the counts it would have had', async (limit) => {
        const { next, expected } = await history();
        const refused = await observe(next, { ...OPEN, [limit]: expected[limit] - 1 });
        expect(refused).toEqual({ recorded: false, known: false, counts: expect.objectContaining(expected) as ObservedCounts });
        // Nothing of it was recorded: the same purchase again counts the same.
        expect(await probe(next)).toMatchObject({ ...expected, eventTenMinutes: 2, userPurchases: 1 });
      });

      it('records a purchase at exactly every limit', async () => {
        const { next, expected } = await history();
        expect(await observe(next, expected)).toMatchObject({ recorded: true, counts: expected });
        expect(await probe({ ...next, userId: next.userId })).toMatchObject({ userHour: 3, cardDay: 4, eventTickets: 6, userPurchases: 2 });
      });

      it('records exactly 5 of 20 concurrent purchases by one user under a userHour limit of 5', async () => {
        const userId = fresh('user');
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => observe(purchase({ userId, at: at(i) }), { ...OPEN, userHour: 5 })),
        );
        expect(results.filter((result) => result.recorded)).toHaveLength(5);
        expect(results.map((result) => result.counts.userHour).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, ...Array<number>(15).fill(6)]);
        expect(await probe(purchase({ userId, at: at(20) }))).toMatchObject({ userHour: 6, userPurchases: 5 });
      });

      it('lets exactly 3 distinct users pay with one card when 10 try concurrently under a cardUsers limit of 3', async () => {
        const card = fresh('card');
        const users = Array.from({ length: 10 }, () => fresh('user'));
        const results = await Promise.all(users.map((userId, i) => observe(purchase({ userId, card, at: at(i) }), { ...OPEN, cardUsers: 3 })));
        const admitted = users.filter((_, i) => results[i]!.recorded);
        expect(admitted).toHaveLength(3);
        expect(await probe(purchase({ card, at: at(10) }))).toMatchObject({ cardUsers: 4, cardDay: 4 });
        // A user already on the card pays with it again under the same limit.
        expect(await observe(purchase({ userId: admitted[0]!, card, at: at(11) }), { ...OPEN, cardUsers: 3 })).toMatchObject({ recorded: true, counts: { cardUsers: 3, cardDay: 4 } });
      });

      it('holds the per-event ticket cap under concurrency: of 10 purchases of 2 tickets under a cap of 4, exactly 2 are recorded', async () => {
        const userId = fresh('user');
        const eventId = fresh('event');
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) => observe(purchase({ userId, eventId, tickets: 2, at: at(i) }), { ...OPEN, eventTickets: 4 })));
        expect(results.filter((result) => result.recorded)).toHaveLength(2);
        expect(await probe(purchase({ userId, eventId, tickets: 1, at: at(10) }))).toMatchObject({ eventTickets: 5 });
      });
    });

    describe('idempotency', () => {
      it('counts the same id once, answers recorded both times, and leaves it out of the history the second time', async () => {
        const o = purchase({ ip: fresh('ip'), device: fresh('device'), tickets: 2, amount: 4_000 });
        const first = await observe(o);
        expect(first).toEqual({ recorded: true, known: false, counts: { ...FIRST, eventTickets: 2 } });
        // The retry answers what the first time did (nothing but itself, no history, a new device), known now.
        expect(await observe(o)).toEqual({ ...first, known: true });
        const next = await record({ ...o, id: fresh('pay'), at: at(MINUTE), tickets: 1 });
        expect(next).toMatchObject({ userHour: 2, ipMinute: 1, ipHour: 2, cardDay: 2, eventTickets: 3, userPurchases: 1, userAmountSum: 4_000, userFirstSeen: o.at, newDevice: false });
      });

      it('answers recorded to a retry of a recorded purchase even when the limits would now refuse it', async () => {
        const o = purchase();
        await record(o);
        await record({ ...o, id: fresh('pay'), at: at(1) });
        const retry = await observe({ ...o, at: at(2) }, { ...OPEN, userHour: 1 });
        expect(retry).toMatchObject({ recorded: true, known: true, counts: { userHour: 2, userPurchases: 1 } });
        expect(await probe(o)).toMatchObject({ userHour: 3, userPurchases: 2 });
      });

      it('counts a purchase refused once when it is retried under limits that allow it', async () => {
        const o = purchase();
        expect((await observe(o, PROBE)).recorded).toBe(false);
        expect(await observe(o)).toEqual({ recorded: true, known: false, counts: { ...FIRST, ipMinute: 0, ipHour: 0, deviceUsers: 0, userDevices: 0, newDevice: false } });
      });
    });

    describe('devices', () => {
      it('answers newDevice true the first time a user buys from a device and false after; userDevices counts the user’s distinct devices', async () => {
        const device = fresh('device');
        const o = purchase({ device });
        expect(await record(o)).toMatchObject({ newDevice: true, userDevices: 1, deviceUsers: 1 });
        expect(await record({ ...o, id: fresh('pay'), at: at(1) })).toMatchObject({ newDevice: false, userDevices: 1, deviceUsers: 1 });
        const other = fresh('device');
        expect(await record({ ...o, id: fresh('pay'), at: at(2), device: other })).toMatchObject({ newDevice: true, userDevices: 2, deviceUsers: 1 });
        expect(await record({ ...o, id: fresh('pay'), at: at(3), device })).toMatchObject({ newDevice: false, userDevices: 2, deviceUsers: 1 });
      });

      it('counts the distinct users of a device in deviceUsers, each once', async () => {
        const device = fresh('device');
        const alice = purchase({ device });
        await record(alice);
        await record({ ...alice, id: fresh('pay'), at: at(1) });
        expect(await record(purchase({ device, at: at(2) }))).toMatchObject({ deviceUsers: 2, newDevice: true, userDevices: 1 });
        expect(await record({ ...alice, id: fresh('pay'), at: at(3) })).toMatchObject({ deviceUsers: 2, newDevice: false });
      });

      it('counts no device when the purchase has none: deviceUsers 0, newDevice false, userDevices the user’s devices', async () => {
        const o = purchase({ device: fresh('device') });
        await record(o);
        const bare: RiskObservation = { ...o, id: fresh('pay'), at: at(1) };
        delete (bare as { device?: string }).device;
        expect(await record(bare)).toMatchObject({ deviceUsers: 0, newDevice: false, userDevices: 1 });
        expect(await record(purchase({ at: at(2) }))).toMatchObject({ deviceUsers: 0, newDevice: false, userDevices: 0 });
      });

      it('looks back 30 days for devices and users: a device last used 31 days ago is new again and counted in none', async () => {
        const device = fresh('device');
        const card = fresh('card');
        const o = purchase({ device, card });
        await record({ ...o, id: fresh('pay'), at: at(-31 * DAY) });
        await record({ ...o, id: fresh('pay'), at: at(-31 * DAY), userId: fresh('user') });
        const bare: RiskObservation = { ...o, id: fresh('pay') };
        delete (bare as { device?: string }).device;
        expect(await probe(bare)).toMatchObject({ userDevices: 0, cardUsers: 1, userPurchases: 1 });
        expect(await record(o)).toMatchObject({ newDevice: true, userDevices: 1, deviceUsers: 1, cardUsers: 1, userPurchases: 1, userFirstSeen: at(-31 * DAY) });
      });
    });

    describe('tickets, forget and release', () => {
      it('sums tickets per event per user, and releaseTickets takes one purchase’s tickets off the cap and nothing else', async () => {
        const o = purchase({ tickets: 3 });
        await record(o);
        expect(await record({ ...o, id: fresh('pay'), at: at(1), eventId: fresh('event'), tickets: 2 })).toMatchObject({ eventTickets: 2 });
        expect(await record(purchase({ eventId: o.eventId, tickets: 1, at: at(2) }))).toMatchObject({ eventTickets: 1, eventTenMinutes: 2 });
        const second = { ...o, id: fresh('pay'), at: at(3), tickets: 1 };
        expect(await record(second)).toMatchObject({ eventTickets: 4 });
        await store.releaseTickets(o.id);
        expect(await probe({ ...o, tickets: 1 })).toMatchObject({ eventTickets: 2, userHour: 4, eventTenMinutes: 4, userPurchases: 3, userAmountSum: 15_000 });
        // Released twice, or a purchase never seen: no change, no error.
        await store.releaseTickets(o.id);
        await store.releaseTickets(fresh('pay'));
        expect(await probe({ ...o, tickets: 1 })).toMatchObject({ eventTickets: 2 });
      });

      it('forget takes a purchase out of every count: windows, address, card and its users, device and its users, tickets and history', async () => {
        const ip = fresh('ip');
        const card = fresh('card');
        const device = fresh('device');
        const eventId = fresh('event');
        const mine = purchase({ ip, card, device, eventId, tickets: 2, at: at(-MINUTE) });
        await record(mine);
        const theirs = purchase({ ip, card, device, eventId, tickets: 2, at: at(-30_000) });
        await record(theirs);
        await store.forget(mine.id);
        await store.forget(theirs.id);
        // As if neither had happened: a first purchase on a fresh slate.
        expect(await observe({ ...mine, id: fresh('pay'), at: at(0) })).toEqual({ recorded: true, known: false, counts: { ...FIRST, eventTickets: 2 } });
        // Forgetting what was never recorded, or twice, changes nothing and does not throw.
        await store.forget(mine.id);
        await store.forget(fresh('pay'));
      });

      it('forget keeps what the user’s other purchases count: the card and the device still have the user, first seen moves to the next purchase', async () => {
        const card = fresh('card');
        const device = fresh('device');
        const first = purchase({ card, device, at: at(-2 * HOUR), amount: 1_000 });
        const second = { ...first, id: fresh('pay'), at: at(-HOUR), amount: 2_000 };
        const third = { ...first, id: fresh('pay'), at: at(-30 * MINUTE), amount: 4_000 };
        for (const o of [first, second, third]) await record(o);
        await store.forget(third.id);
        const stranger = purchase({ card, device });
        expect(await probe(stranger)).toMatchObject({ cardUsers: 2, deviceUsers: 2 });
        const again = { ...first, at: at(0) };
        expect(await probe(again)).toMatchObject({ userHour: 1, userDay: 3, newDevice: false, userDevices: 1, userPurchases: 2, userAmountSum: 3_000, userFirstSeen: first.at });
        await store.forget(first.id);
        expect(await probe(again)).toMatchObject({ userHour: 1, userDay: 2, newDevice: false, userPurchases: 1, userAmountSum: 2_000, userFirstSeen: second.at });
        await store.forget(second.id);
        expect(await probe(stranger)).toMatchObject({ cardUsers: 1, deviceUsers: 1, cardDay: 1 });
        expect(await probe(again)).toMatchObject({ userDay: 1, newDevice: true, userDevices: 1, userPurchases: 0, userAmountSum: 0, userFirstSeen: null });
      });

      it('counts a forgotten purchase again when it is observed again', async () => {
        const o = purchase({ device: fresh('device') });
        await record(o);
        await store.forget(o.id);
        expect(await observe(o)).toMatchObject({ recorded: true, counts: { userHour: 1, newDevice: true } });
        expect(await probe(o)).toMatchObject({ userHour: 2, userPurchases: 1 });
      });
    });

    describe('purge', () => {
      it('purges what is older than the cut-off without changing any count the store answers', async () => {
        // Times of their own, before every other case's, so the cut-off reaches only these.
        const base = T0 - 1_000 * DAY;
        const o = purchase({ ip: fresh('ip'), device: fresh('device'), tickets: 2, amount: 1_000, at: new Date(base) });
        const old = [120, 100, 95].map((days, i) => ({ ...o, id: fresh('pay'), at: new Date(base - days * DAY), amount: 1_000 * (i + 1) }));
        for (const p of old) await record(p);
        await store.releaseTickets(old[1]!.id);
        await record({ ...o, id: fresh('pay'), at: new Date(base - 30 * MINUTE), amount: 7_000 });
        const before = await probe(o);
        expect(before).toMatchObject({ userHour: 2, userPurchases: 4, userAmountSum: 13_000, userFirstSeen: old[0]!.at, eventTickets: 8 });
        const purged = await store.purge(new Date(base - 90 * DAY));
        expect(purged).toBe(store.kind === 'sql' ? 3 : 0);
        expect(await probe(o)).toEqual(before);
        expect(await store.purge(new Date(base - 90 * DAY))).toBe(0);
        // What is left is still forgotten and released as before.
        const recent = { ...o, id: fresh('pay'), at: new Date(base - MINUTE) };
        await record(recent);
        await store.forget(recent.id);
        expect(await probe(o)).toEqual(before);
      });
    });
  });
}

const backends = storeBackends();
for (const backend of backends) riskFeatureStoreContract(backend);

/** The SQL store in a session whose time zone changes its clocks: a day is still 24 hours. */
describe('risk feature store: sql in a session time zone with daylight saving', () => {
  const zone = 'America/New_York';
  // New York moves its clocks forward on 2031-03-09 at 07:00 UTC: the local day across it is 23
  // hours, the local week 167, so a purchase 23.5 hours (or 7 days less 30 minutes) earlier falls
  // out of a window measured in local days.
  const before = new Date('2031-03-08T12:00:00.000Z');
  const after = new Date('2031-03-09T11:30:00.000Z');

  async function check(store: RiskFeatureStore) {
    const o = purchase({ at: before });
    await store.observe(o, OPEN);
    const weekAgo = new Date(after.getTime() - 7 * DAY + 30 * MINUTE);
    await store.observe({ ...o, id: fresh('pay'), at: weekAgo }, OPEN);
    const { counts } = await store.observe({ ...o, id: fresh('pay'), at: after }, PROBE);
    expect(counts).toMatchObject({ userDay: 2, userWeek: 3, userFirstSeen: weekAgo });
  }

  it('counts a purchase 23.5 hours earlier in the day across the change, on PGlite', async () => {
    const sql = await freshPglite();
    try {
      await sql.exec(`SET TimeZone = '${zone}'`);
      await check(createSqlRiskFeatureStore(sql));
    } finally {
      await sql.close();
    }
  });

  it.skipIf(!databaseUrl)('counts a purchase 23.5 hours earlier in the day across the change, on PostgreSQL', async () => {
    const schema = await freshPostgresSchema(databaseUrl!);
    const url = new URL(databaseUrl!);
    url.searchParams.set('options', `-c TimeZone=${zone}`);
    const sql = connectPostgres({ url: url.toString(), schema: schema.schema, poolSize: 2 });
    try {
      expect((await sql.query<{ zone: string }>('SELECT current_setting($1) AS zone', ['TimeZone'])).rows[0]!.zone).toBe(zone);
      await check(createSqlRiskFeatureStore(sql));
    } finally {
      await sql.close();
      await schema.drop();
    }
  });
});

/**
 * The adapters agree: the same random history (purchases close together and days apart, a few
 * users, cards, devices, addresses and events, random limits, retries, forgets, releases, purges)
 * gets the same answers from every backend configured.
 */
describe.skipIf(backends.length < 2)('risk feature stores agree', () => {
  let opened: OpenedStore[];
  beforeAll(async () => {
    opened = await Promise.all(backends.map((backend) => backend.open()));
  });
  afterAll(async () => {
    await Promise.all(opened.map((o) => o.close()));
  });

  const limit = fc.oneof(fc.constant(1e12), fc.integer({ min: 0, max: 6 }));
  const limits = fc.oneof(
    { weight: 3, arbitrary: fc.constant(OPEN) },
    {
      weight: 2,
      arbitrary: fc.record({ userHour: limit, userDay: limit, userWeek: limit, ipMinute: limit, ipHour: limit, cardDay: limit, cardUsers: limit, eventTickets: limit }),
    },
  );
  // Mostly seconds apart, so windows fill and purchases land out of order; sometimes hours or days,
  // so windows slide past their edges.
  const gap = fc.oneof(
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 20_000 }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 2 * HOUR }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 * DAY }) },
    { weight: 1, arbitrary: fc.constantFrom(HOUR, DAY, 8 * DAY, 31 * DAY) },
  );
  const operation = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('observe' as const),
        gap,
        // Requests finish out of order by a little: the time may step back up to 30 seconds.
        back: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 30_000 })),
        user: fc.integer({ min: 0, max: 2 }),
        card: fc.integer({ min: 0, max: 2 }),
        ip: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
        device: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
        event: fc.integer({ min: 0, max: 1 }),
        tickets: fc.integer({ min: 1, max: 4 }),
        amount: fc.integer({ min: 100, max: 50_000 }),
        limits,
      }),
    },
    // Retries, forgets and releases come soon after the purchase (within a day), as the routes make them.
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('retry' as const), which: fc.integer({ min: 0, max: 2 }), limits }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('forget' as const), which: fc.integer({ min: 0, max: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), which: fc.integer({ min: 0, max: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('purge' as const) }) },
  );

  it('answers the same counts on every backend for the same random history', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 40 }), async (operations) => {
        const run = randomUUID().slice(0, 8);
        const name = (kind: string, n: number) => `${kind}-${run}-${n}`;
        let now = T0 + 2_000 * DAY;
        let purchases = 0;
        const observed: RiskObservation[] = [];
        const recent = (which: number) => {
          const o = observed[Math.max(0, observed.length - 1 - which)];
          return o && o.at.getTime() > now - DAY ? o : undefined;
        };
        for (const op of operations) {
          let step: (store: RiskFeatureStore) => Promise<unknown>;
          switch (op.kind) {
            case 'observe': {
              now += op.gap;
              const o: RiskObservation = {
                id: name('pay', purchases++),
                at: new Date(now - op.back),
                userId: name('user', op.user),
                card: name('card', op.card),
                eventId: name('event', op.event),
                tickets: op.tickets,
                amount: op.amount,
                ...(op.ip === undefined ? {} : { ip: name('ip', op.ip) }),
                ...(op.device === undefined ? {} : { device: name('device', op.device) }),
              };
              observed.push(o);
              step = (store) => store.observe(o, op.limits);
              break;
            }
            case 'retry': {
              const o = recent(op.which);
              if (!o) continue;
              step = (store) => store.observe({ ...o, at: new Date(now) }, op.limits);
              break;
            }
            case 'forget': {
              const o = recent(op.which);
              if (!o) continue;
              step = (store) => store.forget(o.id);
              break;
            }
            case 'release': {
              const o = recent(op.which);
              if (!o) continue;
              step = (store) => store.releaseTickets(o.id);
              break;
            }
            case 'purge':
              step = async (store) => void (await store.purge(new Date(now - 90 * DAY)));
              break;
          }
          const answers = await Promise.all(opened.map((o) => step(o.store)));
          for (const [i, answer] of answers.entries()) {
            expect({ backend: backends[i]!.name, op, answer }).toEqual({ backend: backends[i]!.name, op, answer: answers[0] });
          }
        }
        // Every user, card, device, address and event ends with the same counts everywhere.
        for (let user = 0; user < 3; user++) {
          for (let n = 0; n < 3; n++) {
            const o: RiskObservation = { id: name('probe', user * 3 + n), at: new Date(now), userId: name('user', user), card: name('card', n), ip: name('ip', n), device: name('device', n), eventId: name('event', n % 2), tickets: 1, amount: 1 };
            const answers = await Promise.all(opened.map((s) => s.store.observe(o, PROBE)));
            for (const answer of answers) expect(answer).toEqual(answers[0]);
          }
        }
      }),
      { numRuns: 40 },
    );
  });
});
