import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

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
