import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentIdFor } from '../../src/commands/payment.js';
import { derivedId } from '../../src/domain/ids.js';
import { TesseraError } from '../../src/errors.js';
import { paymentStreamId } from '../../src/events/payment.js';
import { createSandboxGateway, type SandboxGateway } from '../../src/gateways/sandbox.js';
import type { Tessera } from '../../src/composition.js';
import { parkedIdFor } from '../../src/processmanagers/runtime/process-manager.js';
import { backends, type Backend, tesseraOver } from '../support/backends.js';
import { flaky, type FlakyGateway } from '../support/gateways.js';
import { context, eventually, NASHVILLE, purchaseInput, testConfig, principal, registerPrices } from '../support/payments.js';

const purchase = purchaseInput;

for (const backend of backends()) {
  describe(`payments module on ${backend.name}`, () => {
    let db: Backend;
    let sandbox: SandboxGateway;
    let gateway: FlakyGateway;
    let payments: Tessera;
    const venueId = randomUUID();

    beforeAll(async () => {
      db = await backend.open();
      sandbox = createSandboxGateway(db.sql);
      gateway = flaky(sandbox);
      payments = tesseraOver(db, { config: testConfig({ PENDING_PAYMENT_TTL_MS: '1500' }),
        gateway,
        idleWaitMs: 20,
      });
      await payments.start();
      await payments.services.venues.saveProfile({ venueId, name: 'Ryman', address: NASHVILLE, tierOverride: 'pro' }, context());
      await registerPrices(payments.services.catalogue, purchaseInput(venueId));
    });
    afterAll(async () => {
      await payments.stop();
      await db.close();
    });

    it('captures a purchase and charges the seed example total exactly once', async () => {
      const outcome = await payments.services.payments.processPayment(purchase(venueId, 'pm_card_visa'), context());
      expect(outcome).toMatchObject({ status: 'completed', settled: true });
      expect(outcome.fees).toEqual({ ticketPrice: 10_000, platformFee: 790, gasEstimate: 50, stateTax: 700, localTax: 225, total: 11_765 });
      const intents = await sandbox.intentsFor(outcome.paymentId);
      expect(intents).toHaveLength(1);
      expect(intents[0]).toMatchObject({ captured: 11_765, status: 'succeeded' });
    });

    it('records a purchase made now as PaymentRequested version 2, every line priced by the catalogue', async () => {
      const outcome = await payments.services.payments.processPayment(purchase(venueId, 'pm_card_visa'), context());
      const { rows } = await db.sql.query<{ event_type: string; data: unknown; metadata: unknown }>(
        'SELECT event_type, data, metadata FROM tessera_events WHERE stream_id = $1 AND revision = 0',
        [paymentStreamId(outcome.paymentId)],
      );
      expect(rows).toMatchObject([
        { event_type: 'PaymentRequested', metadata: { schemaVersion: 2 }, data: { tickets: [{ quantity: 1, unitPrice: 10_000, priceSource: 'catalogue' }] } },
      ]);
    });

    it('answers a retried purchase from its first run without charging again', async () => {
      const ctx = context();
      const first = await payments.services.payments.processPayment(purchase(venueId, 'pm_card_visa'), ctx);
      const again = await payments.services.payments.processPayment(purchase(venueId, 'pm_card_visa'), ctx);
      expect(again).toMatchObject({ paymentId: first.paymentId, status: 'completed', replayed: true });
      expect(await sandbox.intentsFor(first.paymentId)).toHaveLength(1);
    });

    it('fails a declined card with the reason the gateway gave', async () => {
      const outcome = await payments.services.payments.processPayment(purchase(venueId, 'pm_card_chargeDeclinedInsufficientFunds'), context());
      expect(outcome).toMatchObject({
        status: 'failed',
        failure: { code: 'card_declined', declineCode: 'insufficient_funds', reason: 'Your card has insufficient funds.' },
      });
    });

    it('refuses a purchase at a venue that was never registered', async () => {
      await expect(payments.services.payments.processPayment(purchase(randomUUID(), 'pm_card_visa'), context())).rejects.toMatchObject({
        code: 'VENUE_NOT_FOUND',
      });
    });

    it('refunds in part, refuses more than remains, then refunds the rest', async () => {
      const paid = await payments.services.payments.processPayment(purchase(venueId, 'pm_card_visa'), context());
      const requester = principal('buyer-1');
      const partial = await payments.services.payments.refundPayment({ paymentId: paid.paymentId, amount: 5_000, reason: 'one seat', requester }, context());
      expect(partial.refund).toMatchObject({ amount: 5_000, status: 'pending' });
      await expect(
        payments.services.payments.refundPayment({ paymentId: paid.paymentId, amount: 7_000, reason: 'too much', requester }, context()),
      ).rejects.toMatchObject({ code: 'REFUND_EXCEEDS_ORIGINAL' });
      const rest = await payments.services.payments.refundPayment({ paymentId: paid.paymentId, reason: 'the rest', requester }, context());
      expect(rest.refund.amount).toBe(6_765);
      const state = await eventually(async () => {
        const s = await payments.services.payments.getPayment(paid.paymentId);
        return s.status === 'refunded' ? s : undefined;
      });
      expect(state.refunded).toBe(11_765);
      expect((await sandbox.intentsFor(paid.paymentId))[0]).toMatchObject({ refunded: 11_765 });
    });

    it('lets only the buyer or an admin refund', async () => {
      const paid = await payments.services.payments.processPayment(purchase(venueId, 'pm_card_visa'), context());
      await expect(
        payments.services.payments.refundPayment({ paymentId: paid.paymentId, reason: 'x', requester: principal('someone') }, context()),
      ).rejects.toMatchObject({ code: 'FORBIDDEN' });
      const byAdmin = await payments.services.payments.refundPayment(
        { paymentId: paid.paymentId, reason: 'x', requester: principal('ops', 'admin') },
        context(),
      );
      expect(byAdmin.refund.amount).toBe(11_765);
    });

    it('records a refund the card refuses as failed, leaving the payment refundable', async () => {
      const paid = await payments.services.payments.processPayment(purchase(venueId, 'pm_card_refundFail'), context());
      await payments.services.payments.refundPayment({ paymentId: paid.paymentId, reason: 'x', requester: principal('buyer-1') }, context());
      const state = await eventually(async () => {
        const s = await payments.services.payments.getPayment(paid.paymentId);
        return Object.values(s.refunds).some((r) => r.status === 'failed') ? s : undefined;
      });
      expect(state).toMatchObject({ status: 'completed', refundPending: 0, refunded: 0 });
    });

    it('keeps a payment needing 3-D Secure pending, then expires it and cancels its intent', async () => {
      const outcome = await payments.services.payments.processPayment(purchase(venueId, 'pm_card_authenticationRequired'), context());
      expect(outcome).toMatchObject({ status: 'pending', settled: true, nextAction: { type: 'authenticate' } });
      const expired = await eventually(async () => {
        const s = await payments.services.payments.getPayment(outcome.paymentId);
        return s.status === 'expired' && s.authorizationVoided ? s : undefined;
      });
      expect(expired.captured).toBe(0);
      expect((await sandbox.intentsFor(outcome.paymentId))[0]).toMatchObject({ status: 'canceled', captured: 0 });
    });

    it('retries a failing gateway, parks the work, and completes it when retried from parking', async () => {
      gateway.failNext(3);
      const ctx = context();
      const outcome = await payments.services.payments.processPayment(purchase(venueId, 'pm_card_visa'), ctx, { waitMs: 0 });
      const paymentId = outcome.paymentId;
      const parked = await eventually(async () => {
        const list = await payments.services.parked.listParked();
        return list.find((w) => w.source === 'pm:purchase' && w.item.streamId === paymentStreamId(paymentId));
      });
      expect(parked).toMatchObject({ attempts: 3, resolvedAt: null });
      expect(parked.error).toContain('simulated gateway outage');
      expect((await payments.services.payments.getPayment(paymentId)).status).toBe('processing');

      const retried = await payments.services.parked.retryParked(parked.id);
      expect(retried.resolvedAt).not.toBeNull();
      expect((await payments.services.payments.getPayment(paymentId)).status).toBe('completed');
      expect(await sandbox.intentsFor(paymentId)).toHaveLength(1);
      expect(parked.id).toBe(parkedIdFor('purchase', String(parked.item.eventId)));
    });

    it('answers processing when the gateway has not answered within the wait', async () => {
      const outcome = await payments.services.payments.processPayment(purchase(venueId, 'pm_card_visa'), context(), { waitMs: 0 });
      expect(outcome).toMatchObject({ settled: false, pollPath: `/api/v1/payments/transaction/${outcome.paymentId}` });
      expect(['pending', 'processing']).toContain(outcome.status);
    });

    it('derives the payment id from the command id', async () => {
      const ctx = context();
      const outcome = await payments.services.payments.processPayment(purchase(venueId, 'pm_card_visa'), ctx);
      expect(outcome.paymentId).toBe(paymentIdFor(ctx.commandId));
      expect(outcome.paymentId).toBe(derivedId(ctx.commandId, 'payment'));
    });

    it('throws TesseraErrors with stable codes for unknown payments', async () => {
      const error: unknown = await payments.services.payments.getPayment(randomUUID()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TesseraError);
      expect(error).toMatchObject({ code: 'PAYMENT_NOT_FOUND', status: 404 });
    });
  });
}
