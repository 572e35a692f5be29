import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventStore, Position, RecordedEvent } from '../../src/eventstore/event-store.js';
import { createPgliteEventStore } from '../../src/eventstore/pglite.js';
import { createPostgresEventStore } from '../../src/eventstore/postgres.js';
import { createSharedTail, type SharedTail } from '../../src/eventstore/shared-tail.js';
import { checkpointAfter, startSubscription, type Subscription } from '../../src/eventstore/subscription.js';
import { env, freshPglite, freshPostgresSchema } from '../support/databases.js';
import { event } from '../support/events.js';

interface Opened {
  readonly store: EventStore;
  close(): Promise<void>;
}

const dialects: [string, () => Promise<Opened>][] = [
  [
    'PGlite',
    async () => {
      const sql = await freshPglite();
      const store = createPgliteEventStore(sql);
      return { store, close: async () => (await store.close(), await sql.close()) };
    },
  ],
  ...(env.databaseUrl
    ? ([
        [
          'PostgreSQL',
          async () => {
            const schema = await freshPostgresSchema(env.databaseUrl!);
            const store = createPostgresEventStore(schema.connect({ poolSize: 20 }));
            return { store, close: async () => (await store.close(), await schema.drop()) };
          },
        ],
      ] as [string, () => Promise<Opened>][])
    : []),
];

describe.each(dialects)('the shared tail of $all (%s)', (_name, open) => {
  let opened: Opened;
  let tail: SharedTail;
  const subscriptions: Subscription[] = [];

  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map((s) => s.stop()));
    await tail.stop();
    await opened.close();
  });

  /** A subscription over the tail that keeps what it is handed, in order. */
  function collect(name: string, prefix: string): { seen: RecordedEvent[]; subscription: Subscription } {
    const seen: RecordedEvent[] = [];
    const subscription = startSubscription(
      tail.store,
      checkpointAfter(`test:${name}`, tail.store.checkpoints, (events) => {
        seen.push(...events.filter((e) => e.streamId.startsWith(prefix)));
        return Promise.resolve();
      }),
      { idleWaitMs: 50 },
    );
    subscriptions.push(subscription);
    return { seen, subscription };
  }

  it('hands every subscription every event of 16 concurrent writers once, each stream in order, reading $all once for all', async () => {
    opened = await open();
    tail = createSharedTail(opened.store, { idleWaitMs: 50 });
    await tail.start();
    const prefix = `tail-${randomUUID()}`;
    const readers = [collect('a', prefix), collect('b', prefix), collect('c', prefix)];
    const streams = 120;
    const queue = Array.from({ length: streams }, (_, i) => i);
    let last: Position | undefined;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          const stream = `${prefix}-${i}`;
          await opened.store.append(stream, [event('Requested'), event('Authorized')], { expected: 'no_stream' });
          const done = await opened.store.append(stream, [event('Captured')], { expected: 1 });
          if (!last || done.position.commit > last.commit || (done.position.commit === last.commit && done.position.prepare > last.prepare)) last = done.position;
        }
      }),
    );
    for (const { seen, subscription } of readers) {
      await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(streams * 3);
      expect(await subscription.waitFor(last!, 5_000)).toBe(true);
      expect(new Set(seen.map((e) => e.id)).size).toBe(streams * 3);
      const byStream = new Map<string, number[]>();
      for (const e of seen) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e.revision]);
      for (const revisions of byStream.values()) expect(revisions).toEqual([0, 1, 2]);
    }
    // Three subscribers, and the tail alone read the store while they were caught up.
    expect(tail.status().servedFromMemory).toBeGreaterThan(0);
  });

  it('lets a subscriber that starts behind the window catch up from the store, then from memory', async () => {
    opened = await open();
    const prefix = `late-${randomUUID()}`;
    for (let i = 0; i < 30; i++) await opened.store.append(`${prefix}-${i}`, [event('Early')], { expected: 'no_stream' });
    tail = createSharedTail(opened.store, { idleWaitMs: 50, windowSize: 5 });
    await tail.start();
    for (let i = 30; i < 40; i++) await opened.store.append(`${prefix}-${i}`, [event('Later')], { expected: 'no_stream' });
    const { seen } = collect('late', prefix);
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(40);
    expect(seen.map((e) => e.streamId)).toEqual(Array.from({ length: 40 }, (_, i) => `${prefix}-${i}`));
  });

  it('tells a follower of its stream the events the tail reads, without the follower reading the stream', async () => {
    opened = await open();
    tail = createSharedTail(opened.store, { idleWaitMs: 50 });
    await tail.start();
    const stream = `followed-${randomUUID()}`;
    const first = await opened.store.append(stream, [event('Requested')], { expected: 'no_stream' });
    const told = tail.store.nextInStream!(stream, { revision: 0, position: first.position }, 5_000);
    await opened.store.append(`other-${randomUUID()}`, [event('Elsewhere')], { expected: 'no_stream' });
    await opened.store.append(stream, [event('Captured')], { expected: 0 });
    expect((await told)?.map((e) => e.type)).toEqual(['Captured']);
    // Asked after the tail has read it, the window answers at once.
    expect((await tail.store.nextInStream!(stream, { revision: 0, position: first.position }, 5_000))?.map((e) => e.type)).toEqual(['Captured']);
    // Nothing new: an empty answer after the time given, and none at all once the tail stops.
    const last = (await opened.store.readStream(stream)).at(-1)!;
    expect(await tail.store.nextInStream!(stream, { revision: 1, position: last.position }, 50)).toEqual([]);
    await tail.stop();
    expect(await tail.store.nextInStream!(stream, { revision: 1, position: last.position }, 50)).toBeUndefined();
  });
});
