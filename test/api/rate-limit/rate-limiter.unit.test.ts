import { describe, expect, it } from 'vitest';
import { createMemoryRateLimitStore } from '../../../src/api/rate-limit/memory-rate-limit-store.js';
import type { RateLimitStore } from '../../../src/api/rate-limit/rate-limit-store.js';
import { createRateLimiter } from '../../../src/api/rate-limit/rate-limiter.js';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';

const config = loadConfig({ RATE_LIMIT_GLOBAL_MAX: '3', RATE_LIMIT_USER_MAX: '2', RATE_LIMIT_WINDOW_MS: '60000' });
const logger = createLogger({ level: 'silent' });

describe('rate limiter', () => {
  it('reports the bucket closest to its limit while none is exceeded', async () => {
    const limiter = createRateLimiter(createMemoryRateLimitStore(), config, logger);
    const verdict = await limiter.check({ ip: '1.1.1.1', caller: 't:u', perAddress: true });
    expect(verdict).toMatchObject({ limit: 2, remaining: 1 });
    expect(verdict?.refusedBy).toBeUndefined();
  });

  it('names the level that refused', async () => {
    const limiter = createRateLimiter(createMemoryRateLimitStore(), config, logger);
    const call = { ip: '1.1.1.1', caller: 't:u', perAddress: true, route: { id: 'POST /x', max: 10 } };
    await limiter.check(call);
    await limiter.check(call);
    expect(await limiter.check(call)).toMatchObject({ refusedBy: 'user', remaining: 0, limit: 2 });
  });

  it('keeps internal services out of the address and user buckets', async () => {
    const limiter = createRateLimiter(createMemoryRateLimitStore(), config, logger);
    const call = { ip: '1.1.1.1', caller: 'service:order-service', perAddress: false };
    for (let i = 0; i < 5; i++) expect(await limiter.check(call)).toBeUndefined();
  });

  it('lets requests through while its store is down', async () => {
    const broken: RateLimitStore = { kind: 'redis', hit: () => Promise.reject(new Error('ECONNREFUSED')) };
    const limiter = createRateLimiter(broken, config, logger);
    expect(await limiter.check({ ip: '1.1.1.1', perAddress: true })).toBeUndefined();
  });
});
