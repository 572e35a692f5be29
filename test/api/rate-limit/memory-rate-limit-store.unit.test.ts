import { describe, expect, it } from 'vitest';
import { createMemoryRateLimitStore } from '../../../src/api/rate-limit/memory-rate-limit-store.js';
import { rateLimitStoreContract } from './rate-limit-store.contract.js';

rateLimitStoreContract('memory', () => Promise.resolve({ store: createMemoryRateLimitStore(), close: () => Promise.resolve() }));

describe('memory rate-limit store', () => {
  it('opens a window at the first hit and closes it exactly windowMs later', async () => {
    let now = 1_000;
    const store = createMemoryRateLimitStore(() => now);
    const bucket = { key: 'k', max: 1, windowMs: 500 };
    expect(await store.hit([bucket])).toEqual([{ count: 1, resetInMs: 500 }]);
    now = 1_499;
    expect(await store.hit([bucket])).toEqual([{ count: 2, resetInMs: 1 }]);
    now = 1_500;
    expect(await store.hit([bucket])).toEqual([{ count: 1, resetInMs: 500 }]);
  });
});
