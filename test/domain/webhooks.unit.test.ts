import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_SCHEDULE,
  endpointUrlProblem,
  isPrivateAddress,
  newWebhookSecret,
  nextAttemptAt,
  signatureHeader,
  verifySignature,
} from '../../src/domain/webhooks.js';

const at = new Date('2026-12-07T12:00:00Z');
const body = JSON.stringify({ id: 'evt-1', type: 'com.tessera.payment.completed' });

describe('webhook signatures', () => {
  it("sign the timestamp and the body together, as Stripe's v1 scheme does", () => {
    const secret = newWebhookSecret();
    const header = signatureHeader([secret], at, body);
    const t = at.getTime() / 1000;
    expect(header).toBe(`t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`);
    expect(verifySignature(header, body, secret, at)).toEqual({ ok: true, timestamp: t });
  });

  it('are refused for a changed body, another secret, a stale timestamp or a malformed header', () => {
    const secret = newWebhookSecret();
    const header = signatureHeader([secret], at, body);
    expect(verifySignature(header, `${body} `, secret, at)).toEqual({ ok: false, reason: 'no_match' });
    expect(verifySignature(header, body, newWebhookSecret(), at)).toEqual({ ok: false, reason: 'no_match' });
    expect(verifySignature(header, body, secret, new Date(at.getTime() + 301_000))).toEqual({ ok: false, reason: 'too_old' });
    for (const bad of [undefined, '', 'v1=abc', `t=${at.getTime() / 1000}`, 't=x,v1=00', `t=1,t=2,v1=${'0'.repeat(64)}`]) {
      expect(verifySignature(bad, body, secret, at).ok).toBe(false);
    }
  });

  it('carry one v1 per secret while one rotates out, and either secret verifies', () => {
    const [current, previous] = [newWebhookSecret(), newWebhookSecret()];
    const header = signatureHeader([current, previous], at, body);
    expect(header.match(/v1=/g)).toHaveLength(2);
    expect(verifySignature(header, body, current, at).ok).toBe(true);
    expect(verifySignature(header, body, previous, at).ok).toBe(true);
  });

  it('use secrets of 32 random bytes that never repeat', () => {
    const secrets = new Set(Array.from({ length: 100 }, newWebhookSecret));
    expect(secrets.size).toBe(100);
    for (const secret of secrets) expect(secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
  });
});

describe('the retry schedule', () => {
  it('doubles from 30 s to at most 6 h between attempts', () => {
    const giveUp = new Date(at.getTime() + DEFAULT_RETRY_SCHEDULE.windowMs);
    const waits = [1, 2, 3, 4, 10, 11, 30].map((attempts) => nextAttemptAt(attempts, at, giveUp, DEFAULT_RETRY_SCHEDULE)!.getTime() - at.getTime());
    expect(waits).toEqual([30_000, 60_000, 120_000, 240_000, 15_360_000, 21_600_000, 21_600_000]);
  });

  it('gives up once the next attempt would fall past three days, after about twenty attempts', () => {
    const created = at;
    const giveUp = new Date(created.getTime() + DEFAULT_RETRY_SCHEDULE.windowMs);
    let now = created;
    let attempts = 1;
    for (;;) {
      const next = nextAttemptAt(attempts, now, giveUp, DEFAULT_RETRY_SCHEDULE);
      if (!next) break;
      now = next;
      attempts += 1;
    }
    expect(attempts).toBeGreaterThanOrEqual(18);
    expect(attempts).toBeLessThanOrEqual(24);
    expect(now.getTime()).toBeLessThanOrEqual(giveUp.getTime());
    expect(giveUp.getTime() - now.getTime()).toBeLessThan(DEFAULT_RETRY_SCHEDULE.maxMs);
  });
});

describe('endpoint URLs', () => {
  const strict = { allowHttp: false, allowPrivateNetworks: false };

  it('must be https:// on a public host unless the server allows otherwise', () => {
    expect(endpointUrlProblem('https://hooks.example.com/tessera', strict)).toBeUndefined();
    expect(endpointUrlProblem('http://hooks.example.com/tessera', strict)).toBe('must be an https:// URL');
    expect(endpointUrlProblem('http://hooks.example.com/tessera', { ...strict, allowHttp: true })).toBeUndefined();
    expect(endpointUrlProblem('ftp://hooks.example.com', strict)).toBe('must be an https:// URL');
    expect(endpointUrlProblem('not a url', strict)).toBe('is not a URL');
    expect(endpointUrlProblem('https://user:pw@hooks.example.com/', strict)).toMatch(/credentials/);
  });

  it('may not point at loopback, private, link-local or metadata addresses, however they are written', () => {
    for (const url of [
      'https://localhost/x',
      'https://api.localhost/x',
      'https://127.0.0.1/x',
      'https://2130706433/x',
      'https://0x7f.1/x',
      'https://10.1.2.3/x',
      'https://172.16.0.1/x',
      'https://192.168.1.1/x',
      'https://169.254.169.254/latest/meta-data',
      'https://100.64.0.1/x',
      'https://0.0.0.0/x',
      'https://[::1]/x',
      'https://[::ffff:127.0.0.1]/x',
      'https://[::ffff:a9fe:a9fe]/x',
      'https://[fd00::1]/x',
      'https://[fe80::1]/x',
    ]) {
      expect(endpointUrlProblem(url, strict), url).toBe('must be on a public address');
      expect(endpointUrlProblem(url, { ...strict, allowPrivateNetworks: true }), url).toBeUndefined();
    }
    expect(endpointUrlProblem('https://93.184.215.14/x', strict)).toBeUndefined();
    expect(endpointUrlProblem('https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/x', strict)).toBeUndefined();
  });

  it('treat anything that is not an IP address as not public', () => {
    expect(isPrivateAddress('hooks.example.com')).toBe(true);
    expect(isPrivateAddress('8.8.8.8')).toBe(false);
    expect(isPrivateAddress('::ffff:8.8.8.8')).toBe(false);
    expect(isPrivateAddress('::ffff:10.0.0.1')).toBe(true);
  });
});
