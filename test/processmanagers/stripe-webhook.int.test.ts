import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentIdFor } from '../../src/commands/payment.js';
import { paymentStreamId } from '../../src/events/payment.js';
import { sqlGatewayReferences } from '../../src/gateways/gateway-references.js';
import { createSandboxGateway } from '../../src/gateways/sandbox.js';
import type { Tessera } from '../../src/composition.js';
import { STRIPE_WEBHOOK_RETRY } from '../../src/processmanagers/stripe-webhook.js';
import { backends, type Backend, tesseraOver } from '../support/backends.js';
import { context, NASHVILLE, purchaseInput, testConfig, registerPrices } from '../support/payments.js';

const stripeEvent = (type: string, object: Record<string, unknown>) =>
  ({ id: `evt_${randomUUID()}`, object: 'event', type, data: { object } }) as unknown as Stripe.Event;

for (const backend of backends()) {
  describe(`Stripe webhooks on ${backend.name}`, () => {
    let db: Backend;
    let payments: Tessera;
    let now = new Date();
    let paymentId: string;
    let total: number;
    let venueId: string;

    beforeAll(async () => {
      db = await backend.open();
      // The process managers stay stopped: only webhooks move these payments.
      payments = tesseraOver(db, { config: testConfig({ PM_RETRY_INITIAL_MS: '1000', PM_MAX_ATTEMPTS: '5' }),
        gateway: createSandboxGateway(db.sql),
        clock: () => now,
      });
      venueId = randomUUID();
      await payments.services.venues.saveProfile({ venueId, name: 'Ryman', address: NASHVILLE }, context());
      await registerPrices(payments.services.catalogue, purchaseInput(venueId));
      const outcome = await payments.services.payments.processPayment(
        purchaseInput(venueId),
        context({ now }),
        { waitMs: 0 },
      );
      paymentId = outcome.paymentId;
      total = outcome.fees.total;
    });
    afterAll(async () => {
      await db.close();
    });

    const advance = async (ms: number) => {
      now = new Date(now.getTime() + ms);
      await payments.runtime.deadlines.pollOnce();
    };

    const ignoredCount = async (reason: string) =>
      (await payments.services.metrics.stripeWebhooksIgnored.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

    const stored = async (stripeEventId: string) =>
      (await db.sql.query<{ status: string; ignored_reason: string | null }>('SELECT status, ignored_reason FROM tessera_stripe_webhooks WHERE stripe_event_id = $1', [stripeEventId])).rows[0];

    it('holds a dashboard refund that arrives before the capture, then applies it once the capture is recorded', async () => {
      // The purchase process manager indexes an intent as soon as the gateway names it, before any outcome.
      await sqlGatewayReferences(db.sql).remember('stripe', 'pi_hook', paymentId);
      const refund = stripeEvent('refund.created', { id: 're_dash', amount: 1_000, status: 'succeeded', payment_intent: 'pi_hook', metadata: {} });
      expect(await payments.services.webhooks.receive(refund)).toMatchObject({ duplicate: false, status: 'held' });

      const succeeded = stripeEvent('payment_intent.succeeded', { id: 'pi_hook', amount_received: total, metadata: { paymentId } });
      expect(await payments.services.webhooks.receive(succeeded)).toMatchObject({ status: 'processed' });
      expect((await payments.services.payments.getPayment(paymentId)).status).toBe('completed');

      await advance(1_000);
      const state = await payments.services.payments.getPayment(paymentId);
      expect(state).toMatchObject({ status: 'partially_refunded', refunded: 1_000 });
    });

    it('answers a redelivered event as a duplicate and writes nothing', async () => {
      const refund = stripeEvent('refund.created', { id: 're_dup', amount: 500, status: 'succeeded', payment_intent: 'pi_hook', metadata: {} });
      expect(await payments.services.webhooks.receive(refund)).toMatchObject({ duplicate: false, status: 'processed' });
      const before = (await db.store.readStream(paymentStreamId(paymentId))).length;
      expect(await payments.services.webhooks.receive(refund)).toEqual({ stripeEventId: refund.id, duplicate: true, status: 'processed' });
      // The same refund under a new Stripe event id is recognised by its refund id.
      const again = { ...refund, id: `evt_${randomUUID()}` } as Stripe.Event;
      expect(await payments.services.webhooks.receive(again)).toMatchObject({ duplicate: false, status: 'processed' });
      expect((await db.store.readStream(paymentStreamId(paymentId))).length).toBe(before);
      expect((await payments.services.payments.getPayment(paymentId)).refunded).toBe(1_500);
    });

    it('holds a dispute close that arrives before its open, and closes it after', async () => {
      const closed = stripeEvent('charge.dispute.closed', { id: 'dp_1', status: 'won', payment_intent: 'pi_hook', metadata: {} });
      expect(await payments.services.webhooks.receive(closed)).toMatchObject({ status: 'held' });
      const opened = stripeEvent('charge.dispute.created', { id: 'dp_1', amount: 2_000, reason: 'fraudulent', payment_intent: 'pi_hook', metadata: {} });
      expect(await payments.services.webhooks.receive(opened)).toMatchObject({ status: 'processed' });
      expect((await payments.services.payments.getPayment(paymentId)).status).toBe('disputed');
      await advance(1_000);
      expect((await payments.services.payments.getPayment(paymentId)).status).toBe('partially_refunded');
    });

    it('parks an event that cannot apply, and keeps it visible for an operator', async () => {
      const tooMuch = stripeEvent('refund.created', { id: 're_big', amount: total * 2, status: 'succeeded', payment_intent: 'pi_hook', metadata: {} });
      expect(await payments.services.webhooks.receive(tooMuch)).toMatchObject({ status: 'parked' });
      const parked = await payments.services.parked.listParked();
      expect(parked.find((w) => w.id === `webhook:stripe:${tooMuch.id}`)).toMatchObject({ source: 'webhook:stripe' });
      const retried = await payments.services.parked.retryParked(`webhook:stripe:${tooMuch.id}`);
      expect(retried.resolvedAt).toBeNull();
    });

    it('ignores event types it does not act on', async () => {
      expect(await payments.services.webhooks.receive(stripeEvent('customer.created', { id: 'cus_1' }))).toMatchObject({ status: 'ignored', ignoredReason: 'unhandled_type' });
    });

    it.each<[string, Record<string, string>]>([
      ["another product's intent, with no metadata.paymentId", { orderId: 'A-1' }],
      ["a paymentId Tessera did not make", { paymentId: randomUUID() }],
      ["a share of one of Tessera's group payments", { groupId: randomUUID(), memberId: randomUUID() }],
    ])('acknowledges %s as ignored at once: stored with its reason, counted, never retried or parked', async (_case, metadata) => {
      const before = await ignoredCount('not_a_tessera_payment');
      const foreign = stripeEvent('payment_intent.succeeded', { id: `pi_${randomUUID()}`, amount_received: 500, metadata });
      expect(await payments.services.webhooks.receive(foreign)).toEqual({ stripeEventId: foreign.id, duplicate: false, status: 'ignored', ignoredReason: 'not_a_tessera_payment' });
      expect(await stored(foreign.id)).toEqual({ status: 'ignored', ignored_reason: 'not_a_tessera_payment' });
      expect(await ignoredCount('not_a_tessera_payment')).toBe(before + 1);
      // Its retry deadline finds nothing to do, however often it fires.
      for (let i = 0; i < 6; i++) await advance(60_000);
      expect(await payments.services.parked.listParked()).not.toContainEqual(expect.objectContaining({ id: `webhook:stripe:${foreign.id}` }));
      expect(await stored(foreign.id)).toMatchObject({ status: 'ignored' });
      expect(await payments.services.webhooks.receive(foreign)).toMatchObject({ duplicate: true, status: 'ignored', ignoredReason: 'not_a_tessera_payment' });
      expect(await ignoredCount('not_a_tessera_payment')).toBe(before + 1);
    });

    it('holds a refund or dispute that names only a PaymentIntent Tessera never indexed, then parks it for an operator: money leaving is never dropped', async () => {
      for (const event of [
        stripeEvent('refund.created', { id: `re_${randomUUID()}`, amount: 100, status: 'succeeded', payment_intent: `pi_${randomUUID()}`, metadata: {} }),
        stripeEvent('charge.dispute.created', { id: `dp_${randomUUID()}`, amount: 100, reason: 'fraudulent', payment_intent: `pi_${randomUUID()}`, metadata: {} }),
      ]) {
        expect(await payments.services.webhooks.receive(event)).toMatchObject({ status: 'held' });
        for (let i = 0; i < 8; i++) await advance(60_000);
        // The retry deadline gave up: parked for an operator, visible in /admin/parked, its event still held.
        expect(await stored(event.id)).toMatchObject({ status: 'held' });
        expect(await payments.services.parked.listParked()).toContainEqual(expect.objectContaining({ id: `deadline:${STRIPE_WEBHOOK_RETRY}:${event.id}` }));
      }
    });

    it("acknowledges a refund Tessera made of a resale charge or a group share as recorded_by_tessera: its process manager recorded it", async () => {
      for (const metadata of [{ escrowId: randomUUID() }, { groupId: randomUUID(), memberId: randomUUID() }]) {
        const before = await ignoredCount('recorded_by_tessera');
        const refund = stripeEvent('refund.created', { id: `re_${randomUUID()}`, amount: 100, status: 'succeeded', payment_intent: `pi_${randomUUID()}`, metadata });
        expect(await payments.services.webhooks.receive(refund)).toMatchObject({ status: 'ignored', ignoredReason: 'recorded_by_tessera' });
        expect(await ignoredCount('recorded_by_tessera')).toBe(before + 1);
      }
    });

    it('holds an event for a payment id of Tessera whose stream is not readable yet, and applies it once the payment is recorded', async () => {
      const commandId = randomUUID();
      const early = paymentIdFor(commandId);
      const capture = stripeEvent('payment_intent.succeeded', { id: `pi_${randomUUID()}`, amount_received: total, metadata: { paymentId: early } });
      expect(await payments.services.webhooks.receive(capture)).toMatchObject({ status: 'held' });
      expect(await stored(capture.id)).toEqual({ status: 'held', ignored_reason: null });

      const recorded = await payments.services.payments.processPayment(purchaseInput(venueId), context({ now, commandId }), { waitMs: 0 });
      expect(recorded.paymentId).toBe(early);
      await advance(1_000);
      expect(await stored(capture.id)).toMatchObject({ status: 'processed' });
      expect((await payments.services.payments.getPayment(early)).status).toBe('completed');
    });
  });
}
