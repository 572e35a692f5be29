import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { paymentStreamId, type PaymentSubmitted } from '../../src/events/payment.js';
import type { PaymentGateway } from '../../src/gateways/gateway.js';
import { createSandboxGateway, type SandboxGateway } from '../../src/gateways/sandbox.js';
import { sqlGatewayReferences } from '../../src/gateways/gateway-references.js';

import { purchaseProcess } from '../../src/processmanagers/payment.js';
import { backends, type Backend, tesseraOver } from '../support/backends.js';
import { context, eventually, NASHVILLE, purchaseInput, testConfig, registerPrices } from '../support/payments.js';

class SimulatedCrash extends Error {}

/** The sandbox, but the process "dies" right after the gateway answered a charge. */
const crashingAfterCharge = (inner: SandboxGateway): PaymentGateway => ({
  ...inner,
  async charge(request) {
    await inner.charge(request);
    throw new SimulatedCrash('process killed after the gateway call, before the append');
  },
});

for (const backend of backends()) {
  describe(`purchase process manager crash on ${backend.name}`, () => {
    let db: Backend;
    beforeEach(async () => {
      db = await backend.open();
    });
    afterEach(async () => {
      await db.close();
    });

    it('charges the sandbox exactly once when the step is retried after a crash between gateway call and append', async () => {
      const sandbox = createSandboxGateway(db.sql);
      const config = testConfig();
      // Nothing started: the request is recorded and the process manager is stepped by hand.
      const first = tesseraOver(db, { config, gateway: sandbox });
      const venueId = randomUUID();
      await first.services.venues.saveProfile({ venueId, name: 'Ryman', address: NASHVILLE }, context());
      await registerPrices(first.services.catalogue, purchaseInput(venueId, 'pm_card_visa', 5_000, 2));
      const outcome = await first.services.payments.processPayment(
        purchaseInput(venueId, 'pm_card_visa', 5_000, 2),
        context(),
        { waitMs: 0 },
      );
      const stream = paymentStreamId(outcome.paymentId);
      const doomed = purchaseProcess({
        store: db.store,
        gateway: crashingAfterCharge(sandbox),
        references: sqlGatewayReferences(db.sql),
        deadlines: first.runtime.deadlines,
      });
      const [requested] = await db.store.readStream(stream);
      await doomed.handle(requested!);
      const submitted = (await db.store.readStream(stream))[1]!;
      expect(submitted.type).toBe('PaymentSubmitted');
      await expect(doomed.handle(submitted)).rejects.toBeInstanceOf(SimulatedCrash);
      const key = (submitted.data as PaymentSubmitted['data']).idempotencyKey;
      expect(await sandbox.callsFor(key)).toEqual({ calls: 1, executed: true });
      expect((await db.store.readStream(stream)).map((e) => e.type)).toEqual(['PaymentRequested', 'PaymentSubmitted']);

      // Restart: a fresh module resumes from the (never moved) checkpoint and handles both events again.
      const restarted = tesseraOver(db, { config, gateway: sandbox, idleWaitMs: 20 });
      await restarted.start();
      try {
        const state = await eventually(async () => {
          const s = await restarted.services.payments.getPayment(outcome.paymentId);
          return s.status === 'completed' ? s : undefined;
        });
        expect(state.captured).toBe(outcome.fees.total);
      } finally {
        await restarted.stop();
      }
      expect(await sandbox.callsFor(key)).toEqual({ calls: 2, executed: true });
      const intents = await sandbox.intentsFor(outcome.paymentId);
      expect(intents).toHaveLength(1);
      expect(intents[0]!.captured).toBe(outcome.fees.total);
      const types = (await db.store.readStream(stream)).map((e) => e.type);
      expect(types.filter((t) => t === 'PaymentCaptured')).toHaveLength(1);
      expect(types.filter((t) => t === 'PaymentSubmitted')).toHaveLength(1);
    });

    it('authorizes then captures in manual capture mode', async () => {
      const sandbox = createSandboxGateway(db.sql);
      const payments = tesseraOver(db, { config: testConfig({ PAYMENT_CAPTURE_MODE: 'manual' }),
        gateway: sandbox,
        idleWaitMs: 20,
      });
      await payments.start();
      try {
        const venueId = randomUUID();
        await payments.services.venues.saveProfile({ venueId, name: 'Orpheum', address: { ...NASHVILLE, city: 'Memphis' } }, context());
        await registerPrices(payments.services.catalogue, purchaseInput(venueId));
        const outcome = await payments.services.payments.processPayment(
          purchaseInput(venueId),
          context(),
        );
        expect(outcome.status).toBe('completed');
        // Memphis: 7% state tax on the buyer; the 1% entertainment tax is withheld from the venue.
        expect(outcome.fees).toMatchObject({ stateTax: 700, localTax: 0, total: 10_000 + 820 + 50 + 700 });
        expect(outcome.quote.venueProceeds).toBe(9_900);
        const types = (await db.store.readStream(paymentStreamId(outcome.paymentId))).map((e) => e.type);
        expect(types).toEqual(['PaymentRequested', 'PaymentSubmitted', 'PaymentAuthorized', 'PaymentCaptured']);
        expect((await sandbox.intentsFor(outcome.paymentId))[0]).toMatchObject({ authorized: 11_570, captured: 11_570 });
      } finally {
        await payments.stop();
      }
    });
  });
}
