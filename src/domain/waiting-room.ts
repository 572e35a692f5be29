import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The waiting room's rules (issue 21), pure: how many buyers may be admitted now, how long a
 * place in the queue waits, and the access token an admitted buyer purchases with. Both stores
 * (src/gateways/waiting-room-sql.ts uses these functions; the Redis store's Lua mirrors them)
 * answer the same for the same history (test/gateways/waiting-room.int.test.ts).
 */

/** An access token lives 10 minutes (seed 003); unused by then, its place is given back. */
export const ACCESS_TOKEN_TTL_MS = 10 * 60_000;
/** The only scope a token carries: one purchase of the event. */
export const ACCESS_TOKEN_SCOPE = 'purchase';
/**
 * The release budget holds at most this many seconds of the release rate (at least one buyer),
 * so in any span of t seconds at most burst + rate x t / 60 buyers are admitted, however many
 * instances tick and however long the room was idle.
 */
export const RELEASE_BURST_SECONDS = 5;
/** Admissions per store call at most: one call stays short even when a large budget has built up. */
export const MAX_ADMISSIONS_PER_CALL = 1_000;
/** A token longer than this is refused unread (ours are about 400 bytes). */
export const MAX_ACCESS_TOKEN_LENGTH = 2_048;

/** The room's settings as admission reads them (the catalogue's WaitingRoomSettings, opensAt in ms). */
export interface AdmissionRules {
  readonly capacity: number;
  /** New buyers per minute. */
  readonly releaseRate: number;
  readonly order: 'first_come' | 'draw';
  /** Epoch ms; nobody is admitted before it. */
  readonly opensAt?: number;
}

/** The release budget: buyers that may still be admitted, as of `at` (epoch ms). */
export interface ReleaseBudget {
  readonly tokens: number;
  readonly at: number;
}

export const releaseBurst = (releaseRate: number): number => Math.max(1, Math.ceil((releaseRate * RELEASE_BURST_SECONDS) / 60));

/**
 * The budget at `now`: refilled at the release rate since it was last spent, up to the burst. A
 * room never ticked starts full. Time never runs backwards for it: an instance whose clock lags
 * another's adds nothing and leaves `at` where it was.
 */
export function refillBudget(budget: ReleaseBudget | undefined, releaseRate: number, now: number): ReleaseBudget {
  const burst = releaseBurst(releaseRate);
  if (!budget) return { tokens: burst, at: now };
  const elapsed = Math.max(0, now - budget.at);
  return { tokens: Math.min(burst, budget.tokens + (elapsed * releaseRate) / 60_000), at: Math.max(budget.at, now) };
}

/**
 * How many of `waiting` buyers to admit now, and the budget left: no more than the budget holds,
 * than the free places (capacity minus active buyers), than one call admits; none before opensAt.
 */
export function admissionsNow(
  rules: AdmissionRules,
  state: { readonly budget: ReleaseBudget | undefined; readonly active: number; readonly waiting: number },
  now: number,
): { readonly count: number; readonly budget: ReleaseBudget } {
  const budget = refillBudget(state.budget, rules.releaseRate, now);
  if (rules.opensAt !== undefined && now < rules.opensAt) return { count: 0, budget };
  const count = Math.max(0, Math.min(Math.floor(budget.tokens), rules.capacity - state.active, state.waiting, MAX_ADMISSIONS_PER_CALL));
  return { count, budget: { tokens: budget.tokens - count, at: budget.at } };
}

/**
 * Seconds until a buyer at `position` (1 = next) is admitted at best: the release rate's pace,
 * after the sale opens. Full capacity makes it longer: places free up as buyers purchase or their
 * tokens lapse.
 */
export function estimatedWaitSeconds(position: number, rules: Pick<AdmissionRules, 'releaseRate' | 'opensAt'>, now: number): number {
  const untilOpen = rules.opensAt !== undefined && now < rules.opensAt ? (rules.opensAt - now) / 1000 : 0;
  return Math.ceil(untilOpen + (Math.max(0, position - 1) * 60) / rules.releaseRate);
}

/** Where a buyer joins the queue: first come by join sequence; a draw's early joiners before everyone, in the order of their draw keys. */
export function queueOrderKey(rules: Pick<AdmissionRules, 'order' | 'opensAt'>, sequence: number, drawKey: number, now: number): number {
  return rules.order === 'draw' && rules.opensAt !== undefined && now < rules.opensAt ? drawKey - 1 : sequence;
}

/**
 * A room: one per venue and event. The event's catalogue is the venue's, shared by every tenant
 * selling it, so its capacity and release rate hold for all their buyers together.
 */
export interface RoomKey {
  readonly venueId: string;
  readonly eventId: string;
}

/** A buyer in a room: the same `sub` in two tenants is two people. */
export interface Buyer {
  readonly tenantId: string;
  readonly userId: string;
}

/** The room's id (a token's `queueId`, the stores' key): a digest, so any ids make a safe key. */
export const roomIdOf = (room: RoomKey): string => createHash('sha256').update(`waiting-room\n${room.venueId}\n${room.eventId}`).digest('hex').slice(0, 32);

/**
 * A buyer's key among a room's members: a JSON pair, so no tenant and user ids of two buyers give
 * the same key, whatever characters they hold (a plain `tenant:user` join would let `a:b` + `c`
 * and `a` + `b:c` collide).
 */
export const buyerKeyOf = (buyer: Buyer): string => JSON.stringify([buyer.tenantId, buyer.userId]);

/** The buyer a key names (the inverse of buyerKeyOf). */
export function buyerOfKey(key: string): Buyer {
  const pair = JSON.parse(key) as unknown;
  if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') throw new Error(`not a buyer key: ${key}`);
  return { tenantId: pair[0], userId: pair[1] };
}

/** Bits of a draw key: exact in a double, and in a Redis score, after `queueOrderKey` subtracts 1. */
const DRAW_KEY_BITS = 48;

/**
 * A buyer's draw key in a room, uniform in [0, 1): a keyed hash (HMAC-SHA256 under the rooms'
 * secret) of the room and the buyer. Buyers cannot predict it without the secret, and cannot
 * change it: leaving and joining again before the sale opens draws the same place, on any
 * instance (a fresh random key per join let a buyer re-roll until near the front).
 */
export function drawKeyOf(secret: string, room: RoomKey, buyer: Buyer): number {
  const digest = createHmac('sha256', secret).update(JSON.stringify(['waiting-room-draw', roomIdOf(room), buyer.tenantId, buyer.userId])).digest();
  return digest.readUIntBE(0, DRAW_KEY_BITS / 8) / 2 ** DRAW_KEY_BITS;
}

/** A jti: 128 bits, lower-case hex. */
export const JTI_PATTERN = /^[0-9a-f]{32}$/;

/** What an access token says (a JWT, HS256). */
export interface AccessClaims {
  readonly jti: string;
  readonly userId: string;
  readonly tenantId: string;
  readonly venueId: string;
  readonly eventId: string;
  readonly queueId: string;
  readonly scope: typeof ACCESS_TOKEN_SCOPE;
  /** Epoch seconds. */
  readonly iat: number;
  readonly exp: number;
}

// The one header we sign and accept: any other (alg none, RS256 keyed with our secret, a kid) is refused as written.
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

const sign = (secret: string, input: string): Buffer => createHmac('sha256', secret).update(input).digest();

/** The token for `claims`, signed with `secret`: the same claims always give the same token. */
export function signAccessToken(secret: string, claims: AccessClaims): string {
  const { jti, userId, tenantId, venueId, eventId, queueId, scope, iat, exp } = claims;
  const payload = Buffer.from(JSON.stringify({ jti, userId, tenantId, venueId, eventId, queueId, scope, iat, exp })).toString('base64url');
  return `${HEADER}.${payload}.${sign(secret, `${HEADER}.${payload}`).toString('base64url')}`;
}

export type TokenReading = { readonly ok: true; readonly claims: AccessClaims } | { readonly ok: false; readonly reason: 'malformed' | 'signature' };

/** Reads a token: our header exactly, a valid signature (compared in constant time), and claims of the right shape. */
export function readAccessToken(secret: string, token: string): TokenReading {
  if (token.length > MAX_ACCESS_TOKEN_LENGTH) return { ok: false, reason: 'malformed' };
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== HEADER) return { ok: false, reason: 'malformed' };
  const [, payload, signature] = parts as [string, string, string];
  const given = Buffer.from(signature, 'base64url');
  const expected = sign(secret, `${HEADER}.${payload}`);
  // base64url decoding ignores stray characters: the signature must also read back exactly as sent.
  if (given.length !== expected.length || !timingSafeEqual(given, expected) || given.toString('base64url') !== signature) {
    return { ok: false, reason: 'signature' };
  }
  const claims = claimsOf(payload);
  return claims ? { ok: true, claims } : { ok: false, reason: 'malformed' };
}

function claimsOf(payload: string): AccessClaims | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const c = raw as Record<string, unknown>;
  const text = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256;
  const seconds = (v: unknown): v is number => Number.isSafeInteger(v);
  if (!text(c.jti) || !JTI_PATTERN.test(c.jti) || !text(c.userId) || !text(c.tenantId) || !text(c.venueId) || !text(c.eventId) || !text(c.queueId)) return undefined;
  if (c.scope !== ACCESS_TOKEN_SCOPE || !seconds(c.iat) || !seconds(c.exp)) return undefined;
  return { jti: c.jti, userId: c.userId, tenantId: c.tenantId, venueId: c.venueId, eventId: c.eventId, queueId: c.queueId, scope: ACCESS_TOKEN_SCOPE, iat: c.iat, exp: c.exp };
}

/**
 * Whether a token's claims are for this purchase: the caller's own, of this tenant, venue, event
 * and room, and not expired at `now` (epoch ms).
 */
export function claimsMismatch(claims: AccessClaims, expected: RoomKey & Buyer, now: number): 'expired' | 'mismatch' | undefined {
  const same =
    claims.userId === expected.userId &&
    claims.tenantId === expected.tenantId &&
    claims.venueId === expected.venueId &&
    claims.eventId === expected.eventId &&
    claims.queueId === roomIdOf(expected);
  if (!same) return 'mismatch';
  return claims.exp * 1000 <= now ? 'expired' : undefined;
}
