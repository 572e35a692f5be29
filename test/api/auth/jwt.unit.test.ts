import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { bearerToken, createJwtVerifier } from '../../../src/api/auth/jwt.js';
import type { TesseraError } from '../../../src/errors.js';

const secret = 'unit-secret-of-at-least-thirty-two-characters';
const sign = (exp: number) =>
  new SignJWT({ role: 'user', tenant_id: 't' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('u')
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));
const failure = async (run: () => Promise<unknown>) => {
  try {
    await run();
    return 'accepted';
  } catch (error) {
    return (error as TesseraError).code;
  }
};

describe('JWT verifier', () => {
  it('keeps refusing a remembered token once it has expired', async () => {
    let now = new Date('2025-01-12T12:00:00Z');
    const verifier = await createJwtVerifier({ secret, now: () => now });
    const token = await sign(Math.floor(now.getTime() / 1000) + 60);
    expect(await verifier.verify(token)).toMatchObject({ userId: 'u' });
    now = new Date('2025-01-12T12:00:59Z');
    expect(await verifier.verify(token)).toMatchObject({ userId: 'u' });
    now = new Date('2025-01-12T12:01:00Z');
    expect(await failure(() => verifier.verify(token))).toBe('TOKEN_EXPIRED');
    expect(await failure(() => verifier.verify(token))).toBe('TOKEN_EXPIRED');
  });

  it('does not remember a token that failed', async () => {
    const verifier = await createJwtVerifier({ secret: 'another-secret-of-at-least-32-characters', now: () => new Date() });
    const token = await sign(Math.floor(Date.now() / 1000) + 60);
    expect(await failure(() => verifier.verify(token))).toBe('INVALID_TOKEN');
    expect(await failure(() => verifier.verify(token))).toBe('INVALID_TOKEN');
  });

  it('reads the token of a Bearer header, whatever the scheme case', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer abc.def.ghi')).toBe('abc.def.ghi');
    for (const header of [undefined, '', 'Bearer', 'Token abc', 'Bearer a b']) {
      expect(() => bearerToken(header)).toThrow(expect.objectContaining({ code: 'AUTH_REQUIRED' }) as Error);
    }
  });
});
