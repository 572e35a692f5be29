import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balancesUnder } from '../../../src/projections/ledger/queries.js';
import type { Tessera } from '../../../src/composition.js';
import { projections } from '../../../src/projections/all.js';
import { findPayment, refundsOf, taxCollectionsBetween } from '../../../src/projections/payments/queries.js';
import { type ReadSide } from '../../../src/projections/engine/read-side.js';
import { backends, type Backend, tesseraOver } from '../../support/backends.js';
import { appendCompletedGroup } from '../../support/group-purchase.js';
import { lastPositionOf } from '../../support/payment-records.js';
import { context, eventually, NASHVILLE, purchaseInput, testConfig, principal, registerPrices } from '../../support/payments.js';

for (const backend of backends()) {
  describe(`the payments and tax read models on ${backend.name}`, () => {
    let db: Backend;
    let payments: Tessera;
    let readSide: ReadSide;
    const venueId = randomUUID();
    const paymentIds: string[] = [];
    let groupStateTax = 0;

    beforeAll(async () => {
      db = await backend.open();
      payments = tesseraOver(db, { config: testConfig({ PROJECTION_BATCH_SIZE: '7' }), idleWaitMs: 20 });
      readSide = payments.readSide;
      await payments.start();
      await payments.services.venues.saveProfile({ venueId, name: 'Ryman', address: NASHVILLE, tierOverride: 'pro' }, context());
      await registerPrices(payments.services.catalogue, purchaseInput(venueId));
      for (const method of ['pm_card_visa', 'pm_card_visa', 'pm_card_chargeDeclined', 'pm_card_visa']) {
        paymentIds.push((await payments.services.payments.processPayment(purchaseInput(venueId, method), context())).paymentId);
      }
      for (const [paymentId, amount] of [[paymentIds[0]!, 3_000], [paymentIds[1]!, undefined]] as const) {
        await payments.services.payments.refundPayment(
          { paymentId, reason: 'changed plans', requester: principal('buyer-1'), ...(amount === undefined ? {} : { amount }) },
          context(),
        );
      }
      // The refunds' gateway calls have happened once both payments say so.
      await eventually(async () => {
        const statuses = (await Promise.all(paymentIds.slice(0, 2).map((id) => payments.services.payments.getPayment(id)))).map((p) => p.status);
        return statuses.join() === 'partially_refunded,refunded' ? true : undefined;
      });
      // A group purchase is a purchase too: its taxes are collected like a payment's.
      const group = await appendCompletedGroup(db.store, {
        groupId: randomUUID(),
        venueId,
        unitPrice: 5_000,
        members: [
          { ticketCount: 2, payerId: 'payer-a' },
          { ticketCount: 1, payerId: 'payer-b' },
        ],
      });
      const completed = group.events.find((e) => e.type === 'GroupPaymentCompleted')!;
      groupStateTax = completed.type === 'GroupPaymentCompleted' ? completed.data.quote.taxes.find((t) => t.kind === 'state')!.amount : 0;
      const last = await lastPositionOf(db.store, paymentIds);
      for (const projection of projections) {
        expect(await readSide.waitFor(projection.name, last, 15_000)).toBe(true);
        expect(await readSide.waitFor(projection.name, group.position, 15_000)).toBe(true);
      }
    });
    afterAll(async () => {
      await payments.stop();
      await db.close();
    });

    it('holds each payment with the status and amounts the write side has, in batches that split its events', async () => {
      for (const id of paymentIds) {
        const written = await payments.services.payments.getPayment(id);
        const read = await findPayment(readSide.db, id);
        expect(read).toMatchObject({ status: written.status, captured: written.captured, refunded: written.refunded, amount: written.request!.quote.total });
      }
      const refunds = await refundsOf(readSide.db, paymentIds[0]!);
      expect(refunds).toEqual([expect.objectContaining({ amount: 3_000, status: 'succeeded' })]);
    });

    it("agrees with the ledger: each tax's net collection is what its payable account owes", async () => {
      const day = new Date().toISOString().slice(0, 10);
      const report = await taxCollectionsBetween(readSide.db, { startDate: day, endDate: day });
      const accounts = await balancesUnder(readSide.db, 'tax:');
      expect(report.totals.map((t) => [`tax:${t.jurisdiction}.${t.kind}:payable`, t.net]).sort()).toEqual(
        accounts.accounts.map((a) => [a.account, -Number(a.balance)]).sort(),
      );
      expect(groupStateTax).toBeGreaterThan(0);
      expect(report.totals.find((t) => t.kind === 'state')).toMatchObject({ collected: 2_100 + groupStateTax, transactions: 4 });
    });

    it('rebuilds into exactly the rows it holds live (verify)', async () => {
      const report = await readSide.verify();
      expect(report.projections.map((p) => p.name)).toEqual(projections.map(({ name }) => name));
      expect(report.ok, JSON.stringify(report.projections)).toBe(true);
      const { rows } = await sql<{ n: string }>`SELECT count(*)::text AS n FROM payment_summaries`.execute(readSide.db);
      expect(Number(rows[0]!.n)).toBe(paymentIds.length);
    });

    it('is caught by verify when a row is altered by hand', async () => {
      await sql`UPDATE payment_summaries SET captured = 1 WHERE payment_id = ${paymentIds[3]!}::uuid`.execute(readSide.db);
      const report = await readSide.verify();
      expect(report.ok).toBe(false);
      expect(report.projections.filter((p) => !p.ok).map((p) => p.name)).toEqual(['payments']);
    });
  });
}
