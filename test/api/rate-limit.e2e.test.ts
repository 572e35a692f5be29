import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RouteModule } from '../../src/api/route.js';
import type { ErrorBody } from '../../src/api/schemas.js';
import { bearer, testApp, type Backend, type TestApp } from '../support/app.js';

const limitedRoutes: RouteModule = {
  name: 'test-limits',
  register(api) {
    const ok = z.object({ ok: z.boolean() });
    api.route({ method: 'GET', url: '/test/open', summary: 'public', auth: 'public', response: ok, handler: () => ({ ok: true }) });
    api.route({ method: 'GET', url: '/test/mine', summary: 'per user', auth: 'user', response: ok, handler: () => ({ ok: true }) });
    api.route({
      method: 'GET',
      url: '/test/scarce',
      summary: 'one per window',
      auth: 'user',
      rateLimit: { max: 1 },
      response: ok,
      handler: () => ({ ok: true }),
    });
    api.route({
      method: 'POST',
      url: '/test/commands',
      summary: 'a command with the default route limit',
      auth: 'user',
      idempotent: true,
      response: ok,
      handler: () => ({ ok: true }),
    });
  },
};

const backends: Backend[] = ['pglite', ...(process.env.REDIS_URL ? (['redis'] as const) : [])];

describe.each(backends)('rate limits (%s)', (backend) => {
  const apps: TestApp[] = [];
  afterAll(() => Promise.all(apps.map((app) => app.close())));
  const open = async (env: Record<string, string>) => {
    const t = await testApp({ backend, extraRoutes: [limitedRoutes], env });
    apps.push(t);
    return t;
  };
  const get = (t: TestApp, url: string, headers: Record<string, string> = {}, ip = '10.0.0.1') =>
    t.app.inject({ method: 'GET', url, headers, remoteAddress: ip });

  // One app holds the address and route limits; each test uses addresses and users of its own.
  let t: TestApp;
  beforeAll(async () => {
    t = await open({ RATE_LIMIT_GLOBAL_MAX: '3', RATE_LIMIT_ROUTE_MAX: '2' });
  });

  describe('per client address (global)', () => {
    it('refuses the request past the limit with 429 and when to retry', async () => {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await get(t, '/test/open', {}, '10.0.0.1')).statusCode);
      const refused = await get(t, '/test/open', {}, '10.0.0.1');
      expect(statuses).toEqual([200, 200, 200]);
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({ code: 'RATE_LIMIT_EXCEEDED', path: '/test/open' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.headers['x-ratelimit-remaining']).toBe('0');
      const metrics = await get(t, '/metrics', {}, '10.9.9.9');
      expect(metrics.body).toMatch(/http_rate_limit_refusals_total\{level="global"\} [1-9]/);
    });

    it('counts each address on its own', async () => {
      expect((await get(t, '/test/open', {}, '10.0.0.2')).statusCode).toBe(200);
    });

    it('counts unknown routes too, so URLs cannot be probed freely', async () => {
      for (let i = 0; i < 3; i++) await get(t, '/nowhere', {}, '10.0.0.3');
      expect((await get(t, '/nowhere', {}, '10.0.0.3')).statusCode).toBe(429);
    });

    it('counts failed logins against the address', async () => {
      for (let i = 0; i < 3; i++) {
        expect((await get(t, '/test/mine', { authorization: 'Bearer nope' }, '10.0.0.4')).statusCode).toBe(401);
      }
      expect((await get(t, '/test/mine', { authorization: 'Bearer nope' }, '10.0.0.4')).statusCode).toBe(429);
    });

    it('counts forged service signatures against the address', async () => {
      const forged = {
        'content-type': 'application/json',
        'x-internal-service': 'ticket-service',
        'x-internal-timestamp': String(Math.floor(Date.now() / 1000)),
        'x-internal-nonce': randomUUID().replaceAll('-', ''),
        'x-internal-signature': 'ab'.repeat(32),
      };
      const call = () => t.app.inject({ method: 'POST', url: '/internal/calculate-tax', headers: forged, payload: '{}', remoteAddress: '10.0.0.6' });
      for (let i = 0; i < 3; i++) expect((await call()).statusCode).toBe(401);
      expect((await call()).statusCode).toBe(429);
    });

    it('never limits the health probes or the metrics scrape', async () => {
      for (let i = 0; i < 6; i++) {
        expect((await get(t, '/health', {}, '10.0.0.5')).statusCode).toBe(200);
        expect((await get(t, '/metrics', {}, '10.0.0.5')).statusCode).toBe(200);
      }
    });
  });

  describe('per user', () => {
    let users: TestApp;
    beforeAll(async () => {
      users = await open({ RATE_LIMIT_USER_MAX: '2' });
    });

    it('limits one user across addresses without touching another user', async () => {
      const alice = await bearer({ sub: 'alice' });
      expect((await get(users, '/test/mine', alice, '10.1.0.1')).statusCode).toBe(200);
      expect((await get(users, '/test/mine', alice, '10.1.0.2')).statusCode).toBe(200);
      const refused = await get(users, '/test/mine', alice, '10.1.0.3');
      expect(refused.statusCode).toBe(429);
      expect(refused.json<ErrorBody>().error).toContain('user');
      expect((await get(users, '/test/mine', await bearer({ sub: 'bob' }), '10.1.0.3')).statusCode).toBe(200);
    });
  });

  describe('per route', () => {
    it("applies a route's own limit to each caller", async () => {
      const carol = await bearer({ sub: 'carol' });
      expect((await get(t, '/test/scarce', carol, '10.2.0.1')).statusCode).toBe(200);
      expect((await get(t, '/test/scarce', carol, '10.2.0.2')).statusCode).toBe(429);
      expect((await get(t, '/test/mine', carol, '10.2.0.3')).statusCode).toBe(200);
      expect((await get(t, '/test/scarce', await bearer({ sub: 'dave' }), '10.2.0.4')).statusCode).toBe(200);
    });

    it('gives command routes RATE_LIMIT_ROUTE_MAX by default', async () => {
      const erin = await bearer({ sub: 'erin' });
      const post = () =>
        t.app.inject({ method: 'POST', url: '/test/commands', headers: { ...erin, 'idempotency-key': randomUUID() }, remoteAddress: '10.3.0.1' });
      expect([(await post()).statusCode, (await post()).statusCode]).toEqual([200, 200]);
      const refused = await post();
      expect(refused.statusCode).toBe(429);
      expect(refused.json<ErrorBody>().error).toContain('route');
    });
  });
});
