import { Writable } from 'node:stream';
import { exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DEV_TENANT_ID, DEV_USERS, DEV_VENUE_ID } from '../../src/api/auth/dev-credentials.js';
import type { RouteModule } from '../../src/api/route.js';
import { bearer, signToken, testApp, TEST_JWT_SECRET, type TestApp } from '../support/app.js';

const adminOnly: RouteModule = {
  name: 'test-admin',
  register(api) {
    api.route({
      method: 'GET',
      url: '/test/admin',
      summary: 'admins only',
      auth: { roles: ['admin'] },
      response: z.object({ ok: z.boolean() }),
      handler: () => ({ ok: true }),
    });
  },
};

const me = (t: TestApp, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url: '/api/v1/me', headers });

describe('bearer authentication (HS256)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await testApp({ extraRoutes: [adminOnly] });
  });
  afterAll(() => t.close());

  it('hands the handler the principal from a valid token', async () => {
    const response = await me(t, await bearer({ sub: 'u-7', role: 'venue_manager', venues: ['v-1', 'v-2'], tenantId: 't-9' }));
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ userId: 'u-7', role: 'venue_manager', venues: ['v-1', 'v-2'], tenantId: 't-9' });
  });

  it('answers a request without a token with 401 AUTH_REQUIRED', async () => {
    const response = await me(t);
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'AUTH_REQUIRED' });
    expect(response.headers['www-authenticate']).toBe('Bearer');
  });

  it('answers another authorization scheme with 401 AUTH_REQUIRED', async () => {
    const response = await me(t, { authorization: 'Basic dXNlcjpwYXNz' });
    expect(response.json()).toMatchObject({ code: 'AUTH_REQUIRED' });
  });

  it('answers an expired token with 401 TOKEN_EXPIRED', async () => {
    const response = await me(t, await bearer({ expiresIn: -60 }));
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'TOKEN_EXPIRED' });
  });

  it('answers a token signed with another secret with 401 INVALID_TOKEN', async () => {
    const response = await me(t, await bearer({ secret: 'another-secret-of-at-least-thirty-two-chars' }));
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'INVALID_TOKEN' });
  });

  it('answers a tampered token with 401 INVALID_TOKEN', async () => {
    const [header, payload, signature] = (await signToken({ role: 'user' })).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const forged = Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url');
    const response = await me(t, { authorization: `Bearer ${header}.${forged}.${signature}` });
    expect(response.json()).toMatchObject({ code: 'INVALID_TOKEN' });
  });

  it('refuses an unsigned token (alg none)', async () => {
    const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: 'u', role: 'admin', tenant_id: 't', exp: now + 60 })}.`;
    expect((await me(t, { authorization: `Bearer ${unsigned}` })).json()).toMatchObject({ code: 'INVALID_TOKEN' });
  });

  it('answers garbage with 401 INVALID_TOKEN', async () => {
    expect((await me(t, { authorization: 'Bearer abc.def.ghi' })).json()).toMatchObject({ code: 'INVALID_TOKEN' });
  });

  it.each([
    ['an unknown role', { role: 'superuser' }],
    ['no tenant', { tenant_id: undefined }],
    ['venues that are not a list', { venues: 'v-1' }],
  ])('refuses a token with %s', async (_name, claims) => {
    const response = await me(t, await bearer({ claims }));
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'INVALID_TOKEN' });
  });

  it('refuses a token without an expiry', async () => {
    const token = await new SignJWT({ role: 'user', tenant_id: 't' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u')
      .sign(new TextEncoder().encode(TEST_JWT_SECRET));
    expect((await me(t, { authorization: `Bearer ${token}` })).json()).toMatchObject({ code: 'INVALID_TOKEN' });
  });

  it('answers a role the route does not allow with 403 FORBIDDEN', async () => {
    const refused = await t.app.inject({ method: 'GET', url: '/test/admin', headers: await bearer({ role: 'venue_manager' }) });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'FORBIDDEN' });
    const allowed = await t.app.inject({ method: 'GET', url: '/test/admin', headers: await bearer({ role: 'admin' }) });
    expect(allowed.statusCode).toBe(200);
  });
});

describe('bearer authentication (RS256 with issuer and audience)', () => {
  let t: TestApp;
  let privateKey: CryptoKey;
  let publicKeyPem: string;
  const sign = (options: { alg?: string; key?: CryptoKey | Uint8Array; issuer?: string; audience?: string } = {}) =>
    new SignJWT({ role: 'admin', tenant_id: 't-1' })
      .setProtectedHeader({ alg: options.alg ?? 'RS256' })
      .setSubject('a-1')
      .setIssuer(options.issuer ?? 'https://auth.tickettoken.test')
      .setAudience(options.audience ?? 'tessera')
      .setExpirationTime('5m')
      .sign(options.key ?? privateKey);

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256', { extractable: true });
    privateKey = pair.privateKey;
    publicKeyPem = await exportSPKI(pair.publicKey);
    t = await testApp({
      env: {
        JWT_SECRET: '',
        // As it often arrives in an environment variable: newlines escaped.
        JWT_PUBLIC_KEY: publicKeyPem.replaceAll('\n', '\\n'),
        JWT_ISSUER: 'https://auth.tickettoken.test',
        JWT_AUDIENCE: 'tessera',
      },
    });
  });
  afterAll(() => t.close());

  it('accepts a token signed with the private key', async () => {
    const response = await me(t, { authorization: `Bearer ${await sign()}` });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ userId: 'a-1', role: 'admin' });
  });

  it('refuses a token from another issuer or for another audience', async () => {
    for (const token of [await sign({ issuer: 'https://evil.test' }), await sign({ audience: 'other-service' })]) {
      expect((await me(t, { authorization: `Bearer ${token}` })).json()).toMatchObject({ code: 'INVALID_TOKEN' });
    }
  });

  it('refuses an HS256 token keyed with the public key (algorithm confusion)', async () => {
    const token = await sign({ alg: 'HS256', key: new TextEncoder().encode(publicKeyPem) });
    expect((await me(t, { authorization: `Bearer ${token}` })).json()).toMatchObject({ code: 'INVALID_TOKEN' });
  });

  it('refuses an HS256 token when only a public key is configured', async () => {
    expect((await me(t, await bearer())).json()).toMatchObject({ code: 'INVALID_TOKEN' });
  });
});

describe('development credentials', () => {
  let t: TestApp;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    t = await testApp({ env: { JWT_SECRET: '', NODE_ENV: 'development' }, logger: pino({ level: 'info' }, sink) });
  });
  afterAll(() => t.close());

  const logged = () => lines.find((line) => line.devTokens !== undefined) as { devTokens: Record<string, string>; expiresAt: string };

  it('logs a ready-to-use token per role when no key is configured', async () => {
    const { devTokens } = logged();
    expect(Object.keys(devTokens).sort()).toEqual(['admin', 'user', 'venue_manager']);
    for (const role of ['admin', 'user', 'venue_manager'] as const) {
      const response = await me(t, { authorization: `Bearer ${devTokens[role]}` });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({
        userId: DEV_USERS[role],
        role,
        venues: role === 'venue_manager' ? [DEV_VENUE_ID] : [],
        tenantId: DEV_TENANT_ID,
      });
    }
  });

  it('makes the logged tokens expire after 24 hours', () => {
    const { devTokens, expiresAt } = logged();
    const claims = JSON.parse(Buffer.from(devTokens.admin!.split('.')[1]!, 'base64url').toString()) as { iat: number; exp: number };
    expect(claims.exp - claims.iat).toBe(24 * 60 * 60);
    expect(new Date(expiresAt).getTime()).toBe(claims.exp * 1000);
  });

  it('does not accept tokens signed with any other key', async () => {
    expect((await me(t, await bearer())).json()).toMatchObject({ code: 'INVALID_TOKEN' });
  });
});
