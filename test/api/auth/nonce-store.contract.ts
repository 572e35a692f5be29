import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NonceStore } from '../../../src/api/auth/nonce-store.js';
import { eventually, sleep } from '../../support/poll.js';

export interface OpenedNonceStore {
  readonly store: NonceStore;
  close(): Promise<void>;
}

const MINUTE = 60_000;

/** The nonce port's contract; every adapter runs it (sql on PGlite and PostgreSQL, redis). */
export function nonceStoreContract(name: string, open: () => Promise<OpenedNonceStore>): void {
  describe(`nonce store contract: ${name}`, () => {
    let opened: OpenedNonceStore;
    let store: NonceStore;
    beforeAll(async () => {
      opened = await open();
      store = opened.store;
    });
    afterAll(() => opened.close());

    const fresh = () => `order-service:${randomUUID()}`;

    it('gives an unused nonce to its first claim', async () => {
      expect(await store.claim(fresh(), MINUTE)).toBe(true);
    });

    it('refuses every later claim of a nonce while it lives', async () => {
      const id = fresh();
      await store.claim(id, MINUTE);
      expect(await store.claim(id, MINUTE)).toBe(false);
      expect(await store.claim(id, MINUTE)).toBe(false);
    });

    it('keeps nonces apart by id, the service included', async () => {
      const nonce = randomUUID();
      expect(await store.claim(`order-service:${nonce}`, MINUTE)).toBe(true);
      expect(await store.claim(`ticket-service:${nonce}`, MINUTE)).toBe(true);
    });

    it('gives a nonce to exactly one of many concurrent claims', async () => {
      const id = fresh();
      const outcomes = await Promise.all(Array.from({ length: 50 }, () => store.claim(id, MINUTE)));
      expect(outcomes.filter(Boolean)).toHaveLength(1);
    });

    it('lets a nonce be claimed again once it has expired', async () => {
      const id = fresh();
      expect(await store.claim(id, 50)).toBe(true);
      expect(await eventually(async () => ((await store.claim(id, MINUTE)) ? true : undefined))).toBe(true);
      expect(await store.claim(id, MINUTE)).toBe(false);
    });

    it('purges expired nonces without forgetting live ones', async () => {
      const expired = fresh();
      const live = fresh();
      await store.claim(expired, 20);
      await store.claim(live, MINUTE);
      await sleep(60);
      await store.purgeExpired();
      expect(await store.claim(live, MINUTE)).toBe(false);
      expect(await store.claim(expired, MINUTE)).toBe(true);
    });
  });
}
