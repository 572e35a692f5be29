import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { TesseraError } from '../../errors.js';
import type { NonceStore } from './nonce-store.js';

/**
 * Service-to-service authentication, version 2: /internal/* and the routes open to services
 * (seed 003, "Internal Service Auth", bound to what it signs as DESIGN.md's trust boundaries ask).
 *
 *   x-internal-service:   the calling service, one of INTERNAL_SERVICES
 *   x-internal-timestamp: unix time in seconds, within INTERNAL_SIGNATURE_MAX_SKEW_SECONDS of ours
 *   x-internal-nonce:     16 to 128 characters of [A-Za-z0-9_-], never sent twice by the service
 *   x-internal-signature: hex HMAC-SHA256 of the canonical string under the service's own secret
 *                         (INTERNAL_SERVICE_SECRETS), or the shared INTERNAL_SERVICE_SECRET
 *
 * The canonical string is seven lines joined by "\n" (no trailing newline):
 *
 *   v2
 *   <timestamp>            as sent in x-internal-timestamp
 *   <nonce>                as sent in x-internal-nonce
 *   <service>              as sent in x-internal-service
 *   <METHOD>               upper case: GET, POST, PUT...
 *   <path?query>           the request target exactly as sent (fastify's request.url), undecoded
 *   <hex sha256 of body>   lower case, over the raw body's bytes (of the empty string for none)
 *
 * So a signature vouches for one request: another method, path, query or body breaks it, the
 * timestamp bounds its life to the skew window and the nonce, claimed once the rest checks out,
 * makes it good for one use within that window.
 */
export const INTERNAL_SIGNATURE_VERSION = 'v2';

const NONCE_FORM = /^[A-Za-z0-9_-]{16,128}$/;

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** What a signature covers. */
export interface InternalSignatureParts {
  readonly timestamp: string;
  readonly nonce: string;
  readonly service: string;
  readonly method: string;
  /** The path with its query string, exactly as sent. */
  readonly url: string;
  readonly rawBody: string;
}

/** An incoming request as the signature check sees it. */
export interface SignedRequest {
  readonly method: string;
  /** The request target exactly as sent: path and query string (fastify's `request.url`). */
  readonly url: string;
  readonly headers: Headers;
  /** The body exactly as sent; empty for none. */
  readonly rawBody: string;
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export function internalCanonicalString(parts: InternalSignatureParts): string {
  return [
    INTERNAL_SIGNATURE_VERSION,
    parts.timestamp,
    parts.nonce,
    parts.service,
    parts.method.toUpperCase(),
    parts.url,
    sha256Hex(parts.rawBody),
  ].join('\n');
}

export function internalSignature(secret: string, parts: InternalSignatureParts): string {
  return createHmac('sha256', secret).update(internalCanonicalString(parts), 'utf8').digest('hex');
}

export interface InternalSignatureOptions {
  /** The secret a service signs with: its own, else the shared one. */
  readonly secretFor: (service: string) => string;
  readonly services: readonly string[];
  /** How far the timestamp may be from our clock, either way. */
  readonly maxSkewSeconds: number;
  readonly now: () => Date;
}

export interface VerifiedInternalCall {
  readonly service: string;
  readonly nonce: string;
}

/**
 * Checks the four headers against the request, in an order that spends nothing on forgeries:
 * form, then the MAC (in constant time), then the clock, then the service. The nonce is not
 * claimed here (see authenticateInternalCall): answers the service and its nonce.
 */
export function verifyInternalSignature(request: SignedRequest, options: InternalSignatureOptions): VerifiedInternalCall {
  const { headers } = request;
  const service = single(headers['x-internal-service']);
  const timestamp = single(headers['x-internal-timestamp']);
  const signature = single(headers['x-internal-signature']);
  const nonce = single(headers['x-internal-nonce']);
  if (!service || !timestamp || !signature) {
    throw new TesseraError(
      'AUTH_REQUIRED',
      'This route needs x-internal-service, x-internal-timestamp, x-internal-nonce and x-internal-signature',
    );
  }
  if (!nonce) {
    throw new TesseraError(
      'INVALID_SIGNATURE',
      'Internal signatures v2 are required: send x-internal-nonce and sign the v2 canonical string (see README, Authentication)',
    );
  }
  if (!/^\d{1,12}$/.test(timestamp) || !/^[0-9a-f]{64}$/i.test(signature) || !NONCE_FORM.test(nonce)) {
    throw new TesseraError('INVALID_SIGNATURE', 'Internal signature headers are malformed (x-internal-nonce: 16-128 of [A-Za-z0-9_-])');
  }
  const expected = Buffer.from(
    internalSignature(options.secretFor(service), { timestamp, nonce, service, method: request.method, url: request.url, rawBody: request.rawBody }),
    'hex',
  );
  // Constant time: how much of a guess matches must not show in the response time.
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    throw new TesseraError('INVALID_SIGNATURE', 'Internal signature does not match this request (v2: method, path and query, body, timestamp, nonce)');
  }
  const skew = Math.abs(options.now().getTime() / 1000 - Number(timestamp));
  if (skew > options.maxSkewSeconds) {
    throw new TesseraError('SIGNATURE_EXPIRED', `Internal signature timestamp is more than ${options.maxSkewSeconds} seconds from the server's clock`);
  }
  if (!options.services.includes(service)) throw new TesseraError('FORBIDDEN', 'Unknown internal service');
  return { service, nonce };
}

/**
 * A request bearing a timestamp is accepted while our clock is within the skew of it: a span of
 * twice the skew. Its nonce is kept that long, so the request cannot come back while it could
 * still pass the clock check.
 */
export const nonceTtlMs = (maxSkewSeconds: number): number => 2 * maxSkewSeconds * 1000;

/** The nonce's record: unique per service, so two services' nonces never collide. */
export const nonceRecordId = (service: string, nonce: string): string => `${service}:${nonce}`;

/**
 * The whole check: the signature, then the nonce claimed once. Only a request that passed every
 * other check claims its nonce, so forged or stale requests cannot use up a service's nonces.
 * A nonce store that cannot answer refuses the call (503): letting it through would let replays in.
 */
export async function authenticateInternalCall(
  request: SignedRequest,
  options: InternalSignatureOptions & { readonly nonces: NonceStore; readonly onStoreFailure?: (error: unknown) => void },
): Promise<string> {
  const { service, nonce } = verifyInternalSignature(request, options);
  let first: boolean;
  try {
    first = await options.nonces.claim(nonceRecordId(service, nonce), nonceTtlMs(options.maxSkewSeconds));
  } catch (error) {
    options.onStoreFailure?.(error);
    throw new TesseraError('SERVICE_UNAVAILABLE', 'Cannot check the internal signature nonce right now; retry later');
  }
  if (!first) throw new TesseraError('SIGNATURE_REPLAYED', 'This signed request was already received: sign each request with a new x-internal-nonce');
  return service;
}

const single = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? undefined : value);
