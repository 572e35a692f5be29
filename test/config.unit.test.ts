import { ConfigError, eventStoreKind, loadConfig } from '../src/config.js';
import { describe, expect, it } from 'vitest';

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

  it('mails by SMTP only when SMTP_URL is set, and then needs MAIL_FROM', () => {
    expect(loadConfig({}).SMTP_URL).toBeUndefined();
    const config = loadConfig({ SMTP_URL: 'smtp://user:pass@mail.example.com:587', MAIL_FROM: 'Tessera <tickets@example.com>' });
    expect(config).toMatchObject({ SMTP_URL: 'smtp://user:pass@mail.example.com:587', MAIL_FROM: 'Tessera <tickets@example.com>' });
    expect(() => loadConfig({ SMTP_URL: 'smtp://mail.example.com' })).toThrow(/MAIL_FROM: is required when SMTP_URL is set/);
    expect(() => loadConfig({ SMTP_URL: 'http://mail.example.com', MAIL_FROM: 'a@b.c' })).toThrow(/SMTP_URL/);
    expect(() => loadConfig({ MAIL_FROM: 'tickets' })).toThrow(/MAIL_FROM/);
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
      WAITING_ROOM_SECRET: 'w'.repeat(32),
    };
    expect(loadConfig({ NODE_ENV: 'production', ...secrets }).NODE_ENV).toBe('production');
    expect(() => loadConfig({ NODE_ENV: 'production', ...secrets, GROUP_PAYMENT_LINK_SECRET: undefined })).toThrow(/GROUP_PAYMENT_LINK_SECRET: required in production/);
    expect(() => loadConfig({ NODE_ENV: 'production', ...secrets, WAITING_ROOM_SECRET: undefined })).toThrow(/WAITING_ROOM_SECRET: required in production/);
    expect(() => loadConfig({ WAITING_ROOM_SECRET: 'short' })).toThrow(/WAITING_ROOM_SECRET: must be at least 32 characters/);
  });

  it('refuses production where a service that may write prices or venues shares the common secret', () => {
    const base = { NODE_ENV: 'production', JWT_SECRET: 's'.repeat(32), INTERNAL_SERVICE_SECRET: 'i'.repeat(32), GROUP_PAYMENT_LINK_SECRET: 'g'.repeat(32), WAITING_ROOM_SECRET: 'w'.repeat(32) };
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

describe('payments configuration', () => {
  it('defaults to the sandbox gateway, automatic capture, a 10 s wait and a 15 min pending TTL', () => {
    expect(loadConfig({})).toMatchObject({
      GATEWAY: 'sandbox',
      PAYMENT_CAPTURE_MODE: 'automatic',
      PAYMENT_WAIT_MS: 10_000,
      PENDING_PAYMENT_TTL_MS: 900_000,
      SANDBOX_FAILURE_RATE: 0,
      GAS_DEFAULT_CHAIN: 'polygon',
    });
  });

  it('requires a Stripe key when the Stripe gateway is chosen, without echoing secrets', () => {
    expect(() => loadConfig({ GATEWAY: 'stripe' })).toThrow(ConfigError);
    expect(() => loadConfig({ GATEWAY: 'stripe' })).toThrow(/STRIPE_SECRET_KEY: is required when GATEWAY=stripe/);
    expect(loadConfig({ GATEWAY: 'stripe', STRIPE_SECRET_KEY: 'sk_test_1', STRIPE_API_HOST: 'localhost', STRIPE_API_PORT: '12111', STRIPE_API_PROTOCOL: 'http' })).toMatchObject({
      STRIPE_API_PORT: 12_111,
    });
  });

  it('refuses a failure rate outside 0..1', () => {
    expect(() => loadConfig({ SANDBOX_FAILURE_RATE: '1.5' })).toThrow(/SANDBOX_FAILURE_RATE/);
  });
});

describe('resale and minting configuration', () => {
  it("defaults to the seed's caps (50% to 250% of face value) and a 10% venue, 5% platform split", () => {
    expect(loadConfig({})).toMatchObject({
      RESALE_MAX_PRICE_BPS: 25_000,
      RESALE_MIN_PRICE_BPS: 5_000,
      RESALE_VENUE_ROYALTY_BPS: 1_000,
      RESALE_PLATFORM_FEE_BPS: 500,
      RESALE_VENUE_RULES: {},
      MINT_MAX_ATTEMPTS: 3,
      MINT_VENUE_PRIORITY: {},
    });
  });

  it('reads per-venue rules and priorities from JSON', () => {
    const config = loadConfig({
      RESALE_VENUE_RULES: '{"v1": {"maxPriceBps": 15000, "artistId": "artist-7"}}',
      MINT_VENUE_PRIORITY: '{"v1": "urgent"}',
    });
    expect(config.RESALE_VENUE_RULES).toEqual({ v1: { maxPriceBps: 15_000, artistId: 'artist-7' } });
    expect(config.MINT_VENUE_PRIORITY).toEqual({ v1: 'urgent' });
  });

  it('stops on malformed JSON, an unknown rule, a bad priority, or rates that take more than the price', () => {
    expect(() => loadConfig({ RESALE_VENUE_RULES: '{not json' })).toThrow(/RESALE_VENUE_RULES: must be a JSON object/);
    expect(() => loadConfig({ RESALE_VENUE_RULES: '{"v1": {"markup": 3}}' })).toThrow(/RESALE_VENUE_RULES/);
    expect(() => loadConfig({ MINT_VENUE_PRIORITY: '{"v1": "asap"}' })).toThrow(/MINT_VENUE_PRIORITY/);
    expect(() => loadConfig({ RESALE_VENUE_ROYALTY_BPS: '6000', RESALE_PLATFORM_FEE_BPS: '5000' })).toThrow(/more than 10000 bps/);
    expect(() => loadConfig({ RESALE_MIN_PRICE_BPS: '9000', RESALE_MAX_PRICE_BPS: '8000' })).toThrow(/RESALE_MIN_PRICE_BPS/);
    expect(() => loadConfig({ RESALE_VENUE_RULES: '{"v1": {"venueRoyaltyBps": 9900}}' })).toThrow(/RESALE_VENUE_RULES: venue v1: royalties and fee/);
    expect(() => loadConfig({ RESALE_VENUE_RULES: '{"v1": {"minPriceBps": 9000, "maxPriceBps": 8000}}' })).toThrow(/venue v1: minimum price above/);
  });

  it('publishes to no broker by default, to tessera.events when one is set, and refuses a bad URL or broker list', () => {
    const none = loadConfig({});
    expect(none).toMatchObject({ RABBITMQ_EXCHANGE: 'tessera.events', KAFKA_BROKERS: [], KAFKA_TOPIC: 'tessera.events', KAFKA_CLIENT_ID: 'tessera' });
    expect(none.RABBITMQ_URL).toBeUndefined();
    const set = loadConfig({ RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672', KAFKA_BROKERS: 'k1:9092, k2:9092' });
    expect(set).toMatchObject({ RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672', KAFKA_BROKERS: ['k1:9092', 'k2:9092'] });
    expect(() => loadConfig({ RABBITMQ_URL: 'http://rabbit' })).toThrow(/RABBITMQ_URL: must be a URL starting with amqp:\/\//);
    expect(() => loadConfig({ KAFKA_BROKERS: 'kafka' })).toThrow(/KAFKA_BROKERS/);
    expect(() => loadConfig({ KAFKA_TOPIC: 'a topic' })).toThrow(/KAFKA_TOPIC/);
  });
});
