import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointConflictError, InvalidAppendError, WrongExpectedVersionError } from '../../src/eventstore/errors.js';
import {
  comparePositions,
  type EventStore,
  type Position,
  type RecordedEvent,
} from '../../src/eventstore/event-store.js';
import { checkpointAfter, startSubscription, type Subscription } from '../../src/eventstore/subscription.js';
import { createUpcast, type Upcast } from '../../src/eventstore/upcasting.js';
import { event, uniqueStream } from '../support/events.js';

export interface StoreHarness {
  /** Opens a store over the shared storage, as another process would; the harness closes it. */
  open(options?: { upcast?: Upcast }): Promise<EventStore>;
  close(): Promise<void>;
  /** SQL stores refuse an event id already stored in another stream; EventStoreDB allows it. */
  readonly refusesIdsReusedAcrossStreams: boolean;
}

/** Reads $all after `from` until `done` says enough, keeping only events of streams with `prefix`. */
async function tailAll(
  store: EventStore,
  from: Position | null,
  prefix: string,
  done: (seen: RecordedEvent[]) => boolean,
  deadlineMs = 60_000,
): Promise<RecordedEvent[]> {
  const seen: RecordedEvent[] = [];
  let cursor = from;
  const deadline = Date.now() + deadlineMs;
  while (!done(seen)) {
    if (Date.now() > deadline) throw new Error(`tail gave up after seeing ${seen.length} events`);
    const batch = await store.readAll({ after: cursor ?? 'start', maxCount: 37 });
    if (batch.length === 0) {
      await store.waitForAppend(20);
      continue;
    }
    for (const e of batch) {
      if (cursor) expect(comparePositions(e.position, cursor)).toBe(1);
      cursor = e.position;
      if (e.streamId.startsWith(prefix)) seen.push(e);
    }
  }
  return seen;
}

export function eventStoreContract(name: string, makeHarness: () => Promise<StoreHarness>): void {
  describe(`event store contract: ${name}`, () => {
    let harness: StoreHarness;
    let store: EventStore;

    beforeAll(async () => {
      harness = await makeHarness();
      store = await harness.open();
    });
    afterAll(async () => {
      await harness.close();
    });

    describe('appending with an expected revision', () => {
      it('creates a stream whose events read back in order with their data and metadata', async () => {
        const stream = uniqueStream('order');
        const first = event('TicketReserved', { seat: 'A1', cents: 5000 });
        const second = event('TicketReserved', { seat: 'A2', cents: 5000 });
        const before = Date.now();
        const result = await store.append(stream, [first, second], { expected: 'no_stream' });
        const after = Date.now();
        expect(result.nextExpectedRevision).toBe(1);

        const read = await store.readStream(stream);
        expect(read.map((e) => [e.id, e.type, e.revision, e.streamId])).toEqual([
          [first.id, 'TicketReserved', 0, stream],
          [second.id, 'TicketReserved', 1, stream],
        ]);
        expect(read[0]!.data).toEqual({ seat: 'A1', cents: 5000 });
        expect(read[0]!.metadata).toEqual(first.metadata);
        expect(read[1]!.position).toEqual(result.position);
        expect(read[0]!.recordedAt).toBeInstanceOf(Date);
        // The time of the append, give or take a remote server's clock: not shifted by a time zone or a unit.
        expect(read[0]!.recordedAt.getTime()).toBeGreaterThan(before - 60_000);
        expect(read[0]!.recordedAt.getTime()).toBeLessThan(after + 60_000);
      });

      it('refuses no_stream when the stream exists and reports its actual revision', async () => {
        const stream = uniqueStream('order');
        await store.append(stream, [event('A'), event('B')], { expected: 'no_stream' });
        const error = await store.append(stream, [event('C')], { expected: 'no_stream' }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect(error).toMatchObject({ streamId: stream, expected: 'no_stream', actual: 1 });
      });

      it('appends at the exact revision and refuses a stale one, reporting the actual revision', async () => {
        const stream = uniqueStream('order');
        await store.append(stream, [event('A')], { expected: 'no_stream' });
        const next = await store.append(stream, [event('B'), event('C')], { expected: 0 });
        expect(next.nextExpectedRevision).toBe(2);
        const error = await store.append(stream, [event('D')], { expected: 0 }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'WRONG_EXPECTED_VERSION', expected: 0, actual: 2 });
        expect(await store.readStream(stream)).toHaveLength(3);
      });

      it('refuses an exact revision on a stream that does not exist, reporting no_stream', async () => {
        const stream = uniqueStream('order');
        const error = await store.append(stream, [event('A')], { expected: 3 }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'WRONG_EXPECTED_VERSION', actual: 'no_stream' });
        expect(await store.readStream(stream)).toEqual([]);
      });

      it('appends with stream_exists only to a stream that exists', async () => {
        const stream = uniqueStream('order');
        const error = await store.append(stream, [event('A')], { expected: 'stream_exists' }).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'WRONG_EXPECTED_VERSION', expected: 'stream_exists', actual: 'no_stream' });
        await store.append(stream, [event('A')], { expected: 'no_stream' });
        const result = await store.append(stream, [event('B')], { expected: 'stream_exists' });
        expect(result.nextExpectedRevision).toBe(1);
      });

      it('appends with any whether or not the stream exists', async () => {
        const stream = uniqueStream('order');
        expect((await store.append(stream, [event('A')], { expected: 'any' })).nextExpectedRevision).toBe(0);
        expect((await store.append(stream, [event('B'), event('C')], { expected: 'any' })).nextExpectedRevision).toBe(2);
      });

      it('refuses an append with no events, a malformed id, missing metadata or an unreadable occurredAt, writing nothing', async () => {
        const stream = uniqueStream('order');
        await expect(store.append(stream, [], { expected: 'any' })).rejects.toBeInstanceOf(InvalidAppendError);
        await expect(store.append(stream, [event('A', {}, { id: 'not-a-uuid' })], { expected: 'any' })).rejects.toBeInstanceOf(
          InvalidAppendError,
        );
        const bad = event('A');
        await expect(
          store.append(stream, [{ ...bad, metadata: { ...bad.metadata, tenantId: '' } }], { expected: 'any' }),
        ).rejects.toThrow(/tenantId/);
        for (const occurredAt of ['yesterday', '2026-02-30T10:00:00Z', '2026-01-01T10:00:00']) {
          await expect(
            store.append(stream, [event('A'), { ...bad, metadata: { ...bad.metadata, occurredAt } }], { expected: 'any' }),
          ).rejects.toThrow(/occurredAt/);
        }
        expect(await store.readStream(stream)).toEqual([]);
      });
    });

    describe('idempotent appends', () => {
      it('answers a retried append like the first one and stores its events once', async () => {
        const stream = uniqueStream('payment');
        const batch = [event('PaymentRequested'), event('PaymentAuthorized')];
        const first = await store.append(stream, batch, { expected: 'no_stream' });
        const retry = await store.append(stream, batch, { expected: 'no_stream' });
        expect(retry).toEqual(first);
        expect(await store.readStream(stream)).toHaveLength(2);
      });

      it('recognises a retry at an exact revision even after later appends', async () => {
        const stream = uniqueStream('payment');
        await store.append(stream, [event('A')], { expected: 'no_stream' });
        const batch = [event('B')];
        const first = await store.append(stream, batch, { expected: 0 });
        await store.append(stream, [event('C')], { expected: 1 });
        const retry = await store.append(stream, batch, { expected: 0 });
        expect(retry).toEqual(first);
        expect((await store.readStream(stream)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
      });

      it('recognises a retry with expected any', async () => {
        const stream = uniqueStream('payment');
        const batch = [event('A'), event('B')];
        const first = await store.append(stream, batch, { expected: 'any' });
        const retry = await store.append(stream, batch, { expected: 'any' });
        expect(retry.nextExpectedRevision).toBe(first.nextExpectedRevision);
        expect(await store.readStream(stream)).toHaveLength(2);
      });

      it('stores a batch once when the same append races itself', async () => {
        const stream = uniqueStream('payment');
        const batch = [event('A'), event('B')];
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, () => store.append(stream, batch, { expected: 'no_stream' })),
        );
        expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
        expect(await store.readStream(stream)).toHaveLength(2);
      });

      it('refuses an event id already stored in another stream when the store promises unique ids', async () => {
        if (!harness.refusesIdsReusedAcrossStreams) return;
        const reused = event('A');
        await store.append(uniqueStream('x'), [reused], { expected: 'no_stream' });
        const other = uniqueStream('y');
        await expect(store.append(other, [reused], { expected: 'no_stream' })).rejects.toMatchObject({
          code: 'DUPLICATE_EVENT_ID',
        });
        expect(await store.readStream(other)).toEqual([]);
      });
    });

    describe('reading', () => {
      it('reads a stream backwards, from a revision, and a limited number of events', async () => {
        const stream = uniqueStream('venue');
        await store.append(stream, [...'ABCDEFGHIJKL'].map((t) => event(t)), { expected: 'no_stream' });
        const types = (events: RecordedEvent[]) => events.map((e) => e.type).join('');
        expect(types(await store.readStream(stream))).toBe('ABCDEFGHIJKL');
        expect(types(await store.readStream(stream, { direction: 'backwards' }))).toBe('LKJIHGFEDCBA');
        expect(types(await store.readStream(stream, { fromRevision: 9 }))).toBe('JKL');
        expect(types(await store.readStream(stream, { fromRevision: 2, maxCount: 2 }))).toBe('CD');
        expect(types(await store.readStream(stream, { direction: 'backwards', fromRevision: 3, maxCount: 2 }))).toBe('DC');
      });

      it('wakes a reader waiting for one stream when that stream is appended to', async () => {
        const stream = uniqueStream('payment');
        const woken = store.waitForStream(stream, 60_000);
        await store.append(stream, [event('A')], { expected: 'no_stream' });
        await woken;
        expect(await store.readStream(stream)).toHaveLength(1);
      });

      it('reads a stream that does not exist as empty', async () => {
        expect(await store.readStream(uniqueStream('nothing'))).toEqual([]);
      });

      it('reads $all after a position in increasing position order, page by page', async () => {
        const prefix = `page-${randomUUID()}`;
        const from = await store.headPosition();
        for (let i = 0; i < 5; i++) await store.append(`${prefix}-${i}`, [event('A'), event('B')], { expected: 'no_stream' });
        const seen = await tailAll(store, from, prefix, (s) => s.length >= 10);
        expect(seen).toHaveLength(10);
        expect(seen.map((e) => `${e.streamId}:${e.revision}`)).toEqual(
          Array.from({ length: 10 }, (_, i) => `${prefix}-${Math.floor(i / 2)}:${i % 2}`),
        );
        const head = await store.headPosition();
        expect(head && comparePositions(head, seen[9]!.position)).toBeGreaterThanOrEqual(0);
      });

      it('answers the backlog after a position: the newest event, and when the first one after it was recorded', async () => {
        const prefix = `backlog-${randomUUID()}`;
        await store.append(`${prefix}-a`, [event('A')], { expected: 'no_stream' });
        const [first] = await tailAll(store, null, prefix, (s) => s.length >= 1);
        const before = new Date(first!.recordedAt.getTime() + 1);
        await store.append(`${prefix}-b`, [event('B'), event('C')], { expected: 'no_stream' });
        const seen = await tailAll(store, first!.position, prefix, (s) => s.length >= 2);
        const backlog = await store.backlog(first!.position);
        expect(backlog.head && comparePositions(backlog.head, seen[1]!.position)).toBeGreaterThanOrEqual(0);
        // Other suites may append to this store meanwhile: the oldest after `first` is B or earlier.
        expect(backlog.oldest!.getTime()).toBeLessThanOrEqual(seen[0]!.recordedAt.getTime());
        expect(backlog.oldest!.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1);
        const head = await store.headPosition();
        expect((await store.backlog(head)).head).not.toBeNull();
      });

      it('raises old event shapes through upcasters on every read path', async () => {
        const upcasting = await harness.open({
          upcast: createUpcast([
            {
              eventType: 'PriceSet',
              fromVersion: 1,
              upcast: ({ data }) => ({ data: { cents: Math.round((data as { dollars: number }).dollars * 100) } }),
            },
            { eventType: 'PriceSet', fromVersion: 2, upcast: ({ data }) => ({ type: 'PriceFixed', data }) },
          ]),
        });
        const stream = uniqueStream('price');
        const from = await upcasting.headPosition();
        await upcasting.append(stream, [event('PriceSet', { dollars: 12.5 })], { expected: 'no_stream' });
        const [fromStream] = await upcasting.readStream(stream);
        expect(fromStream).toMatchObject({ type: 'PriceFixed', data: { cents: 1250 }, metadata: { schemaVersion: 3 } });
        const [fromAll] = await tailAll(upcasting, from, stream, (s) => s.length >= 1);
        expect(fromAll).toMatchObject({ type: 'PriceFixed', data: { cents: 1250 } });
        const [raw] = await store.readStream(stream);
        expect(raw).toMatchObject({ type: 'PriceSet', data: { dollars: 12.5 }, metadata: { schemaVersion: 1 } });
      });
    });

    describe('under concurrency', () => {
      it('lets exactly one of two writers expecting the same revision win, every time', async () => {
        for (let round = 0; round < 20; round++) {
          const stream = uniqueStream('race');
          await store.append(stream, [event('Opened')], { expected: 'no_stream' });
          const results = await Promise.allSettled([
            store.append(stream, [event('Left')], { expected: 0 }),
            store.append(stream, [event('Right')], { expected: 0 }),
          ]);
          const won = results.filter((r) => r.status === 'fulfilled');
          const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
          expect(won).toHaveLength(1);
          expect(lost[0]!.reason).toMatchObject({ code: 'WRONG_EXPECTED_VERSION', actual: 1 });
          expect(await store.readStream(stream)).toHaveLength(2);
        }
      });

      it('lets exactly one of many writers create a stream', async () => {
        const stream = uniqueStream('race');
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, () => store.append(stream, [event('Created')], { expected: 'no_stream' })),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        expect(await store.readStream(stream)).toHaveLength(1);
      });

      it('shows a reader tailing $all every event of many concurrent writers exactly once, streams in order', async () => {
        const writer = await harness.open();
        const prefix = `tail-${randomUUID()}`;
        const streams = 150;
        const from = await store.headPosition();
        let committed = 0;
        let writing = true;
        const reader = tailAll(store, from, prefix, (seen) => !writing && seen.length === committed);
        const purchase = async (i: number) => {
          const stream = `${prefix}-${i}`;
          const target = i % 2 === 0 ? store : writer;
          await target.append(stream, [event('Requested'), event('Authorized')], { expected: 'no_stream' });
          committed += 2;
          await target.append(stream, [event('Captured')], { expected: 1 });
          committed += 1;
        };
        const queue = Array.from({ length: streams }, (_, i) => i);
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            for (let i = queue.shift(); i !== undefined; i = queue.shift()) await purchase(i);
          }),
        );
        writing = false;
        const seen = await reader;

        expect(seen).toHaveLength(streams * 3);
        expect(new Set(seen.map((e) => e.id)).size).toBe(streams * 3);
        const revisionsByStream = new Map<string, number[]>();
        for (const e of seen) revisionsByStream.set(e.streamId, [...(revisionsByStream.get(e.streamId) ?? []), e.revision]);
        expect(revisionsByStream.size).toBe(streams);
        for (const revisions of revisionsByStream.values()) expect(revisions).toEqual([0, 1, 2]);
      });
    });

    describe('checkpoints and locks', () => {
      it('moves a checkpoint only from the position it holds', async () => {
        const name = `sub-${randomUUID()}`;
        const a = { commit: 10n, prepare: 10n };
        const b = { commit: 20n, prepare: 20n };
        expect(await store.checkpoints.load(name)).toBeNull();
        await store.checkpoints.store(name, a, null);
        await expect(store.checkpoints.store(name, b, null)).rejects.toBeInstanceOf(CheckpointConflictError);
        await store.checkpoints.store(name, b, a);
        await expect(store.checkpoints.store(name, a, a)).rejects.toBeInstanceOf(CheckpointConflictError);
        expect(await store.checkpoints.load(name)).toEqual(b);
      });

      it('answers many lock requests made at once, one holder per name', async () => {
        const other = await harness.open();
        const names = Array.from({ length: 12 }, () => `lock-${randomUUID()}`);
        const leases = await Promise.all(names.flatMap((name) => [store.locks.tryAcquire(name), other.locks.tryAcquire(name)]));
        for (let i = 0; i < names.length; i++) {
          expect([leases[2 * i], leases[2 * i + 1]].filter((lease) => lease !== null)).toHaveLength(1);
        }
        await Promise.all(leases.map((lease) => (lease ? lease.release() : Promise.resolve())));
      });

      it('gives a subscription lock to one holder at a time, across instances', async () => {
        const other = await harness.open();
        const name = `lock-${randomUUID()}`;
        const lease = await store.locks.tryAcquire(name);
        expect(lease).not.toBeNull();
        expect(await store.locks.tryAcquire(name)).toBeNull();
        expect(await other.locks.tryAcquire(name)).toBeNull();
        await lease!.release();
        const taken = await other.locks.tryAcquire(name);
        expect(taken).not.toBeNull();
        expect(taken!.lost.aborted).toBe(false);
        await taken!.release();
      });
    });

    describe('subscriptions', () => {
      const startAt = async (name: string) => {
        const head = await store.headPosition();
        if (head) await store.checkpoints.store(name, head, null);
      };
      const collector = (target: EventStore, name: string, prefix: string, into: RecordedEvent[]) =>
        startSubscription(
          target,
          checkpointAfter(name, target.checkpoints, async (events) => {
            into.push(...events.filter((e) => e.streamId.startsWith(prefix)));
            return Promise.resolve();
          }),
          { batchSize: 7, idleWaitMs: 25, standbyRetryMs: 25 },
        );

      it('delivers each event once and resumes after a restart from its checkpoint', async () => {
        const name = `sub-${randomUUID()}`;
        const prefix = `subscribed-${randomUUID()}`;
        await startAt(name);
        const handled: RecordedEvent[] = [];
        let subscription: Subscription = collector(store, name, prefix, handled);
        let last: Position | undefined;
        for (let i = 0; i < 10; i++) last = (await store.append(`${prefix}-${i}`, [event('A'), event('B')], { expected: 'no_stream' })).position;
        expect(await subscription.waitFor(last!, 20_000)).toBe(true);
        await subscription.stop();
        expect(handled).toHaveLength(20);

        for (let i = 10; i < 15; i++) last = (await store.append(`${prefix}-${i}`, [event('A')], { expected: 'no_stream' })).position;
        subscription = collector(store, name, prefix, handled);
        expect(await subscription.waitFor(last!, 20_000)).toBe(true);
        await subscription.stop();
        expect(handled).toHaveLength(25);
        expect(new Set(handled.map((e) => e.id)).size).toBe(25);
      });

      it('runs one active consumer per name and hands over when it stops', async () => {
        const other = await harness.open();
        const name = `sub-${randomUUID()}`;
        const prefix = `handover-${randomUUID()}`;
        await startAt(name);
        const byFirst: RecordedEvent[] = [];
        const bySecond: RecordedEvent[] = [];
        const first = collector(store, name, prefix, byFirst);
        await new Promise((resolve) => setTimeout(resolve, 100));
        const second = collector(other, name, prefix, bySecond);

        let last: Position | undefined;
        for (let i = 0; i < 5; i++) last = (await store.append(`${prefix}-${i}`, [event('A')], { expected: 'no_stream' })).position;
        expect(await first.waitFor(last!, 20_000)).toBe(true);
        expect(second.status().state).toBe('standby');
        await first.stop();

        for (let i = 5; i < 10; i++) last = (await store.append(`${prefix}-${i}`, [event('A')], { expected: 'no_stream' })).position;
        expect(await second.waitFor(last!, 20_000)).toBe(true);
        await second.stop();
        expect(byFirst).toHaveLength(5);
        expect(bySecond).toHaveLength(5);
        expect(new Set([...byFirst, ...bySecond].map((e) => e.id)).size).toBe(10);
      });

      it('retries a failing batch until it succeeds, without skipping it', async () => {
        const name = `sub-${randomUUID()}`;
        const prefix = `flaky-${randomUUID()}`;
        await startAt(name);
        const handled: string[] = [];
        let failures = 2;
        const subscription = startSubscription(
          store,
          checkpointAfter(name, store.checkpoints, (events) => {
            const mine = events.filter((e) => e.streamId.startsWith(prefix));
            if (mine.length > 0 && failures-- > 0) return Promise.reject(new Error('minter unreachable'));
            handled.push(...mine.map((e) => e.id));
            return Promise.resolve();
          }),
          { idleWaitMs: 25, retryInitialMs: 10 },
        );
        const appended = event('A');
        const { position } = await store.append(`${prefix}-1`, [appended], { expected: 'no_stream' });
        expect(await subscription.waitFor(position, 20_000)).toBe(true);
        expect(subscription.status()).toMatchObject({ consecutiveFailures: 0, lastError: 'minter unreachable' });
        await subscription.stop();
        expect(handled).toEqual([appended.id]);
      });
    });
  });
}
