import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClaimOutcome, ClaimRequest, IdempotencyStore, StoredResponse } from '../../../src/api/idempotency/idempotency-store.js';
import { eventually, sleep } from '../../support/poll.js';

export interface OpenedStore {
  readonly store: IdempotencyStore;
  close(): Promise<void>;
}

const HOUR = 60 * 60 * 1000;
const created: StoredResponse = { status: 201, contentType: 'application/json; charset=utf-8', body: '{"id":"p-1"}' };

/** The idempotency port's contract; every adapter runs it (sql on PGlite and PostgreSQL, redis). */
export function idempotencyStoreContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`idempotency store contract: ${name}`, () => {
    let opened: OpenedStore;
    let store: IdempotencyStore;
    beforeAll(async () => {
      opened = await open();
      store = opened.store;
    });
    afterAll(() => opened.close());

    const request = (overrides: Partial<ClaimRequest> = {}): ClaimRequest => ({
      id: `tenant:user:${randomUUID()}`,
      fingerprint: 'fp-a',
      lease: randomUUID(),
      leaseMs: 30_000,
      ttlMs: HOUR,
      ...overrides,
    });
    const acquire = async (claim: ClaimRequest) => {
      const outcome = await store.claim(claim);
      expect(outcome).toMatchObject({ kind: 'acquired' });
      return claim;
    };

    it('gives an unused key to its first claim as attempt 1', async () => {
      const claim = request();
      expect(await store.claim(claim)).toEqual({ kind: 'acquired', lease: claim.lease, attempt: 1 });
    });

    it('answers in progress to a second claim while the first holds its lease', async () => {
      const first = await acquire(request());
      expect(await store.claim({ ...first, lease: randomUUID() })).toEqual({ kind: 'in_progress' });
    });

    it('replays the stored response to a claim with the same fingerprint', async () => {
      const first = await acquire(request());
      expect(await store.complete(first.id, first.lease, created, HOUR)).toBe(true);
      expect(await store.claim({ ...first, lease: randomUUID() })).toEqual({ kind: 'replay', response: created });
    });

    it('refuses a different fingerprint, while running and once completed', async () => {
      const first = await acquire(request());
      expect(await store.claim({ ...first, lease: randomUUID(), fingerprint: 'fp-b' })).toEqual({ kind: 'mismatch' });
      await store.complete(first.id, first.lease, created, HOUR);
      expect(await store.claim({ ...first, lease: randomUUID(), fingerprint: 'fp-b' })).toEqual({ kind: 'mismatch' });
    });

    it('forgets a released key, so the next claim starts afresh', async () => {
      const first = await acquire(request());
      expect(await store.release(first.id, first.lease)).toBe(true);
      const retry = { ...first, lease: randomUUID(), fingerprint: 'fp-b' };
      expect(await store.claim(retry)).toEqual({ kind: 'acquired', lease: retry.lease, attempt: 1 });
    });

    it('lets a retry of the same request take over once the lease runs out, counting the attempt', async () => {
      const first = await acquire(request({ leaseMs: 100 }));
      const retry = { ...first, lease: randomUUID() };
      const outcome = await eventually(async () => {
        const claimed = await store.claim(retry);
        return claimed.kind === 'in_progress' ? undefined : claimed;
      });
      expect(outcome).toEqual({ kind: 'acquired', lease: retry.lease, attempt: 2 });
    });

    it('still refuses a different request after the lease runs out', async () => {
      const first = await acquire(request({ leaseMs: 50 }));
      await sleep(150);
      expect(await store.claim({ ...first, lease: randomUUID(), fingerprint: 'fp-b' })).toEqual({ kind: 'mismatch' });
    });

    it('fences off the holder whose lease was taken over', async () => {
      const first = await acquire(request({ leaseMs: 50 }));
      const retry = { ...first, lease: randomUUID() };
      await eventually(async () => ((await store.claim(retry)).kind === 'acquired' ? true : undefined));
      expect(await store.renew(first.id, first.lease, 30_000)).toBe(false);
      expect(await store.complete(first.id, first.lease, created, HOUR)).toBe(false);
      expect(await store.release(first.id, first.lease)).toBe(false);
      expect(await store.complete(retry.id, retry.lease, created, HOUR)).toBe(true);
      expect(await store.claim({ ...first, lease: randomUUID() })).toEqual({ kind: 'replay', response: created });
    });

    it('keeps a renewed lease past its first term', async () => {
      const first = await acquire(request({ leaseMs: 150 }));
      expect(await store.renew(first.id, first.lease, 60_000)).toBe(true);
      await sleep(300);
      expect(await store.claim({ ...first, lease: randomUUID() })).toEqual({ kind: 'in_progress' });
    });

    it('accepts renew, complete and release only from the lease holder', async () => {
      const first = await acquire(request());
      const stranger = randomUUID();
      expect(await store.renew(first.id, stranger, 30_000)).toBe(false);
      expect(await store.complete(first.id, stranger, created, HOUR)).toBe(false);
      expect(await store.release(first.id, stranger)).toBe(false);
      expect(await store.claim({ ...first, lease: randomUUID() })).toEqual({ kind: 'in_progress' });
    });

    it('does not complete or release a key twice', async () => {
      const first = await acquire(request());
      expect(await store.complete(first.id, first.lease, created, HOUR)).toBe(true);
      expect(await store.complete(first.id, first.lease, { ...created, body: '{}' }, HOUR)).toBe(false);
      expect(await store.release(first.id, first.lease)).toBe(false);
      expect(await store.claim({ ...first, lease: randomUUID() })).toEqual({ kind: 'replay', response: created });
    });

    it('forgets a completed key after its time to live', async () => {
      const first = await acquire(request());
      await store.complete(first.id, first.lease, created, 50);
      const retry = { ...first, lease: randomUUID(), fingerprint: 'fp-b' };
      const outcome = await eventually(async () => {
        const claimed = await store.claim(retry);
        return claimed.kind === 'mismatch' ? undefined : claimed;
      });
      expect(outcome).toEqual({ kind: 'acquired', lease: retry.lease, attempt: 1 });
    });

    it('purges expired records without touching live ones', async () => {
      const expired = await acquire(request());
      await store.complete(expired.id, expired.lease, created, 20);
      const live = await acquire(request());
      await store.complete(live.id, live.lease, created, HOUR);
      await sleep(60);
      await store.purgeExpired();
      expect(await store.claim({ ...live, lease: randomUUID() })).toEqual({ kind: 'replay', response: created });
      expect(await store.claim({ ...expired, lease: randomUUID() })).toMatchObject({ kind: 'acquired', attempt: 1 });
    });

    it('keeps keys apart by id', async () => {
      const first = await acquire(request());
      const other = request({ id: `${first.id}-other` });
      expect(await store.claim(other)).toMatchObject({ kind: 'acquired', attempt: 1 });
    });

    it('stores a body byte for byte', async () => {
      const first = await acquire(request());
      const body = JSON.stringify({ note: 'ünïcödé ✓ "quoted" \\ back', amount: 10_050 });
      const response = { status: 422, contentType: 'application/json; charset=utf-8', body };
      await store.complete(first.id, first.lease, response, HOUR);
      expect(await store.claim({ ...first, lease: randomUUID() })).toEqual({ kind: 'replay', response });
    });

    it('gives a key to exactly one of many concurrent claims', async () => {
      const id = `tenant:user:${randomUUID()}`;
      const outcomes: ClaimOutcome[] = await Promise.all(
        Array.from({ length: 50 }, () => store.claim(request({ id }))),
      );
      expect(outcomes.filter((outcome) => outcome.kind === 'acquired')).toHaveLength(1);
      expect(outcomes.filter((outcome) => outcome.kind === 'in_progress')).toHaveLength(49);
    });
  });
}
