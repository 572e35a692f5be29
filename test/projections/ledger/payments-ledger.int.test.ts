import { randomUUID } from 'node:crypto';
import { customerRefundsAccount } from '../../../src/projections/ledger/accounts.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountBalance, balancesUnder, trialBalance } from '../../../src/projections/ledger/queries.js';
import type { Tessera } from '../../../src/composition.js';
import { type ReadSide } from '../../../src/projections/engine/read-side.js';
import { backends, type Backend, tesseraOver } from '../../support/backends.js';
import { lastPositionOf } from '../../support/payment-records.js';
import { context, NASHVILLE, purchaseInput, testConfig, principal, registerPrices, TEST_TENANT_ID } from '../../support/payments.js';

for (const backend of backends()) {
  describe(`the ledger of payments on ${backend.name}`, () => {
    let db: Backend;
    let payments: Tessera;
    let readSide: ReadSide;
    const venueId = randomUUID();

    beforeAll(async () => {
      db = await backend.open();
      payments = tesseraOver(db, { config: testConfig(), idleWaitMs: 20 });
      readSide = payments.readSide;
      await payments.start();
      await payments.services.venues.saveProfile({ venueId, name: 'Ryman', address: NASHVILLE, tierOverride: 'pro' }, context());
      await registerPrices(payments.services.catalogue, purchaseInput(venueId));
    });
    afterAll(async () => {
      await payments.stop();
      await db.close();
    });

    // Up to the payment's own last event: the store's head can lag behind it while any transaction
    // on the server (another test's) still runs.
    const settled = async (paymentId: string) => {
      expect(await readSide.waitFor('ledger', await lastPositionOf(db.store, [paymentId]), 15_000)).toBe(true);
    };
    const balanceOf = async (account: string) => Number((await accountBalance(readSide.db, account)).balances[0]!.balance);

    it('books a purchase, then a partial refund in two steps, and stays balanced', async () => {
      const purchase = await payments.services.payments.processPayment(purchaseInput(venueId), context());
      expect(purchase.status).toBe('completed');
      await settled(purchase.paymentId);
      expect(await balanceOf(`venue:${venueId}:pending`)).toBe(-9_900);
      expect(await balanceOf('tax:tn-nashville.entertainment:payable')).toBe(-100);

      const refund = await payments.services.payments.refundPayment(
        { paymentId: purchase.paymentId, amount: 5_000, reason: 'changed plans', requester: principal('buyer-1') },
        context(),
      );
      expect(refund.refund.amount).toBe(5_000);
      await expect.poll(async () => (await payments.services.payments.getPayment(purchase.paymentId)).status, { timeout: 15_000 }).toBe(
        'partially_refunded',
      );
      await settled(purchase.paymentId);

      // The refund was paid, so nothing is left owed to the buyer.
      expect(await balanceOf(customerRefundsAccount(TEST_TENANT_ID, 'buyer-1'))).toBe(0);
      const venue = await balancesUnder(readSide.db, `venue:${venueId}:`);
      const allocation = refund.allocation;
      const venueBack = allocation.ticketPrice - allocation.venueTaxReversed.reduce((sum, line) => sum + line.amount, 0);
      expect(Number(venue.totals[0]!.balance)).toBe(-(9_900 - venueBack));
      const trial = await trialBalance(readSide.db);
      expect(trial.balanced).toBe(true);
      expect(trial.currencies.map((c) => c.net)).toEqual([0n]);
    });

    it("books the refund of a buyer whose token's sub is no account id (auth0|…), and keeps booking everyone's sales", async () => {
      const sub = 'auth0|5f7c8ec7c33c6c004bbafe82 jane@example.com';
      const input = { ...purchaseInput(venueId), userId: sub };
      const purchase = await payments.services.payments.processPayment(input, context());
      await payments.services.payments.refundPayment(
        { paymentId: purchase.paymentId, amount: 1_000, reason: 'changed plans', requester: principal(sub) },
        context(),
      );
      await expect.poll(async () => (await payments.services.payments.getPayment(purchase.paymentId)).status, { timeout: 15_000 }).toBe('partially_refunded');
      const next = await payments.services.payments.processPayment(purchaseInput(venueId), context());
      await settled(purchase.paymentId);
      await settled(next.paymentId);
      expect((await readSide.status()).find((p) => p.name === 'ledger')).toMatchObject({ consecutiveFailures: 0 });
      expect(await balanceOf(customerRefundsAccount(TEST_TENANT_ID, sub))).toBe(0);
      // The same sub in another tenant is another person, with an account of their own.
      expect(customerRefundsAccount('tenant-other', sub)).not.toBe(customerRefundsAccount(TEST_TENANT_ID, sub));
    });
  });
}
