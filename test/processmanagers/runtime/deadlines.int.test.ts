import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeadlines, type DeadlineHandler } from '../../../src/processmanagers/runtime/deadlines.js';
import { sqlParking } from '../../../src/processmanagers/runtime/parking.js';
import { backends, type Backend } from '../../support/backends.js';
import { PermanentFailure } from '../../../src/errors.js';

const retry = { maxAttempts: 3, initialMs: 1_000, maxMs: 10_000 };

for (const backend of backends()) {
  describe(`durable deadlines on ${backend.name}`, () => {
    let db: Backend;
    let now = new Date('2026-03-01T00:00:00Z');
    const clock = () => now;
    const fired: string[] = [];
    let failuresLeft = 0;
    const handlers: Record<string, DeadlineHandler> = {
      note: (deadline) => {
        fired.push(deadline.id);
        return Promise.resolve();
      },
      flaky: (deadline) => {
        if (failuresLeft > 0) {
          failuresLeft--;
          return Promise.reject(new Error('downstream unavailable'));
        }
        fired.push(deadline.id);
        return Promise.resolve();
      },
      refused: () => Promise.reject(new PermanentFailure('cannot ever work')),
    };
    const open = () => createDeadlines(db.sql, { handlers, clock, retry, parking: sqlParking(db.sql) });

    beforeAll(async () => {
      db = await backend.open();
    });
    afterAll(async () => {
      await db.close();
    });

    it('fires a deadline once when it is due, not before, and not again', async () => {
      const deadlines = open();
      await deadlines.schedule({ id: 'a', kind: 'note', dueAt: new Date('2026-03-01T00:10:00Z'), payload: {} });
      await deadlines.schedule({ id: 'a', kind: 'note', dueAt: new Date('2026-03-01T00:00:00Z'), payload: {} });
      expect(await deadlines.pollOnce()).toBe(0);
      now = new Date('2026-03-01T00:10:00Z');
      expect(await deadlines.pollOnce()).toBe(1);
      expect(await deadlines.pollOnce()).toBe(0);
      expect(fired.filter((id) => id === 'a')).toHaveLength(1);
      expect((await deadlines.find('a'))?.firedAt).toEqual(now);
    });

    it('lets a poller whose claim ran out while its handler was stuck change nothing, and the new holder fire it', async () => {
      let release!: () => void;
      const stuck = new Promise<void>((resolve) => (release = resolve));
      const slow = createDeadlines(db.sql, {
        handlers: { note: () => stuck },
        clock,
        retry,
        parking: sqlParking(db.sql),
        // Renewed every third of a lease: an hour, so the test clock runs past it first.
        leaseMs: 3_600_000 * 3,
      });
      await slow.schedule({ id: 'stale', kind: 'note', dueAt: now, payload: {} });
      const stalled = slow.pollOnce();
      await expect.poll(async () => (await slow.find('stale'))?.attempts).toBe(1);
      // The lease runs out (the poller stalled); another poller takes the deadline and fires it.
      now = new Date(now.getTime() + 3_600_000 * 3 + 1);
      expect(await open().pollOnce()).toBe(1);
      const afterTakeover = await slow.find('stale');
      expect(afterTakeover?.firedAt).toEqual(now);
      release();
      await stalled;
      // The first poller's late answer did not touch the row its claim no longer covers.
      expect(await slow.find('stale')).toEqual(afterTakeover);
    });

    it('survives a restart: a deadline scheduled by one poller is fired by the next', async () => {
      await open().schedule({ id: 'b', kind: 'note', dueAt: now, payload: { x: 1 } });
      expect(await open().pollOnce()).toBe(1);
      expect(fired).toContain('b');
    });

    it('lets concurrent pollers fire each deadline exactly once', async () => {
      for (let i = 0; i < 20; i++) await open().schedule({ id: `c${i}`, kind: 'note', dueAt: now, payload: {} });
      const pollers = [open(), open(), open()];
      await Promise.all(pollers.map((p) => p.pollOnce()));
      const cs = fired.filter((id) => id.startsWith('c'));
      expect(cs).toHaveLength(20);
      expect(new Set(cs).size).toBe(20);
    });

    it('claims a row again once the claim of a poller that died has run out', async () => {
      await db.sql.query(`INSERT INTO tessera_deadlines (id, kind, due_at, payload, claimed_until, attempts) VALUES ('d', 'note', $1, '{}', $2, 1)`, [
        now,
        new Date(now.getTime() + 60_000),
      ]);
      expect(await open().pollOnce()).toBe(0);
      now = new Date(now.getTime() + 61_000);
      expect(await open().pollOnce()).toBe(1);
      expect(fired).toContain('d');
    });

    it('retries a failing handler with backoff, then parks it, and fires it when retried from parking', async () => {
      const deadlines = open();
      failuresLeft = 3;
      await deadlines.schedule({ id: 'e', kind: 'flaky', dueAt: now, payload: {} });
      expect(await deadlines.pollOnce()).toBe(1);
      expect(await deadlines.pollOnce()).toBe(0);
      now = new Date(now.getTime() + 1_000);
      await deadlines.pollOnce();
      now = new Date(now.getTime() + 2_000);
      await deadlines.pollOnce();
      const parked = await deadlines.find('e');
      expect(parked).toMatchObject({ attempts: 3, firedAt: null, lastError: 'Error: downstream unavailable' });
      expect(parked?.parkedAt).not.toBeNull();
      expect((await sqlParking(db.sql).get('deadline:e'))?.source).toBe('deadline');
      await deadlines.retryParked('e');
      expect(fired).toContain('e');
      expect((await deadlines.find('e'))?.parkedAt).toBeNull();
    });

    it('parks at once a handler that can never succeed', async () => {
      const deadlines = open();
      await deadlines.schedule({ id: 'f', kind: 'refused', dueAt: now, payload: {} });
      await deadlines.pollOnce();
      expect(await deadlines.find('f')).toMatchObject({ attempts: 1, lastError: 'PermanentFailure: cannot ever work' });
      await expect(deadlines.retryParked('f')).rejects.toThrow('cannot ever work');
    });

    it('cancels a deadline that has not fired', async () => {
      const deadlines = open();
      await deadlines.schedule({ id: 'g', kind: 'note', dueAt: new Date(now.getTime() + 5_000), payload: {} });
      expect(await deadlines.cancel('g')).toBe(true);
      expect(await deadlines.find('g')).toBeUndefined();
    });
  });
}
