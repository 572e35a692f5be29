/**
 * Buyers for the benchmarks that screen purchases for fraud (bench/fraud.ts, and
 * bench/purchase.ts with BENCH_FRAUD=on): a seeded random source, checkout sessions as a person,
 * a hurried person, or a headless browser would send them (src/domain/risk.ts `botScore`), and,
 * for the HTTP load generator, each request a purchase by a buyer of its own.
 */
import { createHmac } from 'node:crypto';
import type { SessionSignals } from '../src/domain/risk.js';
import { mulberry32 } from '../scripts/fraud/random.js';

/** A small seeded PRNG (mulberry32, as the fraud model's data set uses): the same workload in every run. */
export const seededRandom = mulberry32;

const DESKTOP_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const HEADLESS_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36';

/**
 * A person at checkout: a pointer wandering on a curve with a hand's jitter, irregular gaps,
 * some typing, a click at the end, several seconds in all (bot score 0.1).
 */
export function humanSession(random: () => number): SessionSignals {
  const actions: { type: string; t: number; x?: number; y?: number }[] = [];
  let t = 300 + Math.floor(random() * 900);
  const moves = 6 + Math.floor(random() * 8);
  const [x0, y0] = [100 + random() * 400, 100 + random() * 300];
  const [dx, dy] = [300 + random() * 500, 150 + random() * 300];
  for (let i = 0; i < moves; i++) {
    const f = i / (moves - 1);
    // A curve (the pointer bows away from the straight line) plus a few pixels of jitter.
    const bow = Math.sin(f * Math.PI) * (40 + random() * 60);
    actions.push({ type: 'mousemove', t, x: Math.round(x0 + dx * f + bow + random() * 6), y: Math.round(y0 + dy * f - bow + random() * 6) });
    t += 40 + Math.floor(random() * 360);
  }
  for (let i = 0, keys = 3 + Math.floor(random() * 6); i < keys; i++) {
    actions.push({ type: 'keydown', t });
    t += 90 + Math.floor(random() * 400);
  }
  actions.push({ type: 'click', t: t + 500 + Math.floor(random() * 3000), x: Math.round(x0 + dx), y: Math.round(y0 + dy) });
  return { actions, browserFeatures: { webdriver: false, userAgent: DESKTOP_UA, languages: 2, plugins: 5, screenWidth: 1920, screenHeight: 1080 } };
}

/** Two quick clicks and no pointer, under a second and a half: suspect, not proof (0.6). */
export function hurriedSession(random: () => number): SessionSignals {
  const t = 200 + Math.floor(random() * 300);
  return { actions: [{ type: 'click', t }, { type: 'click', t: t + 400 + Math.floor(random() * 500) }], browserFeatures: { userAgent: DESKTOP_UA, languages: 1, plugins: 3 } };
}

/** An automated browser (0.99: a bot). */
export function headlessSession(): SessionSignals {
  return { actions: [{ type: 'click', t: 120 }], browserFeatures: { headless: true, userAgent: HEADLESS_UA, languages: 0, plugins: 0 } };
}

/** What the load generator needs to make each request a purchase by a buyer of its own. */
export interface Buyers {
  /** The server's JWT_SECRET: each buyer's token is signed (HS256) by the load generator. */
  readonly jwtSecret: string;
  readonly tenantId: string;
  /** Makes ids unique to the run. */
  readonly tag: string;
  /** The first buyer's number: every load of a run takes its own range (see BUYERS_PER_LOAD). */
  readonly first: number;
}

/** Buyers one load may use; addresses are unique up to 2^24 buyers, 64 loads of a run. */
export const BUYERS_PER_LOAD = 250_000;

const base64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');
const JWT_HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

/** The HS256 token of a user, signed synchronously (the load generator signs one per request). */
export function userToken(secret: string, tenantId: string, userId: string): string {
  const payload = base64url(JSON.stringify({ role: 'user', tenant_id: tenantId, venues: [], sub: userId, exp: Math.floor(Date.now() / 1000) + 7_200 }));
  const signature = createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${JWT_HEADER}.${payload}`).digest('base64url');
  return `${JWT_HEADER}.${payload}.${signature}`;
}

/** Buyer n's address: 10.0.0.0/8 from the number, so no two buyers of a run share one. */
export const buyerIp = (n: number): string => `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/** Sessions of people, made once: the load generator picks one per request. */
const SESSIONS = (() => {
  const random = seededRandom(20);
  return Array.from({ length: 64 }, () => JSON.stringify(humanSession(random)));
})();

/**
 * Buyer n's request: a user of their own (token), paying with a card of their own
 * (`pm_card_visa--<card>` is a sandbox card of its own), from a device and an address of their
 * own (x-forwarded-for: the server trusts its proxy, TRUST_PROXY), at checkout as a person.
 * `body` is the purchase's JSON without those fields. No velocity limit can fire for them.
 */
export function buyerRequest<Headers extends object>(buyers: Buyers, n: number, body: string, headers: Headers): { headers: Headers & Record<string, string>; body: string } {
  const id = `${buyers.tag}-${n}`;
  const extra = `"paymentMethod":{"type":"card","paymentMethodId":"pm_card_visa--${id}"},"deviceFingerprint":"dev-${id}","sessionData":${SESSIONS[n % SESSIONS.length]!}`;
  return {
    headers: { ...headers, authorization: `Bearer ${userToken(buyers.jwtSecret, buyers.tenantId, `buyer-${id}`)}`, 'x-forwarded-for': buyerIp(n) },
    body: `${opening(body)}${extra}}`,
  };
}

/** The purchase's JSON without its payment method, open for more fields (parsed once per body). */
const openings = new Map<string, string>();
function opening(body: string): string {
  let found = openings.get(body);
  if (found === undefined) {
    const { paymentMethod: _, ...rest } = JSON.parse(body) as Record<string, unknown>;
    const json = JSON.stringify(rest);
    found = json === '{}' ? '{' : `${json.slice(0, -1)},`;
    openings.set(body, found);
  }
  return found;
}
