import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  ACCESS_TOKEN_SCOPE,
  MAX_ACCESS_TOKEN_LENGTH,
  admissionsNow,
  buyerKeyOf,
  buyerOfKey,
  claimsMismatch,
  drawKeyOf,
  estimatedWaitSeconds,
  queueOrderKey,
  readAccessToken,
  refillBudget,
  releaseBurst,
  roomIdOf,
  signAccessToken,
  type AccessClaims,
  type AdmissionRules,
  type ReleaseBudget,
} from '../../src/domain/waiting-room.js';

const SECRET = 'waiting-room-secret-of-32-characters!!';
const T0 = Date.parse('2031-03-01T10:00:00.000Z');
const room = { tenantId: 'tenant-1', venueId: 'venue-1', eventId: 'event-1' };
const claims = (overrides: Partial<AccessClaims> = {}): AccessClaims => ({
  jti: '0123456789abcdef0123456789abcdef',
  userId: 'user-1',
  ...room,
  queueId: roomIdOf(room),
  scope: ACCESS_TOKEN_SCOPE,
  iat: T0 / 1000,
  exp: T0 / 1000 + 600,
  ...overrides,
});
const rules = (overrides: Partial<AdmissionRules> = {}): AdmissionRules => ({ capacity: 100, releaseRate: 60, order: 'first_come', ...overrides });
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('the release budget', () => {
  it('starts full with five seconds of the release rate, at least one buyer', () => {
    expect(releaseBurst(60)).toBe(5);
    expect(releaseBurst(1)).toBe(1);
    expect(releaseBurst(6_000)).toBe(500);
    expect(refillBudget(undefined, 60, T0)).toEqual({ tokens: 5, at: T0 });
  });

  it('refills at the release rate and never beyond the burst', () => {
    expect(refillBudget({ tokens: 0, at: T0 }, 60, T0 + 2_000)).toEqual({ tokens: 2, at: T0 + 2_000 });
    expect(refillBudget({ tokens: 0, at: T0 }, 60, T0 + 3_600_000)).toEqual({ tokens: 5, at: T0 + 3_600_000 });
  });

  it('adds nothing for a clock behind the last spend, and keeps the later time', () => {
    expect(refillBudget({ tokens: 1, at: T0 }, 60, T0 - 10_000)).toEqual({ tokens: 1, at: T0 });
  });
});

describe('admissions', () => {
  it('admit no more than the budget, the free places and the queue', () => {
    expect(admissionsNow(rules(), { budget: undefined, active: 0, waiting: 100 }, T0).count).toBe(5);
    expect(admissionsNow(rules({ capacity: 3 }), { budget: undefined, active: 1, waiting: 100 }, T0).count).toBe(2);
    expect(admissionsNow(rules(), { budget: undefined, active: 0, waiting: 2 }, T0)).toEqual({ count: 2, budget: { tokens: 3, at: T0 } });
    expect(admissionsNow(rules({ capacity: 3 }), { budget: undefined, active: 5, waiting: 2 }, T0).count).toBe(0);
  });

  it('admit nobody before the sale opens, with the budget full when it does', () => {
    const before = admissionsNow(rules({ opensAt: T0 + 1 }), { budget: undefined, active: 0, waiting: 10 }, T0);
    expect(before.count).toBe(0);
    expect(admissionsNow(rules({ opensAt: T0 + 1 }), { budget: before.budget, active: 0, waiting: 10 }, T0 + 1).count).toBe(5);
  });

  it('never admit more than the burst plus the rate over any run of ticks, whatever their times', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        fc.array(fc.integer({ min: 0, max: 120_000 }), { minLength: 1, maxLength: 60 }),
        (releaseRate, offsets) => {
          let budget: ReleaseBudget | undefined;
          let admitted = 0;
          for (const offset of offsets) {
            const next = admissionsNow(rules({ releaseRate, capacity: 1e9 }), { budget, active: 0, waiting: 1e9 }, T0 + offset);
            admitted += next.count;
            budget = next.budget;
          }
          const span = Math.max(...offsets) - offsets[0]!;
          expect(admitted).toBeLessThanOrEqual(releaseBurst(releaseRate) + (Math.max(0, span) * releaseRate) / 60_000 + 1e-9);
        },
      ),
    );
  });
});

describe('the queue', () => {
  it('estimates the wait from the place and the rate, plus the time until the sale opens', () => {
    expect(estimatedWaitSeconds(1, { releaseRate: 60 }, T0)).toBe(0);
    expect(estimatedWaitSeconds(121, { releaseRate: 60 }, T0)).toBe(120);
    expect(estimatedWaitSeconds(11, { releaseRate: 60, opensAt: T0 + 30_000 }, T0)).toBe(40);
  });

  it("orders a draw's early joiners before everyone who joins after the sale opens, and first come by sequence", () => {
    const draw = { order: 'draw' as const, opensAt: T0 };
    expect(queueOrderKey(draw, 7, 0.99, T0 - 1)).toBeLessThan(queueOrderKey(draw, 1, 0, T0));
    expect(queueOrderKey(draw, 7, 0.25, T0 - 1)).toBe(-0.75);
    expect(queueOrderKey({ order: 'first_come', opensAt: T0 }, 7, 0.5, T0 - 1)).toBe(7);
  });

  it("draws the same key for a buyer in a room every time, another for another room, tenant, user or secret", () => {
    const fan = { tenantId: 'tenant-1', userId: 'user-1' };
    const key = drawKeyOf(SECRET, room, fan);
    expect(drawKeyOf(SECRET, { venueId: room.venueId, eventId: room.eventId }, { ...fan })).toBe(key);
    const others = [
      drawKeyOf(SECRET, { ...room, eventId: 'event-2' }, fan),
      drawKeyOf(SECRET, room, { ...fan, tenantId: 'tenant-2' }),
      drawKeyOf(SECRET, room, { ...fan, userId: 'user-2' }),
      drawKeyOf(`${SECRET}-rotated`, room, fan),
    ];
    expect(new Set([key, ...others]).size).toBe(5);
  });

  it('draws keys in [0, 1), spread evenly over it, exact after the draw subtracts one', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => drawKeyOf(SECRET, room, { tenantId: 'tenant-1', userId: `user-${i}` }));
    expect(keys.every((k) => k >= 0 && k < 1 && (k - 1) + 1 === k)).toBe(true);
    const tenths = Array.from({ length: 10 }, (_, d) => keys.filter((k) => Math.floor(k * 10) === d).length);
    // 2,000 expected in each tenth; a uniform draw strays past 10% with probability far below 1e-5.
    for (const count of tenths) expect(Math.abs(count - 2_000)).toBeLessThan(200);
  });

  it('keys a buyer by tenant and user so that no two buyers share a key, whatever their ids hold', () => {
    const pairs = [
      { tenantId: 'a:b', userId: 'c' },
      { tenantId: 'a', userId: 'b:c' },
      { tenantId: 'a","b', userId: 'c' },
      { tenantId: 'a', userId: 'b","c' },
      { tenantId: '', userId: 'a\u0000b' },
    ];
    expect(new Set(pairs.map(buyerKeyOf)).size).toBe(pairs.length);
    for (const pair of pairs) expect(buyerOfKey(buyerKeyOf(pair))).toEqual(pair);
  });
});

describe('access tokens', () => {
  it('are standard HS256 JWTs: jose verifies them with the secret', async () => {
    const token = signAccessToken(SECRET, claims());
    const { payload, protectedHeader } = await jwtVerify(token, new TextEncoder().encode(SECRET), { algorithms: ['HS256'], currentDate: new Date(T0) });
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload).toMatchObject({ jti: claims().jti, userId: 'user-1', eventId: 'event-1', queueId: roomIdOf(room), scope: 'purchase' });
  });

  it('read back as signed, and the same claims always sign to the same token', () => {
    const token = signAccessToken(SECRET, claims());
    expect(readAccessToken(SECRET, token)).toEqual({ ok: true, claims: claims() });
    expect(signAccessToken(SECRET, claims())).toBe(token);
  });

  it('refuse a changed payload, a changed signature and another secret', () => {
    const [header, , signature] = signAccessToken(SECRET, claims()).split('.') as [string, string, string];
    expect(readAccessToken(SECRET, `${header}.${b64({ ...claims(), userId: 'user-2' })}.${signature}`)).toEqual({ ok: false, reason: 'signature' });
    const flipped = `${signature.slice(0, -2)}${signature.at(-2) === 'A' ? 'B' : 'A'}${signature.at(-1)}`;
    expect(readAccessToken(SECRET, `${header}.${b64(claims())}.${flipped}`).ok).toBe(false);
    expect(readAccessToken('another-secret-of-thirty-two-characters', signAccessToken(SECRET, claims()))).toEqual({ ok: false, reason: 'signature' });
  });

  it("refuse alg none, another header, the seed's old predictable tokens, garbage and oversize input", () => {
    const payload = b64(claims());
    expect(readAccessToken(SECRET, `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`).ok).toBe(false);
    expect(readAccessToken(SECRET, `${b64({ alg: 'HS256', typ: 'JWT', kid: 'x' })}.${payload}.abc`).ok).toBe(false);
    expect(readAccessToken(SECRET, 'access_event-1_queue-1').ok).toBe(false);
    // Even correctly signed, a header other than ours is not read.
    const otherHeader = b64({ alg: 'HS256', typ: 'JWT', kid: 'x' });
    const signed = createHmac('sha256', SECRET).update(`${otherHeader}.${payload}`).digest('base64url');
    expect(readAccessToken(SECRET, `${otherHeader}.${payload}.${signed}`)).toEqual({ ok: false, reason: 'malformed' });
    expect(readAccessToken(SECRET, '...').ok).toBe(false);
    expect(readAccessToken(SECRET, 'a'.repeat(MAX_ACCESS_TOKEN_LENGTH + 1))).toEqual({ ok: false, reason: 'malformed' });
  });

  it('refuse claims of the wrong shape even when signed', () => {
    for (const bad of [{ scope: 'admin' }, { jti: 'guessable' }, { exp: 1.5 }, { userId: '' }]) {
      expect(readAccessToken(SECRET, signAccessToken(SECRET, claims(bad as Partial<AccessClaims>))).ok).toBe(false);
    }
  });

  it("must be the caller's, for this tenant, venue, event and room, and unexpired", () => {
    const expected = { ...room, userId: 'user-1' };
    expect(claimsMismatch(claims(), expected, T0)).toBeUndefined();
    expect(claimsMismatch(claims(), { ...expected, userId: 'user-2' }, T0)).toBe('mismatch');
    expect(claimsMismatch(claims(), { ...expected, eventId: 'event-2' }, T0)).toBe('mismatch');
    expect(claimsMismatch(claims(), { ...expected, tenantId: 'tenant-2' }, T0)).toBe('mismatch');
    expect(claimsMismatch(claims({ queueId: 'other' }), expected, T0)).toBe('mismatch');
    expect(claimsMismatch(claims(), expected, T0 + 600_000)).toBe('expired');
  });
});
