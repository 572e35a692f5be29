import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  authenticateInternalCall,
  internalCanonicalString,
  internalSignature,
  nonceTtlMs,
  verifyInternalSignature,
  type SignedRequest,
} from '../../../src/api/auth/internal-signature.js';
import type { NonceStore } from '../../../src/api/auth/nonce-store.js';
import type { TesseraError } from '../../../src/errors.js';

const secret = 'internal-secret-of-at-least-thirty-two-chars';
const body = '{"amount":10000}';
const timestamp = '1736683200'; // 2025-01-12T12:00:00Z
const nonce = 'nonce_0123456789-AB';
const url = '/internal/calculate-tax?state=TN';
const at = (iso: string) => () => new Date(iso);
const options = { secretFor: () => secret, services: ['ticket-service', 'notification-service'], maxSkewSeconds: 30, now: at('2025-01-12T12:00:00Z') };

const signed = (overrides: Partial<{ method: string; url: string; rawBody: string; service: string; nonce: string; timestamp: string }> = {}) => {
  const parts = { timestamp, nonce, service: 'ticket-service', method: 'POST', url, rawBody: body, ...overrides };
  return {
    'x-internal-service': parts.service,
    'x-internal-timestamp': parts.timestamp,
    'x-internal-nonce': parts.nonce,
    'x-internal-signature': internalSignature(secret, parts),
  };
};

/** The request as sent: POST of `body` to `url`, with the given headers. */
const request = (headers: Record<string, string>, sent: Partial<Omit<SignedRequest, 'headers'>> = {}): SignedRequest => ({
  method: 'POST',
  url,
  rawBody: body,
  headers,
  ...sent,
});

const codeOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return (error as TesseraError).code;
  }
  return 'accepted';
};

const asyncCodeOf = async (run: () => Promise<unknown>) => {
  try {
    await run();
  } catch (error) {
    return (error as TesseraError).code;
  }
  return 'accepted';
};

/** A nonce store in memory, recording what it was asked. */
function memoryNonces(): NonceStore & { claims: { id: string; ttlMs: number }[] } {
  const seen = new Set<string>();
  const claims: { id: string; ttlMs: number }[] = [];
  return {
    kind: 'sql',
    claims,
    claim(id, ttlMs) {
      claims.push({ id, ttlMs });
      if (seen.has(id)) return Promise.resolve(false);
      seen.add(id);
      return Promise.resolve(true);
    },
    purgeExpired: () => Promise.resolve(0),
  };
}

describe('internal service signatures (v2)', () => {
  it('signs seven lines: v2, timestamp, nonce, service, method, path with query, and the sha256 of the body', () => {
    const parts = { timestamp, nonce, service: 'ticket-service', method: 'post', url, rawBody: body };
    expect(internalCanonicalString(parts)).toBe(
      'v2\n1736683200\nnonce_0123456789-AB\nticket-service\nPOST\n/internal/calculate-tax?state=TN\n' +
        '5f3b3137d88f498b65704f4554465403a34def4af349b91addd8614825f90226',
    );
    // BODY_SHA=$(printf '%s' '{"amount":10000}' | openssl dgst -sha256 -hex | sed 's/^.* //')
    // printf 'v2\n%s\n%s\n%s\n%s\n%s\n%s' 1736683200 nonce_0123456789-AB ticket-service POST \
    //   '/internal/calculate-tax?state=TN' "$BODY_SHA" | openssl dgst -sha256 -hmac "$SECRET" -hex
    expect(internalSignature(secret, parts)).toBe('ff1aee6fdc2be09c079592410fa4b70f09f7cde1f4d58fba0444bfb21a2e60cc');
  });

  it('hashes an absent body as the empty string', () => {
    const parts = { timestamp, nonce, service: 'ticket-service', method: 'GET', url: '/internal/x', rawBody: '' };
    expect(internalCanonicalString(parts).split('\n').at(-1)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('accepts a fresh signature and answers the calling service and its nonce', () => {
    expect(verifyInternalSignature(request(signed()), options)).toEqual({ service: 'ticket-service', nonce });
  });

  it('accepts a signature in upper-case hex', () => {
    const headers = signed();
    const upper = { ...headers, 'x-internal-signature': headers['x-internal-signature'].toUpperCase() };
    expect(codeOf(() => verifyInternalSignature(request(upper), options))).toBe('accepted');
  });

  it('refuses the request sent with another method', () => {
    expect(codeOf(() => verifyInternalSignature(request(signed(), { method: 'PUT' }), options))).toBe('INVALID_SIGNATURE');
  });

  it('refuses the request sent to another path', () => {
    const elsewhere = request(signed(), { url: '/internal/calculate-fees?state=TN' });
    expect(codeOf(() => verifyInternalSignature(elsewhere, options))).toBe('INVALID_SIGNATURE');
  });

  it('refuses the request sent with another query, or without its query', () => {
    expect(codeOf(() => verifyInternalSignature(request(signed(), { url: '/internal/calculate-tax?state=NY' }), options))).toBe(
      'INVALID_SIGNATURE',
    );
    expect(codeOf(() => verifyInternalSignature(request(signed(), { url: '/internal/calculate-tax' }), options))).toBe('INVALID_SIGNATURE');
  });

  it('refuses a changed body, even by whitespace', () => {
    expect(codeOf(() => verifyInternalSignature(request(signed(), { rawBody: '{"amount":1}' }), options))).toBe('INVALID_SIGNATURE');
    expect(codeOf(() => verifyInternalSignature(request(signed(), { rawBody: '{ "amount": 10000 }' }), options))).toBe('INVALID_SIGNATURE');
  });

  it('refuses a changed service, timestamp or nonce', () => {
    for (const header of [
      { 'x-internal-service': 'order-service' },
      { 'x-internal-timestamp': '1736683201' },
      { 'x-internal-nonce': 'another-nonce-0123456789' },
    ]) {
      expect(codeOf(() => verifyInternalSignature(request({ ...signed(), ...header }), options))).toBe('INVALID_SIGNATURE');
    }
  });

  it('refuses a request without a nonce, saying v2 is required', () => {
    const { 'x-internal-nonce': _dropped, ...withoutNonce } = signed();
    let refusal: TesseraError | undefined;
    try {
      verifyInternalSignature(request(withoutNonce), options);
    } catch (error) {
      refusal = error as TesseraError;
    }
    expect(refusal).toMatchObject({ code: 'INVALID_SIGNATURE', status: 401 });
    expect(refusal?.message).toMatch(/v2 are required/);
  });

  it('refuses the old v1 form, <timestamp>.<service>.<raw body>, with or without a nonce', () => {
    const v1 = createHmac('sha256', secret).update(`${timestamp}.ticket-service.${body}`).digest('hex');
    const old = { 'x-internal-service': 'ticket-service', 'x-internal-timestamp': timestamp, 'x-internal-signature': v1 };
    expect(codeOf(() => verifyInternalSignature(request(old), options))).toBe('INVALID_SIGNATURE');
    expect(codeOf(() => verifyInternalSignature(request({ ...old, 'x-internal-nonce': nonce }), options))).toBe('INVALID_SIGNATURE');
  });

  it('accepts clocks up to the skew apart either way', () => {
    for (const now of ['2025-01-12T12:00:30Z', '2025-01-12T11:59:30Z']) {
      expect(codeOf(() => verifyInternalSignature(request(signed()), { ...options, now: at(now) }))).toBe('accepted');
    }
  });

  it('refuses a timestamp beyond the skew window, either way', () => {
    for (const now of ['2025-01-12T12:00:31Z', '2025-01-12T11:59:29Z']) {
      expect(codeOf(() => verifyInternalSignature(request(signed()), { ...options, now: at(now) }))).toBe('SIGNATURE_EXPIRED');
    }
    expect(codeOf(() => verifyInternalSignature(request(signed()), { ...options, maxSkewSeconds: 5, now: at('2025-01-12T12:00:06Z') }))).toBe(
      'SIGNATURE_EXPIRED',
    );
  });

  it('refuses a signature under another secret', () => {
    const forged = internalSignature('another-secret-of-at-least-32-chars!!', {
      timestamp,
      nonce,
      service: 'ticket-service',
      method: 'POST',
      url,
      rawBody: body,
    });
    expect(codeOf(() => verifyInternalSignature(request({ ...signed(), 'x-internal-signature': forged }), options))).toBe('INVALID_SIGNATURE');
  });

  it("verifies a service with a secret of its own under that secret only, so another service cannot sign as it", () => {
    const own = 'ticket-service-own-secret-of-32-characters';
    const perService = { ...options, secretFor: (service: string) => (service === 'ticket-service' ? own : secret) };
    const parts = { timestamp, nonce, service: 'ticket-service', method: 'POST', url, rawBody: body };
    const underOwn = { ...signed(), 'x-internal-signature': internalSignature(own, parts) };
    expect(verifyInternalSignature(request(underOwn), perService).service).toBe('ticket-service');
    // The shared secret every service holds no longer signs as ticket-service.
    expect(codeOf(() => verifyInternalSignature(request(signed()), perService))).toBe('INVALID_SIGNATURE');
  });

  it('refuses malformed headers, a nonce out of form included', () => {
    const malformed: Record<string, string>[] = [
      { 'x-internal-signature': 'zz' },
      { 'x-internal-timestamp': '2025-01-12' },
      { 'x-internal-signature': 'ab'.repeat(33) },
      { 'x-internal-nonce': 'short-nonce' },
      { 'x-internal-nonce': 'n'.repeat(129) },
      { 'x-internal-nonce': 'nonce with spaces 0123' },
      { 'x-internal-nonce': 'nonce:with:colons:0123' },
    ];
    for (const bad of malformed) {
      const headers = { ...signed(), ...bad };
      if ('x-internal-nonce' in bad) headers['x-internal-signature'] = signed({ nonce: bad['x-internal-nonce'] })['x-internal-signature'];
      expect(codeOf(() => verifyInternalSignature(request(headers), options))).toBe('INVALID_SIGNATURE');
    }
  });

  it('asks for the headers when the service, timestamp or signature is missing', () => {
    const { 'x-internal-signature': _dropped, ...partial } = signed();
    expect(codeOf(() => verifyInternalSignature(request(partial), options))).toBe('AUTH_REQUIRED');
  });

  it('refuses a correctly signed call from a service it does not know', () => {
    expect(codeOf(() => verifyInternalSignature(request(signed({ service: 'mystery-service' })), options))).toBe('FORBIDDEN');
  });
});

describe('nonces of internal calls', () => {
  it('accepts a nonce once and refuses the same signed request again as a replay', async () => {
    const nonces = memoryNonces();
    const call = () => authenticateInternalCall(request(signed()), { ...options, nonces });
    expect(await call()).toBe('ticket-service');
    expect(await asyncCodeOf(call)).toBe('SIGNATURE_REPLAYED');
  });

  it('keeps a nonce for twice the skew, the span in which a request bearing it can pass the clock check', async () => {
    const nonces = memoryNonces();
    await authenticateInternalCall(request(signed()), { ...options, nonces });
    expect(nonceTtlMs(30)).toBe(60_000);
    expect(nonces.claims).toEqual([{ id: `ticket-service:${nonce}`, ttlMs: 60_000 }]);
  });

  it('keeps the nonces of different services apart', async () => {
    const nonces = memoryNonces();
    const both = { ...options, services: ['ticket-service', 'order-service'], nonces };
    expect(await authenticateInternalCall(request(signed()), both)).toBe('ticket-service');
    expect(await authenticateInternalCall(request(signed({ service: 'order-service' })), both)).toBe('order-service');
  });

  it('claims no nonce for a forged, stale, reshaped or unknown-service request', async () => {
    const nonces = memoryNonces();
    const attempts: SignedRequest[] = [
      request({ ...signed(), 'x-internal-signature': 'ab'.repeat(32) }),
      request(signed(), { url: '/internal/other' }),
      request(signed({ timestamp: '1736683100' })),
      request(signed({ service: 'mystery-service' })),
    ];
    for (const attempt of attempts) {
      expect(await asyncCodeOf(() => authenticateInternalCall(attempt, { ...options, nonces }))).not.toBe('accepted');
    }
    expect(nonces.claims).toEqual([]);
    expect(await authenticateInternalCall(request(signed()), { ...options, nonces })).toBe('ticket-service');
  });

  it('refuses the call with SERVICE_UNAVAILABLE when the nonce store cannot answer', async () => {
    const failures: unknown[] = [];
    const broken: NonceStore = { kind: 'redis', claim: () => Promise.reject(new Error('connection refused')), purgeExpired: () => Promise.resolve(0) };
    const code = await asyncCodeOf(() =>
      authenticateInternalCall(request(signed()), { ...options, nonces: broken, onStoreFailure: (error) => failures.push(error) }),
    );
    expect(code).toBe('SERVICE_UNAVAILABLE');
    expect(failures).toHaveLength(1);
  });
});
