import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';

/**
 * Webhooks out (issue 22), the pure rules: how a delivery is signed and verified, when a failed
 * one is tried again and when it is given up, and which endpoint URLs may be registered.
 *
 * Signing follows Stripe's scheme, so a subscriber's existing verifier needs only the header's
 * name changed: `Tessera-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, with
 * one `v1=` per valid secret while a secret rotates out. The timestamp is signed with the body, so
 * a captured delivery replayed later fails the receiver's tolerance check.
 */
export const SIGNATURE_HEADER = 'tessera-signature';
export const SECRET_PREFIX = 'whsec_';

/** A new signing secret: 32 random bytes, shown to the subscriber once. */
export const newWebhookSecret = (): string => `${SECRET_PREFIX}${randomBytes(32).toString('base64url')}`;

const hmac = (secret: string, timestamp: number, body: string): string =>
  createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');

/** The `Tessera-Signature` header of `body` sent at `at`, signed with every secret given (newest first). */
export function signatureHeader(secrets: readonly string[], at: Date, body: string): string {
  const timestamp = Math.floor(at.getTime() / 1000);
  return [`t=${timestamp}`, ...secrets.map((secret) => `v1=${hmac(secret, timestamp, body)}`)].join(',');
}

export type SignatureCheck = { readonly ok: true; readonly timestamp: number } | { readonly ok: false; readonly reason: 'malformed' | 'no_match' | 'too_old' };

/**
 * What a subscriber does with a delivery (and what our tests do): the header parses, one `v1`
 * matches the secret (compared in constant time), and its timestamp is within `toleranceSeconds`
 * of now.
 */
export function verifySignature(header: string | undefined, body: string, secret: string, now: Date, toleranceSeconds = 300): SignatureCheck {
  if (!header) return { ok: false, reason: 'malformed' };
  const parts = header.split(',').map((part) => part.trim().split('='));
  const timestamps = parts.filter(([key]) => key === 't').map(([, value]) => Number(value));
  const signatures = parts.filter(([key, value]) => key === 'v1' && value !== undefined && /^[0-9a-f]{64}$/.test(value)).map(([, value]) => value!);
  const timestamp = timestamps[0];
  if (timestamps.length !== 1 || timestamp === undefined || !Number.isSafeInteger(timestamp) || signatures.length === 0) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(hmac(secret, timestamp, body), 'hex');
  if (!signatures.some((signature) => timingSafeEqual(Buffer.from(signature, 'hex'), expected))) return { ok: false, reason: 'no_match' };
  if (Math.abs(now.getTime() / 1000 - timestamp) > toleranceSeconds) return { ok: false, reason: 'too_old' };
  return { ok: true, timestamp };
}

export interface RetrySchedule {
  /** The wait after the first failed attempt; each later one doubles it. */
  readonly initialMs: number;
  /** The longest wait between two attempts. */
  readonly maxMs: number;
  /** How long after a delivery was created (or redelivered by hand) it is given up: 3 days by default. */
  readonly windowMs: number;
}

export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = { initialMs: 30_000, maxMs: 6 * 3_600_000, windowMs: 3 * 86_400_000 };

/**
 * When a delivery whose `attempts`-th attempt just failed at `now` is tried next, or undefined
 * when that would fall past `giveUpAt` (the delivery is dead-lettered). The waits are 30 s, 1 min,
 * 2 min, ... up to 6 h: about twenty attempts in three days.
 */
export function nextAttemptAt(attempts: number, now: Date, giveUpAt: Date, schedule: RetrySchedule): Date | undefined {
  const wait = Math.min(schedule.maxMs, schedule.initialMs * 2 ** Math.min(Math.max(0, attempts - 1), 40));
  const next = new Date(now.getTime() + wait);
  return next.getTime() > giveUpAt.getTime() ? undefined : next;
}

export interface EndpointUrlRules {
  /** Plain http:// endpoints (development; production wants https). */
  readonly allowHttp: boolean;
  /** Endpoints on loopback, private, link-local and other non-public addresses. */
  readonly allowPrivateNetworks: boolean;
}

/**
 * Why `url` may not be registered, or undefined when it may. A hostname is checked again by the
 * sender after it resolves (src/gateways/webhook-sender.ts), so a name pointing at an inside
 * address is refused at delivery too.
 */
export function endpointUrlProblem(url: string, rules: EndpointUrlRules): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (parsed.protocol !== 'https:' && !(rules.allowHttp && parsed.protocol === 'http:')) return rules.allowHttp ? 'must be an https:// or http:// URL' : 'must be an https:// URL';
  if (parsed.username || parsed.password) return 'must not carry credentials (the signature proves the sender)';
  if (parsed.hash) return 'must not have a fragment';
  const host = hostOf(parsed).replace(/\.$/, '');
  if (rules.allowPrivateNetworks) return undefined;
  if (host === 'localhost' || host.endsWith('.localhost') || (isIP(host) !== 0 && isPrivateAddress(host))) return 'must be on a public address';
  // Well-known ports below 1024 other than the web's belong to other services (mail, databases).
  const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  if (port < 1024 && port !== 443 && port !== 80) return 'must use port 443, 80 or one from 1024 up';
  return undefined;
}

/** The URL's host without IPv6 brackets. */
const hostOf = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();

const privateRanges = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  privateRanges.addSubnet(network, prefix, 'ipv4');
}
// IPv6: only global unicast (2000::/3) is public, less the ranges inside it that are documentation
// or carry an IPv4 address a relay would reach (6to4, Teredo, NAT64's local-use prefix).
const publicIpv6 = new BlockList();
publicIpv6.addSubnet('2000::', 3, 'ipv6');
for (const [network, prefix] of [
  ['2001::', 32],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['64:ff9b:1::', 48],
] as const) {
  privateRanges.addSubnet(network, prefix, 'ipv6');
}

/**
 * Whether an IP address is not on the public internet: loopback, private (RFC 1918, unique local),
 * link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, documentation, multicast,
 * reserved, IPv4-mapped IPv6 forms of those, and every IPv6 address outside global unicast.
 */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  if (family === 6) {
    const mapped = mappedIpv4(address);
    if (mapped) return privateRanges.check(mapped, 'ipv4');
    return !publicIpv6.check(address, 'ipv6') || privateRanges.check(address, 'ipv6');
  }
  return privateRanges.check(address, 'ipv4');
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:10.0.0.1` or `::ffff:a00:1`). */
function mappedIpv4(address: string): string | undefined {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (dotted) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return undefined;
  const high = parseInt(hex[1]!, 16);
  const low = parseInt(hex[2]!, 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}
