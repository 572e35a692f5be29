import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RateLimitStore } from '../../../src/api/rate-limit/rate-limit-store.js';
import { eventually } from '../../support/poll.js';

export interface OpenedLimits {
  readonly store: RateLimitStore;
  close(): Promise<void>;
}

/** The rate-limit port's contract; the memory and Redis adapters both run it. */
export function rateLimitStoreContract(name: string, open: () => Promise<OpenedLimits>): void {
  describe(`rate-limit store contract: ${name}`, () => {
    let opened: OpenedLimits;
    let store: RateLimitStore;
    beforeAll(async () => {
      opened = await open();
      store = opened.store;
    });
    afterAll(() => opened.close());

    const bucket = (windowMs = 60_000) => ({ key: `k:${randomUUID()}`, max: 3, windowMs });

    it('counts every hit on a bucket within its window', async () => {
      const b = bucket();
      const counts = [];
      for (let i = 0; i < 4; i++) counts.push((await store.hit([b]))[0]!.count);
      expect(counts).toEqual([1, 2, 3, 4]);
    });

    it('counts the buckets of one call separately, answering in the order given', async () => {
      const a = bucket();
      const b = bucket();
      await store.hit([a]);
      const [countA, countB] = await store.hit([a, b]);
      expect([countA!.count, countB!.count]).toEqual([2, 1]);
    });

    it('says how long until the window closes', async () => {
      const [count] = await store.hit([bucket(60_000)]);
      expect(count!.resetInMs).toBeGreaterThan(0);
      expect(count!.resetInMs).toBeLessThanOrEqual(60_000);
    });

    it('starts counting again once the window has closed', async () => {
      const b = bucket(100);
      await store.hit([b]);
      await store.hit([b]);
      const restarted = await eventually(async () => {
        const [count] = await store.hit([b]);
        return count!.count === 1 ? count : undefined;
      });
      expect(restarted.count).toBe(1);
    });

    it('loses no hit under concurrency', async () => {
      const b = bucket();
      const counts = await Promise.all(Array.from({ length: 100 }, () => store.hit([b])));
      expect(counts.map(([count]) => count!.count).sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    });
  });
}
