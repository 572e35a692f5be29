import { createHmac, timingSafeEqual } from 'node:crypto';
import { TesseraError } from '../../errors.js';

/**
 * Service-to-service authentication for /internal/* (seed 003, "Internal Service Auth"):
 *
 *   x-internal-service:   the calling service, e.g. ticket-service (must be a known service)
 *   x-internal-timestamp: unix time in seconds, within 5 minutes of ours
 *   x-internal-signature: hex HMAC-SHA256 under INTERNAL_SERVICE_SECRET of
 *                         `<timestamp>.<service>.<raw body>` (the body exactly as sent; empty for none)
 */
export const INTERNAL_SIGNATURE_WINDOW_SECONDS = 5 * 60;

export function internalSignature(secret: string, timestamp: string, service: string, rawBody: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${service}.${rawBody}`).digest('hex');
}

export interface InternalSignatureOptions {
  readonly secret: string;
  readonly services: readonly string[];
  readonly now: () => Date;
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** Checks the three headers against the raw body and answers the calling service's name. */
export function verifyInternalSignature(headers: Headers, rawBody: string, options: InternalSignatureOptions): string {
  const service = single(headers['x-internal-service']);
  const timestamp = single(headers['x-internal-timestamp']);
  const signature = single(headers['x-internal-signature']);
  if (!service || !timestamp || !signature) {
    throw new TesseraError('AUTH_REQUIRED', 'Internal routes need x-internal-service, x-internal-timestamp and x-internal-signature');
  }
  if (!/^\d{1,12}$/.test(timestamp) || !/^[0-9a-f]{64}$/i.test(signature)) {
    throw new TesseraError('INVALID_SIGNATURE', 'Internal signature headers are malformed');
  }
  const expected = Buffer.from(internalSignature(options.secret, timestamp, service, rawBody), 'hex');
  // Constant time: how much of a guess matches must not show in the response time.
  if (!timingSafeEqual(expected, Buffer.from(signature, 'hex'))) {
    throw new TesseraError('INVALID_SIGNATURE', 'Internal signature does not match');
  }
  const skew = Math.abs(options.now().getTime() / 1000 - Number(timestamp));
  if (skew > INTERNAL_SIGNATURE_WINDOW_SECONDS) {
    throw new TesseraError('SIGNATURE_EXPIRED', 'Internal signature timestamp is outside the 5-minute window');
  }
  if (!options.services.includes(service)) throw new TesseraError('FORBIDDEN', 'Unknown internal service');
  return service;
}

const single = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? undefined : value);
