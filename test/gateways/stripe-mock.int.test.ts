import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createStripeClient, createStripeGateway } from '../../src/gateways/stripe.js';

const host = process.env.STRIPE_API_HOST || undefined;

// stripe-mock (github.com/stripe/stripe-mock) is not reachable here; set STRIPE_API_HOST (and
// STRIPE_API_PORT, STRIPE_API_PROTOCOL=http) to run the adapter against it.
describe.runIf(host)('Stripe adapter against stripe-mock (STRIPE_API_HOST)', () => {
  const gateway = createStripeGateway(
    createStripeClient({
      secretKey: 'sk_test_123',
      host: host!,
      ...(process.env.STRIPE_API_PORT ? { port: Number(process.env.STRIPE_API_PORT) } : {}),
      protocol: process.env.STRIPE_API_PROTOCOL === 'https' ? 'https' : 'http',
    }),
  );

  it('creates and confirms a PaymentIntent, then refunds it', async () => {
    const charged = await gateway.charge({ idempotencyKey: randomUUID(), amount: 1_000, currency: 'USD', paymentMethodId: 'pm_card_visa', metadata: { paymentId: randomUUID() } });
    expect(['succeeded', 'requires_action', 'declined']).toContain(charged.kind);
    if (charged.kind !== 'succeeded') return;
    expect(charged.reference).toMatch(/^pi_/);
    const refund = await gateway.refund({ idempotencyKey: randomUUID(), reference: charged.reference, amount: 500, metadata: {} });
    expect(refund.kind).toBe('succeeded');
  });

  it('authorizes with manual capture, captures and voids', async () => {
    const held = await gateway.authorize({ idempotencyKey: randomUUID(), amount: 1_000, currency: 'USD', paymentMethodId: 'pm_card_visa', metadata: {} });
    if (held.kind !== 'succeeded') return;
    expect((await gateway.capture({ idempotencyKey: randomUUID(), reference: held.reference, amount: 1_000 })).kind).toBe('succeeded');
    expect(['voided', 'failed']).toContain((await gateway.void({ idempotencyKey: randomUUID(), reference: held.reference })).kind);
  });
});
