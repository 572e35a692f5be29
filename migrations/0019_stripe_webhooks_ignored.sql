-- Issue 23: a Stripe event about a PaymentIntent that is not one of Tessera's payments (another
-- product on the same Stripe account, a group share, a resale charge) is acknowledged and stored
-- with status `ignored` instead of being retried and parked. This says why
-- (src/gateways/stripe-events.ts, IGNORED_REASONS); null for the events Tessera acted on.
ALTER TABLE tessera_stripe_webhooks ADD COLUMN ignored_reason text;
