import type Stripe from 'stripe';
import { z } from 'zod';
import { TesseraError } from '../../errors.js';
import { checkStripeEvent, IGNORED_REASONS, verifyStripeEvent } from '../../gateways/stripe-events.js';
import type { RouteModule, SignatureCheck } from '../route.js';

const received = z.object({
  received: z.literal(true),
  eventId: z.string(),
  duplicate: z.boolean().describe('True when this event id had been received before (nothing was done again)'),
  status: z
    .enum(['received', 'processed', 'ignored', 'held', 'parked'])
    .describe(
      'held: it builds on a fact not recorded yet and is retried; parked: it cannot apply, an operator must look; ' +
        'ignored: acknowledged and stored, nothing to do (see `reason`)',
    ),
  reason: z
    .enum(IGNORED_REASONS)
    .optional()
    .describe("Why an ignored event was: a type Tessera does not act on, nothing to record, or not one of Tessera's payments"),
});

/**
 * Stripe signs each delivery (`Stripe-Signature`, a timestamp and an HMAC of the raw body under
 * STRIPE_WEBHOOK_SECRET); the SDK checks it with a 5-minute tolerance. Without a secret the
 * route answers 503, which Stripe retries for days, rather than dropping events.
 */
export function stripeSignature(secret: string | undefined): SignatureCheck<Stripe.Event> {
  return {
    signer: 'stripe',
    securityScheme: 'stripeSignature',
    verify(headers, rawBody) {
      if (!secret) throw new TesseraError('SERVICE_UNAVAILABLE', 'Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET)');
      const signature = headers['stripe-signature'];
      if (typeof signature !== 'string' || signature === '') {
        throw new TesseraError('WEBHOOK_SIGNATURE_INVALID', 'Stripe-Signature header is missing');
      }
      return verifyStripeEvent(rawBody, signature, secret);
    },
  };
}

/** `POST /api/v1/webhooks/stripe`: verified, deduplicated by event id, mapped onto Payment commands. */
export const stripeWebhookRoutes: RouteModule = {
  name: 'stripe-webhooks',
  features: (config) => ({ webhooks: config.STRIPE_WEBHOOK_SECRET !== undefined }),
  register(api) {
    api.metrics.registerMetric(api.services.metrics.stripeWebhooksIgnored);
    api.route({
      method: 'POST',
      url: '/api/v1/webhooks/stripe',
      summary: 'Stripe webhook deliveries',
      description:
        'Authenticated by the Stripe-Signature header, not a token. Stripe sends no Idempotency-Key: each event is ' +
        'stored once by its Stripe id, so a redelivery answers `duplicate: true` and does nothing again. A fact that ' +
        'arrives before the one it builds on (a refund before its capture) is held and retried, never forced. An event ' +
        "about a PaymentIntent that is not one of Tessera's payments (no metadata.paymentId, a paymentId Tessera did not " +
        'make, or an intent Tessera never indexed) is acknowledged as `ignored`, neither retried nor parked. ' +
        'A bad or stale signature is 400 WEBHOOK_SIGNATURE_INVALID; a signed event without a string id (evt_...) and type, ' +
        'an integer `created` and an object `data.object`, or without the fields its type is read for, is 400 ' +
        'WEBHOOK_PAYLOAD_INVALID. Either way nothing is stored.',
      tags: ['webhooks'],
      auth: { signature: stripeSignature(api.config.STRIPE_WEBHOOK_SECRET) },
      idempotent: false,
      response: received,
      handler: async ({ signed, log }) => {
        // Checked here rather than with the signature: a malformed event from Stripe must not count against its address limit.
        const event = checkStripeEvent(signed);
        const receipt = await api.services.webhooks.receive(event);
        const reason = receipt.ignoredReason;
        log.info({ stripeEventId: receipt.stripeEventId, type: event.type, status: receipt.status, duplicate: receipt.duplicate, reason }, 'stripe webhook');
        return { received: true as const, eventId: receipt.stripeEventId, duplicate: receipt.duplicate, status: receipt.status, ...(reason ? { reason } : {}) };
      },
    });
  },
};
