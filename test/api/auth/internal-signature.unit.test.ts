import { describe, expect, it } from 'vitest';
import { internalSignature, verifyInternalSignature } from '../../../src/api/auth/internal-signature.js';
import type { TesseraError } from '../../../src/errors.js';

const secret = 'internal-secret-of-at-least-thirty-two-chars';
const body = '{"amount":10000}';
const at = (iso: string) => () => new Date(iso);
const options = { secret, services: ['ticket-service'], now: at('2025-01-12T12:00:00Z') };
const timestamp = '1736683200'; // 2025-01-12T12:00:00Z

const headers = (overrides: Record<string, string> = {}) => ({
  'x-internal-service': 'ticket-service',
  'x-internal-timestamp': timestamp,
  'x-internal-signature': internalSignature(secret, timestamp, 'ticket-service', body),
  ...overrides,
});

const codeOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return (error as TesseraError).code;
  }
  return 'accepted';
};

describe('internal service signatures', () => {
  it('signs <timestamp>.<service>.<raw body> with hex HMAC-SHA256, as `openssl dgst -sha256 -hmac` does', () => {
    // printf '%s' '1736683200.ticket-service.{"amount":10000}' | openssl dgst -sha256 -hmac "$INTERNAL_SERVICE_SECRET"
    expect(internalSignature(secret, timestamp, 'ticket-service', body)).toBe(
      'de14b897f23c87321a60372d604c0b56af5c173a2d5041f87b644698e2c9ddf3',
    );
  });

  it('accepts a fresh signature and answers the calling service', () => {
    expect(verifyInternalSignature(headers(), body, options)).toBe('ticket-service');
  });

  it('accepts a signature in upper-case hex', () => {
    const upper = headers()['x-internal-signature'].toUpperCase();
    expect(verifyInternalSignature(headers({ 'x-internal-signature': upper }), body, options)).toBe('ticket-service');
  });

  it('accepts clocks up to five minutes apart either way', () => {
    expect(codeOf(() => verifyInternalSignature(headers(), body, { ...options, now: at('2025-01-12T12:05:00Z') }))).toBe('accepted');
    expect(codeOf(() => verifyInternalSignature(headers(), body, { ...options, now: at('2025-01-12T11:55:00Z') }))).toBe('accepted');
  });

  it('refuses a timestamp more than five minutes away', () => {
    expect(codeOf(() => verifyInternalSignature(headers(), body, { ...options, now: at('2025-01-12T12:05:01Z') }))).toBe(
      'SIGNATURE_EXPIRED',
    );
    expect(codeOf(() => verifyInternalSignature(headers(), body, { ...options, now: at('2025-01-12T11:54:59Z') }))).toBe(
      'SIGNATURE_EXPIRED',
    );
  });

  it('refuses a changed body, service or timestamp', () => {
    expect(codeOf(() => verifyInternalSignature(headers(), '{"amount":1}', options))).toBe('INVALID_SIGNATURE');
    expect(codeOf(() => verifyInternalSignature(headers({ 'x-internal-service': 'order-service' }), body, options))).toBe(
      'INVALID_SIGNATURE',
    );
    expect(codeOf(() => verifyInternalSignature(headers({ 'x-internal-timestamp': '1736683201' }), body, options))).toBe(
      'INVALID_SIGNATURE',
    );
  });

  it('refuses a signature under another secret', () => {
    const forged = internalSignature('another-secret-of-at-least-32-chars!!', timestamp, 'ticket-service', body);
    expect(codeOf(() => verifyInternalSignature(headers({ 'x-internal-signature': forged }), body, options))).toBe('INVALID_SIGNATURE');
  });

  it('refuses malformed headers', () => {
    const malformed: Record<string, string>[] = [
      { 'x-internal-signature': 'zz' },
      { 'x-internal-timestamp': '2025-01-12' },
      { 'x-internal-signature': 'ab'.repeat(33) },
    ];
    for (const bad of malformed) {
      expect(codeOf(() => verifyInternalSignature(headers(bad), body, options))).toBe('INVALID_SIGNATURE');
    }
  });

  it('asks for all three headers', () => {
    const { 'x-internal-signature': _dropped, ...partial } = headers();
    expect(codeOf(() => verifyInternalSignature(partial, body, options))).toBe('AUTH_REQUIRED');
  });

  it('refuses a correctly signed call from a service it does not know', () => {
    const signed = headers({
      'x-internal-service': 'mystery-service',
      'x-internal-signature': internalSignature(secret, timestamp, 'mystery-service', body),
    });
    expect(codeOf(() => verifyInternalSignature(signed, body, options))).toBe('FORBIDDEN');
  });
});
