import { describe, expect, it } from 'vitest';
import { ConfigError, eventStoreKind, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('runs on the embedded defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 3005, DATA_DIR: './data', NODE_ENV: 'development' });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(eventStoreKind(config)).toBe('pglite');
  });

  it('picks PostgreSQL when DATABASE_URL is set and EventStoreDB when EVENTSTORE_URL is', () => {
    expect(eventStoreKind(loadConfig({ DATABASE_URL: 'postgres://localhost/tessera' }))).toBe('postgres');
    expect(
      eventStoreKind(loadConfig({ DATABASE_URL: 'postgres://localhost/t', EVENTSTORE_URL: 'esdb://localhost:2113?tls=false' })),
    ).toBe('eventstoredb');
  });

  it('sizes projection batches by default and refuses a batch of nothing', () => {
    expect(loadConfig({})).toMatchObject({ PROJECTION_BATCH_SIZE: 1000, PROJECTION_REBUILD_BATCH_SIZE: 2000, PROJECTION_RETRY_MAX_MS: 30_000 });
    expect(loadConfig({ PROJECTION_REBUILD_BATCH_SIZE: '20000' }).PROJECTION_REBUILD_BATCH_SIZE).toBe(20_000);
    expect(() => loadConfig({ PROJECTION_BATCH_SIZE: '0' })).toThrow(/PROJECTION_BATCH_SIZE/);
  });

  it('gives signed internal calls 30 seconds of clock skew and holds payouts a day after a payout account changes', () => {
    expect(loadConfig({})).toMatchObject({ INTERNAL_SIGNATURE_MAX_SKEW_SECONDS: 30, PAYOUT_ACCOUNT_CHANGE_HOLD_MS: 86_400_000 });
    expect(loadConfig({ PAYOUT_ACCOUNT_CHANGE_HOLD_MS: '0' }).PAYOUT_ACCOUNT_CHANGE_HOLD_MS).toBe(0);
    expect(() => loadConfig({ INTERNAL_SIGNATURE_MAX_SKEW_SECONDS: '0' })).toThrow(/INTERNAL_SIGNATURE_MAX_SKEW_SECONDS/);
    expect(() => loadConfig({ INTERNAL_SIGNATURE_MAX_SKEW_SECONDS: '3600' })).toThrow(/INTERNAL_SIGNATURE_MAX_SKEW_SECONDS/);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', REDIS_URL: '' }).DATABASE_URL).toBeUndefined();
  });

  it('stops with a message naming each bad variable', () => {
    const error = (() => {
      try {
        loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://secret@host/db', LOG_LEVEL: 'loud' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/PORT: .*\(got "eighty"\)/);
    expect(message).toMatch(/DATABASE_URL: must be a URL starting with postgres:\/\//);
    expect(message).toMatch(/LOG_LEVEL/);
    // A URL may carry a password, so its value is never echoed.
    expect(message).not.toContain('secret');
  });

  it('refuses to start production without a JWT key or an internal secret, naming them', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_PUBLIC_KEY: required in production[\s\S]*INTERNAL_SERVICE_SECRET/);
    const secrets = {
      JWT_SECRET: 's'.repeat(32),
      INTERNAL_SERVICE_SECRET: 'i'.repeat(32),
      INTERNAL_SERVICE_SECRETS: JSON.stringify({ 'ticket-service': 't'.repeat(32), 'venue-service': 'v'.repeat(32) }),
      GROUP_PAYMENT_LINK_SECRET: 'g'.repeat(32),
    };
    expect(loadConfig({ NODE_ENV: 'production', ...secrets }).NODE_ENV).toBe('production');
    expect(() => loadConfig({ NODE_ENV: 'production', ...secrets, GROUP_PAYMENT_LINK_SECRET: undefined })).toThrow(/GROUP_PAYMENT_LINK_SECRET: required in production/);
  });

  it('refuses production where a service that may write prices or venues shares the common secret', () => {
    const base = { NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32), INTERNAL_SERVICE_SECRET: 'i'.repeat(32), GROUP_PAYMENT_LINK_SECRET: 'g'.repeat(32) };
    expect(() => loadConfig(base)).toThrow(/INTERNAL_SERVICE_SECRETS: needs a secret of its own for ticket-service, venue-service/);
    // Services that may write nothing can share; a deployment without the writing services needs no own secrets.
    expect(loadConfig({ ...base, INTERNAL_SERVICES: 'order-service,notification-service' }).INTERNAL_SERVICE_SECRETS).toEqual({});
    expect(() => loadConfig({ INTERNAL_SERVICE_SECRETS: JSON.stringify({ 'mystery-service': 'm'.repeat(32) }) })).toThrow(
      /INTERNAL_SERVICE_SECRETS: names mystery-service, which is not in INTERNAL_SERVICES/,
    );
    const sameAsShared = JSON.stringify({ 'ticket-service': 'i'.repeat(32), 'venue-service': 'v'.repeat(32) });
    expect(() => loadConfig({ ...base, INTERNAL_SERVICE_SECRETS: sameAsShared })).toThrow(/gives ticket-service the shared INTERNAL_SERVICE_SECRET/);
  });

  it('lets development run without keys (the server makes ephemeral ones)', () => {
    const config = loadConfig({});
    expect(config.JWT_SECRET).toBeUndefined();
    expect(config.JWT_PUBLIC_KEY).toBeUndefined();
  });

  it('refuses short secrets and a public key that is not PEM, without echoing them', () => {
    const error = (() => {
      try {
        loadConfig({ JWT_SECRET: 'too-short-secret', JWT_PUBLIC_KEY: 'ssh-rsa AAAA' });
      } catch (e) {
        return e as ConfigError;
      }
      return undefined;
    })();
    expect(error?.problems).toEqual([expect.stringMatching(/^JWT_PUBLIC_KEY: must be a PEM/), expect.stringMatching(/^JWT_SECRET: must be at least 32/)]);
    expect(error?.message).not.toContain('too-short-secret');
  });

  it('unescapes the newlines of a PEM key given on one line', () => {
    const pem = '-----BEGIN PUBLIC KEY-----\\nMIIB\\n-----END PUBLIC KEY-----';
    expect(loadConfig({ JWT_PUBLIC_KEY: pem }).JWT_PUBLIC_KEY).toBe('-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----');
  });

  it("takes the seed's limits and idempotency times by default", () => {
    expect(loadConfig({})).toMatchObject({
      RATE_LIMIT_GLOBAL_MAX: 100,
      RATE_LIMIT_USER_MAX: 60,
      RATE_LIMIT_ROUTE_MAX: 20,
      RATE_LIMIT_WINDOW_MS: 60_000,
      IDEMPOTENCY_LEASE_MS: 30_000,
      IDEMPOTENCY_SUCCESS_TTL_SECONDS: 86_400,
      IDEMPOTENCY_CLIENT_ERROR_TTL_SECONDS: 3_600,
      INTERNAL_SERVICES: ['ticket-service', 'order-service', 'venue-service', 'marketplace-service', 'notification-service'],
    });
  });

  it('gives a request 30 s to arrive and its headers 10 s, and refuses a headers timeout above the request timeout', () => {
    expect(loadConfig({})).toMatchObject({ REQUEST_TIMEOUT_MS: 30_000, HEADERS_TIMEOUT_MS: 10_000 });
    expect(loadConfig({ REQUEST_TIMEOUT_MS: '5000', HEADERS_TIMEOUT_MS: '5000' })).toMatchObject({ REQUEST_TIMEOUT_MS: 5_000, HEADERS_TIMEOUT_MS: 5_000 });
    expect(() => loadConfig({ REQUEST_TIMEOUT_MS: '5000' })).toThrow(/HEADERS_TIMEOUT_MS: is above REQUEST_TIMEOUT_MS/);
    expect(() => loadConfig({ REQUEST_TIMEOUT_MS: '0' })).toThrow(/REQUEST_TIMEOUT_MS/);
  });
});
