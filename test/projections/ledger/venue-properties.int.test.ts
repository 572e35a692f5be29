import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { isTesseraError } from '../../../src/errors.js';
import { comparePositions } from '../../../src/eventstore/event-store.js';
import { balancesUnder, trialBalance } from '../../../src/projections/ledger/queries.js';
import { createLogger } from '../../../src/logger.js';
import { composeTessera, type Tessera } from '../../../src/composition.js';
import { openTestStorage, testEnv, type TestStorage } from '../../support/app.js';
import { lastPositionOf } from '../../support/payment-records.js';
import { sqlBackends } from '../../support/payments-http.js';
import { context, NASHVILLE, principal, registerPrices, ticketTypeAtPrice } from '../../support/payments.js';
import { eventually } from '../../support/poll.js';

const EVENT = '6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b';

/**
 * One step of a venue's life: a purchase (with a card whose refunds the gateway may refuse), a
 * refund of the last purchase (before or after it settles), a group purchase (every member
 * pays), or a payout request.
 */
const operation = fc.oneof(
  fc.record({
    kind: fc.constant('purchase' as const),
    tickets: fc.integer({ min: 1, max: 4 }),
    price: fc.integer({ min: 2_000, max: 40_000 }),
    card: fc.constantFrom('pm_card_visa', 'pm_card_refundFail'),
  }),
  fc.record({ kind: fc.constant('refund' as const), percent: fc.integer({ min: 1, max: 100 }) }),
  fc.record({ kind: fc.constant('group' as const), members: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }), price: fc.integer({ min: 1_000, max: 30_000 }) }),
  fc.record({ kind: fc.constant('payout' as const), amount: fc.integer({ min: 5_000, max: 120_000 }), instant: fc.boolean() }),
);
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;

const owed = (balance: bigint | undefined) => (balance === undefined ? 0 : Number(-balance));

describe.each(sqlBackends())('venue money properties on %s', (backend) => {
  let opened: TestStorage;
  let tessera: Tessera;

  beforeAll(async () => {
    opened = await openTestStorage(backend);
    const config = loadConfig(
      testEnv({
        DEADLINE_POLL_MS: '10',
        PM_RETRY_INITIAL_MS: '5',
        PM_RETRY_MAX_MS: '20',
        PM_MAX_ATTEMPTS: '3',
        PAYMENT_WAIT_MS: '5000',
        SETTLEMENT_DELAY_MS: '0',
        VENUE_RESERVE_BPS: '1500',
        VENUE_RESERVE_PERIOD_MS: '50',
        GROUP_PAYMENT_REMINDER_MS: '0',
      }),
    );
    tessera = composeTessera({ config, logger: createLogger({ level: 'silent' }), storage: opened.storage });
    await tessera.start();
  });
  afterAll(async () => {
    await tessera.stop();
    await opened.cleanup();
  });

  const settledSales = async (venueId: string) =>
    (await opened.storage.eventStore.readStream(`venue-account-${venueId}`)).filter((e) => e.type === 'VenueSaleSettled').length;

  async function apply(venueId: string, op: Operation, salesSoFar: number, payments: string[]): Promise<void> {
    if (op.kind === 'refund') {
      const paymentId = payments.at(-1);
      if (!paymentId) return;
      const payment = await tessera.services.payments.getPayment(paymentId);
      const amount = Math.max(1, Math.floor((payment.captured * op.percent) / 100));
      try {
        await tessera.services.payments.refundPayment({ paymentId, amount, reason: 'property', requester: principal('admin-1', 'admin') }, context());
      } catch (error) {
        // A second refund may ask for more than is left: refused, and it must move nothing.
        if (!isTesseraError(error) || error.code !== 'REFUND_EXCEEDS_ORIGINAL') throw error;
      }
      return;
    }
    if (op.kind === 'purchase') {
      const purchase = {
        userId: 'buyer-1',
        venueId,
        eventId: EVENT,
        tickets: [{ ticketTypeId: ticketTypeAtPrice(op.price), quantity: op.tickets, expectedPrice: op.price }],
        paymentMethod: { type: 'card' as const, paymentMethodId: op.card },
      };
      await registerPrices(tessera.services.catalogue, purchase);
      const outcome = await tessera.services.payments.processPayment(purchase, context());
      payments.push(outcome.paymentId);
      return;
    }
    if (op.kind === 'group') {
      const tickets = op.members.reduce((a, b) => a + b, 0);
      const selection = { venueId, eventId: EVENT, tickets: [{ ticketTypeId: ticketTypeAtPrice(op.price), quantity: tickets, expectedPrice: op.price }] };
      await registerPrices(tessera.services.catalogue, selection);
      const { state } = await tessera.services.groups.create(
        {
          organizerId: 'organizer-1',
          ...selection,
          members: op.members.map((ticketCount, i) => ({ email: `m${i}@example.com`, name: `M${i}`, ticketCount })),
        },
        context(),
      );
      for (const member of state.members) {
        await tessera.services.groups.contribute(
          { groupId: state.group!.groupId, memberId: member.memberId, paymentMethodId: 'pm_card_visa' },
          principal('organizer-1'),
          context(),
        );
      }
      return;
    }
    // Pay out of what the sales so far made available (settlement is a deadline away, however short).
    await eventually(async () => ((await settledSales(venueId)) === salesSoFar ? true : undefined), { timeoutMs: 10_000 });
    try {
      await tessera.services.venues.requestPayout({ venueId, amount: op.amount, instant: op.instant, currency: 'USD', requestedBy: 'user:manager' }, context());
    } catch (error) {
      // A refused payout (below the minimum, more than is payable) is part of the property: it must move nothing.
      if (!isTesseraError(error) || !['INSUFFICIENT_FUNDS', 'PAYOUT_BELOW_MINIMUM'].includes(error.code)) throw error;
    }
  }

  it('keeps the trial balance at zero and each venue ledger equal to its account', async () => {
    let payoutsMade = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 2, maxLength: 5 }), async (ops) => {
        const venueId = randomUUID();
        await tessera.services.venues.saveProfile({ venueId, name: 'Ryman', address: NASHVILLE }, context());
        const isSale = (op: Operation) => op.kind === 'purchase' || op.kind === 'group';
        const payments: string[] = [];
        for (const [index, op] of ops.entries()) await apply(venueId, op, ops.slice(0, index).filter(isSale).length, payments);
        const sales = ops.filter(isSale).length;
        const refundsSettled = async () => {
          for (const paymentId of payments) {
            const payment = await tessera.services.payments.getPayment(paymentId);
            if (Object.values(payment.refunds).some((r) => r.status === 'pending')) return false;
            const takebacks = (await tessera.services.venues.account(venueId)).sales[paymentId]?.takebacks ?? {};
            if (Object.keys(takebacks).length !== Object.keys(payment.refunds).length) return false;
            // A refund the gateway refused is answered only once its takeback went back to the venue.
            if (Object.values(payment.refunds).some((r) => r.status === 'failed' && !takebacks[r.refundId]?.returned)) return false;
          }
          return true;
        };
        // Quiet: every sale settled and its reserve released, every payout answered by the gateway,
        // every refund answered and told to the venue account.
        const account = await eventually(
          async () => {
            const state = await tessera.services.venues.account(venueId);
            const settled = await settledSales(venueId);
            const busy = Object.values(state.payouts).some((p) => p.status === 'requested') || (state.balances.USD?.reserved ?? 0) > 0;
            return settled === sales && !busy && (await refundsSettled()) ? tessera.services.venues.account(venueId) : undefined;
          },
          { timeoutMs: 15_000 },
        );
        // The ledger has booked this run's own last events, the account's and its payments' (never the
        // store's head, which may lag them on PostgreSQL and holds other runs' events).
        const last = (await opened.storage.eventStore.readStream(`venue-account-${venueId}`, { direction: 'backwards', maxCount: 1 }))[0];
        const own = [...(last ? [last.position] : []), ...(payments.length > 0 ? [await lastPositionOf(opened.storage.eventStore, payments)] : [])];
        if (own.length > 0) {
          const head = own.reduce((max, p) => (comparePositions(p, max) > 0 ? p : max));
          expect(await tessera.readSide.waitFor('ledger', head, 15_000)).toBe(true);
        }
        const trial = await trialBalance(tessera.readSide.db);
        expect(trial.currencies.map((c) => [c.currency, c.net])).toEqual(trial.currencies.map((c) => [c.currency, 0n]));
        const ledger = new Map((await balancesUnder(tessera.readSide.db, `venue:${venueId}:`)).accounts.map((a) => [a.account, a.balance]));
        const usd = account.balances.USD ?? { available: 0, reserved: 0, inTransit: 0, paidOut: 0 };
        expect(owed(ledger.get(`venue:${venueId}:pending`))).toBe(0);
        expect(owed(ledger.get(`venue:${venueId}:available`))).toBe(usd.available);
        expect(owed(ledger.get(`venue:${venueId}:reserved`))).toBe(usd.reserved);
        expect(owed(ledger.get(`venue:${venueId}:paid_out`))).toBe(usd.inTransit);
        payoutsMade += Object.keys(account.payouts).length;
      }),
      {
        numRuns: backend === 'pglite' ? 3 : 5,
        examples: [
          [
            [
              { kind: 'purchase', tickets: 4, price: 40_000, card: 'pm_card_visa' },
              { kind: 'payout', amount: 20_000, instant: true },
              { kind: 'refund', percent: 50 },
            ],
          ],
        ],
      },
    );
    // The runs took real payouts, not only refusals.
    expect(payoutsMade).toBeGreaterThan(0);
  });
});
