import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountBalance, balancesUnder } from '../../../src/projections/ledger/queries.js';
import type { Tessera } from '../../../src/composition.js';
import { projections } from '../../../src/projections/all.js';
import { findPayment, recentStats, refundsOf, taxCollectionsBetween } from '../../../src/projections/payments/queries.js';
import { REVENUE_CHECK } from '../../../src/projections/payments/revenue-check.js';
import { type ReadSide } from '../../../src/projections/engine/read-side.js';
import { backends, type Backend, tesseraOver } from '../../support/backends.js';
import { appendFundedEscrow } from '../../support/escrow-purchase.js';
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
    const groupId = randomUUID();
    const escrowId = randomUUID();
    let groupTotal = 0;

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
        groupId,
        venueId,
        unitPrice: 5_000,
        members: [
          { ticketCount: 2, payerId: 'payer-a' },
          { ticketCount: 1, payerId: 'payer-b' },
        ],
      });
      const completed = group.events.find((e) => e.type === 'GroupPaymentCompleted')!;
      groupStateTax = completed.type === 'GroupPaymentCompleted' ? completed.data.quote.taxes.find((t) => t.kind === 'state')!.amount : 0;
      groupTotal = completed.type === 'GroupPaymentCompleted' ? completed.data.amount : 0;
      // A resale charge takes money into clearing too (held in escrow; disputed, so no process manager moves it on).
      const escrow = await appendFundedEscrow(db.store, { escrowId, venueId, price: 15_000, then: 'disputed' });
      const last = await lastPositionOf(db.store, paymentIds);
      for (const projection of projections) {
        for (const position of [last, group.position, escrow.position]) expect(await readSide.waitFor(projection.name, position, 15_000)).toBe(true);
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

    it('holds the group purchase and the resale charge as their own kinds, not as transactions of the payments API', async () => {
      const { rows } = await sql<{ kind: string; charge_id: string; status: string; captured: string }>`
        SELECT kind, charge_id::text AS charge_id, status, captured::text AS captured FROM payment_charges ORDER BY kind`.execute(readSide.db);
      expect(rows).toEqual([
        { kind: 'group', charge_id: groupId, status: 'completed', captured: String(groupTotal) },
        { kind: 'resale', charge_id: escrowId, status: 'disputed', captured: '15000' },
      ]);
      expect(await findPayment(readSide.db, groupId)).toBeNull();
      expect(await findPayment(readSide.db, escrowId)).toBeNull();
    });

    it("agrees with the ledger: admin revenue is what card purchases, the group and the resale took into gateway:clearing", async () => {
      const stats = await recentStats(readSide.db, new Date(0), new Date(Date.now() + 60_000));
      const clearing = await accountBalance(readSide.db, 'gateway:clearing');
      expect(stats.revenue_by_currency).toEqual({ USD: Number(clearing.balances.find((b) => b.currency === 'USD')!.debits) });
      expect(stats.revenue_by_kind.group).toEqual({ USD: groupTotal });
      expect(stats.revenue_by_kind.resale).toEqual({ USD: 15_000 });
      expect(stats).toMatchObject({ total_payments: paymentIds.length + 2, successful: paymentIds.length + 1, failed: 1 });
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

    it('rebuilds into exactly the rows it holds live (verify), its revenue agreeing with the ledger', async () => {
      const report = await readSide.verify();
      expect(report.projections.map((p) => p.name)).toEqual(projections.map(({ name }) => name));
      expect(report.ok, JSON.stringify(report.projections)).toBe(true);
      const payments = report.projections.find((p) => p.name === 'payments')!;
      expect(payments.checks.find((c) => c.name === REVENUE_CHECK)).toMatchObject({ ok: true, details: { comparison: 'equal' } });
      const { rows } = await sql<{ n: string }>`SELECT count(*)::text AS n FROM payment_summaries`.execute(readSide.db);
      expect(Number(rows[0]!.n)).toBe(paymentIds.length);
    });

    it("is caught by verify when a row is altered by hand, revenue no longer agreeing with the ledger's clearing debits", async () => {
      const before = (await recentStats(readSide.db, new Date(0), new Date(Date.now() + 60_000))).revenue_by_currency.USD!;
      const captured = (await findPayment(readSide.db, paymentIds[3]!))!.captured;
      await sql`UPDATE payment_summaries SET captured = 1 WHERE payment_id = ${paymentIds[3]!}::uuid`.execute(readSide.db);
      const report = await readSide.verify();
      expect(report.ok).toBe(false);
      expect(report.projections.filter((p) => !p.ok).map((p) => p.name)).toEqual(['payments']);
      const revenue = report.projections.find((p) => p.name === 'payments')!.checks.find((c) => c.name === REVENUE_CHECK);
      expect(revenue).toEqual({
        name: REVENUE_CHECK,
        ok: false,
        details: [{ currency: 'USD', adminRevenue: String(before - captured + 1), ledgerClearingDebits: String(before) }],
      });
    });
  });
}
