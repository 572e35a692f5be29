import { randomUUID } from 'node:crypto';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentStreamId } from '../../src/events/payment.js';
import { createSandboxGateway } from '../../src/gateways/sandbox.js';
import type { Tessera } from '../../src/composition.js';
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

    beforeAll(async () => {
      db = await backend.open();
      // The process managers stay stopped: only webhooks move these payments.
      payments = tesseraOver(db, { config: testConfig({ PM_RETRY_INITIAL_MS: '1000', PM_MAX_ATTEMPTS: '5' }),
        gateway: createSandboxGateway(db.sql),
        clock: () => now,
      });
      const venueId = randomUUID();
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

    it('holds a dashboard refund that arrives before the capture, then applies it once the capture is recorded', async () => {
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
      expect(await payments.services.webhooks.receive(stripeEvent('customer.created', { id: 'cus_1' }))).toMatchObject({ status: 'ignored' });
    });
  });
}
