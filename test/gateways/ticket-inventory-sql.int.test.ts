import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HoldRequest, InventoryItem, TicketInventoryStore } from '../../src/commands/ticket-inventory.js';
import { createSqlTicketInventoryStore } from '../../src/gateways/ticket-inventory-sql.js';
import { env, freshPglite, freshPostgresSchema } from '../support/databases.js';

/**
 * The ticket inventory's SQL store (migrations/0014_ticket_inventory.sql) on PGlite always and on
 * PostgreSQL when DATABASE_URL is set (a pool of 20, so reservations really race). Every case
 * counts in an event scope of its own.
 */
interface Opened {
  readonly store: TicketInventoryStore;
  close(): Promise<void>;
}

const backends: { name: string; open(): Promise<Opened> }[] = [
  {
    name: 'PGlite',
    async open() {
      const sql = await freshPglite();
      return { store: createSqlTicketInventoryStore(sql), close: () => sql.close() };
    },
  },
];
if (env.databaseUrl) {
  const url = env.databaseUrl;
  backends.push({
    name: 'PostgreSQL',
    async open() {
      const schema = await freshPostgresSchema(url);
      return { store: createSqlTicketInventoryStore(schema.connect({ poolSize: 20 })), close: () => schema.drop() };
    },
  });
}

const at = new Date('2026-12-07T20:00:00Z');
const ticketType = (key: string, quantity: number, max: number | null): InventoryItem => ({ kind: 'ticket_type', key, quantity, max });
const user = (key: string, quantity: number, max: number | null): InventoryItem => ({ kind: 'user', key, quantity, max });

function hold(scope: string, items: InventoryItem[], overrides: Partial<HoldRequest> = {}): HoldRequest {
  const id = randomUUID();
  return { id, scope, streamId: `payment-${id}`, items, orderMax: null, at, ...overrides };
}

describe.each(backends)('the ticket inventory on $name', (backend) => {
  let opened: Opened;
  let store: TicketInventoryStore;
  beforeAll(async () => {
    opened = await backend.open();
    store = opened.store;
  });
  afterAll(() => opened.close());

  it('reserves within a capacity and refuses the ticket that would pass it, counting nothing for the refused hold', async () => {
    const scope = randomUUID();
    expect(await store.reserve(hold(scope, [ticketType('ga', 3, 5)]))).toEqual({ status: 'reserved' });
    expect(await store.reserve(hold(scope, [ticketType('ga', 3, 5)]))).toEqual({ status: 'refused', kind: 'ticket_type', key: 'ga', max: 5, taken: 3 });
    expect(await store.reserve(hold(scope, [ticketType('ga', 2, 5)]))).toEqual({ status: 'reserved' });
    expect((await store.ticketTypeCounts(scope)).get('ga')).toEqual({ held: 5, sold: 0 });
  });

  it('answers known for a hold reserved before, whatever the counts are now, and counts it once', async () => {
    const scope = randomUUID();
    const first = hold(scope, [ticketType('ga', 2, 2)]);
    expect(await store.reserve(first)).toEqual({ status: 'reserved' });
    expect(await store.reserve(first)).toEqual({ status: 'known' });
    expect((await store.ticketTypeCounts(scope)).get('ga')).toEqual({ held: 2, sold: 0 });
  });

  it('refuses an order of more tickets than one order may take before it counts anything', async () => {
    const scope = randomUUID();
    expect(await store.reserve(hold(scope, [ticketType('a', 3, null), ticketType('b', 2, null)], { orderMax: 4 }))).toMatchObject({ status: 'refused', kind: 'order', max: 4 });
    expect(await store.ticketTypeCounts(scope)).toEqual(new Map());
  });

  it("holds a buyer to a limit across ticket types and orders, and names the limit that refused", async () => {
    const scope = randomUUID();
    expect(await store.reserve(hold(scope, [ticketType('a', 2, null), user('t:u1', 2, 4)]))).toEqual({ status: 'reserved' });
    expect(await store.reserve(hold(scope, [ticketType('b', 3, null), user('t:u1', 3, 4)]))).toEqual({ status: 'refused', kind: 'user', key: 't:u1', max: 4, taken: 2 });
    expect(await store.reserve(hold(scope, [ticketType('b', 3, null), user('t:u2', 3, 4)]))).toEqual({ status: 'reserved' });
  });

  it('moves sold tickets out of held, and a release gives sold or held tickets back exactly once', async () => {
    const scope = randomUUID();
    const paid = hold(scope, [ticketType('ga', 2, 4), user('t:u', 2, 4)]);
    const pending = hold(scope, [ticketType('ga', 2, 4), user('t:u', 2, 4)]);
    await store.reserve(paid);
    await store.reserve(pending);
    expect(await store.settle(paid.id, 'sold', at)).toBe('changed');
    expect(await store.settle(paid.id, 'sold', at)).toBe('unchanged');
    expect((await store.ticketTypeCounts(scope)).get('ga')).toEqual({ held: 2, sold: 2 });
    expect(await store.settle(pending.id, 'released', at)).toBe('changed');
    expect(await store.settle(pending.id, 'released', at)).toBe('unchanged');
    expect(await store.settle(paid.id, 'released', at)).toBe('changed');
    expect((await store.ticketTypeCounts(scope)).get('ga')).toEqual({ held: 0, sold: 0 });
    expect(await store.reserve(hold(scope, [ticketType('ga', 4, 4), user('t:u', 4, 4)]))).toEqual({ status: 'reserved' });
    expect(await store.settle(randomUUID(), 'released', at)).toBe('unchanged');
  });

  it('reserves a released hold afresh when its purchase is retried, checked like a new one', async () => {
    const scope = randomUUID();
    const first = hold(scope, [ticketType('ga', 1, 1), user('t:first', 1, 4)]);
    await store.reserve(first);
    // The first attempt was not written (or ended unpaid): its ticket went back, and another buyer took it.
    expect(await store.settle(first.id, 'released', at)).toBe('changed');
    const other = hold(scope, [ticketType('ga', 1, 1)]);
    expect(await store.reserve(other)).toEqual({ status: 'reserved' });
    expect(await store.reserve(first)).toEqual({ status: 'refused', kind: 'ticket_type', key: 'ga', max: 1, taken: 1 });
    expect(await store.settle(first.id, 'released', at)).toBe('unchanged');
    await store.settle(other.id, 'released', at);
    expect(await store.reserve(first)).toEqual({ status: 'reserved' });
    expect(await store.reserve(first)).toEqual({ status: 'known' });
    expect((await store.ticketTypeCounts(scope)).get('ga')).toEqual({ held: 1, sold: 0 });
  });

  it('counts a released hold sold after all as sold again, so the counts stay true to what was sold', async () => {
    const scope = randomUUID();
    const late = hold(scope, [ticketType('ga', 2, 2)]);
    await store.reserve(late);
    await store.settle(late.id, 'released', at);
    expect(await store.settle(late.id, 'sold', at)).toBe('recounted');
    expect(await store.settle(late.id, 'sold', at)).toBe('unchanged');
    expect((await store.ticketTypeCounts(scope)).get('ga')).toEqual({ held: 0, sold: 2 });
  });

  it('never deadlocks first orders whose lines name the same ticket types in opposite orders', async () => {
    for (let round = 0; round < 20; round++) {
      const scope = randomUUID();
      const outcomes = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.reserve(hold(scope, i % 2 ? [ticketType('a', 1, null), ticketType('b', 1, null)] : [ticketType('b', 1, null), ticketType('a', 1, null)]))),
      );
      expect(outcomes.every((o) => o.status === 'reserved')).toBe(true);
    }
  });

  it('lets exactly the capacity through when 200 buyers race for 100 tickets, whatever each one asks for', async () => {
    const scope = randomUUID();
    const holds = Array.from({ length: 200 }, (_, i) => hold(scope, [ticketType('ga', 1 + (i % 2), 100), user(`t:u${i}`, 1 + (i % 2), 4)]));
    const outcomes = await Promise.all(holds.map((h) => store.reserve(h)));
    const reserved = holds.filter((_, i) => outcomes[i]!.status === 'reserved');
    const taken = reserved.reduce((sum, h) => sum + h.items[0]!.quantity, 0);
    expect(outcomes.every((o) => o.status === 'reserved' || (o.status === 'refused' && o.kind === 'ticket_type'))).toBe(true);
    expect((await store.ticketTypeCounts(scope)).get('ga')).toEqual({ held: taken, sold: 0 });
    expect(taken).toBeLessThanOrEqual(100);
    // Every refused buyer asked for more than was left when it was refused: 100 - taken < 2.
    expect(100 - taken).toBeLessThan(2);
  });

  it('holds one buyer to the limit when their orders race, and never deadlocks holds that share counters in any order', async () => {
    const scope = randomUUID();
    const racing = Array.from({ length: 20 }, (_, i) => hold(scope, i % 2 ? [user('t:racer', 1, 4), ticketType('x', 1, null)] : [ticketType('y', 1, null), user('t:racer', 1, 4)]));
    const outcomes = await Promise.all(racing.map((h) => store.reserve(h)));
    expect(outcomes.filter((o) => o.status === 'reserved')).toHaveLength(4);
    expect(outcomes.filter((o) => o.status === 'refused')).toHaveLength(16);
  });

  it('counts a hold retried concurrently under one id once', async () => {
    const scope = randomUUID();
    const once = hold(scope, [ticketType('ga', 1, 10)]);
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => store.reserve(once)));
    expect(outcomes.filter((o) => o.status === 'reserved')).toHaveLength(1);
    expect((await store.ticketTypeCounts(scope)).get('ga')).toEqual({ held: 1, sold: 0 });
  });

  it('lists holds not yet seen written, oldest first, until they are confirmed or released', async () => {
    const scope = randomUUID();
    const old = hold(scope, [ticketType('ga', 1, null)], { at: new Date('2000-01-01T00:00:00Z') });
    const released = hold(scope, [ticketType('ga', 1, null)], { at: new Date('2000-01-01T00:00:01Z') });
    const recent = hold(scope, [ticketType('ga', 1, null)], { at: new Date('2000-01-02T00:00:00Z') });
    for (const h of [old, released, recent]) await store.reserve(h);
    await store.settle(released.id, 'released', at);
    const listed = await store.unconfirmed(new Date('2000-01-01T12:00:00Z'), 100);
    expect(listed).toEqual([{ id: old.id, streamId: old.streamId }]);
    await store.confirm(old.id);
    expect(await store.unconfirmed(new Date('2000-01-01T12:00:00Z'), 100)).toEqual([]);
  });
});
