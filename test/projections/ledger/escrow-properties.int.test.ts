import { randomUUID } from 'node:crypto';
import { customerRefundsAccount } from '../../../src/projections/ledger/accounts.js';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { escrowHandler } from '../../../src/commands/escrow.js';
import { quotePurchase } from '../../../src/domain/purchase-quote.js';
import { splitResale } from '../../../src/domain/resale.js';
import type { Chain } from '../../../src/domain/fees.js';
import { paymentStreamId, type PaymentCaptured } from '../../../src/events/payment.js';
import { mintBatchStreamId, type NftBatchMinted } from '../../../src/events/minting.js';
import { accountBalance, trialBalance } from '../../../src/projections/ledger/queries.js';
import { ledger } from '../../../src/projections/ledger/projection.js';
import type { ReadSide } from '../../../src/projections/engine/read-side.js';
import type { Position } from '../../../src/eventstore/event-store.js';
import { metadata } from '../../support/events.js';
import { context } from '../../support/payments.js';
import { onEveryDialect, type ReadModelDatabase } from '../../support/read-model-databases.js';

const chain = fc.constantFrom<Chain>('polygon', 'solana');

const purchase = fc.record({ kind: fc.constant('purchase' as const), ticketPrice: fc.integer({ min: 1, max: 5_000_000 }), ticketCount: fc.integer({ min: 1, max: 10 }), chain });
const escrow = fc.record({
  kind: fc.constant('escrow' as const),
  price: fc.integer({ min: 1, max: 50_000_000 }),
  venueRoyaltyBps: fc.integer({ min: 0, max: 3_000 }),
  artistRoyaltyBps: fc.integer({ min: 0, max: 2_000 }),
  platformFeeBps: fc.integer({ min: 0, max: 2_000 }),
  artist: fc.boolean(),
  outcome: fc.constantFrom('released' as const, 'refunded' as const, 'refunded_unpaid' as const),
  /** The NFT transfer's gas, recorded before the outcome, after a refund (the deadline won the race), or never submitted. */
  transferGas: fc.option(fc.integer({ min: 1, max: 100_000 }), { nil: undefined }),
  transferAfterRefund: fc.boolean(),
});
const gas = fc.record({ kind: fc.constant('gas' as const), gasFee: fc.integer({ min: 1, max: 100_000 }), tickets: fc.integer({ min: 1, max: 100 }), chain });
const operation = fc.oneof(purchase, escrow, gas);
type Operation = typeof operation extends fc.Arbitrary<infer O> ? O : never;

/** Where the last write of a run landed: the ledger is read once it has passed it. */
let last: Position | null = null;

const append = async (db: ReadModelDatabase, stream: string, event: { type: string; data: unknown }) => {
  ({ position: last } = await db.store.append(stream, [{ id: randomUUID(), metadata: metadata(), ...event }], { expected: 'any' }));
};

/** Runs one operation through the real deciders and events; answers the escrow id it made, if any. */
async function run(db: ReadModelDatabase, run: string, op: Operation): Promise<{ escrowId: string; refundedUnpaid: boolean; gas: number } | undefined> {
  switch (op.kind) {
    case 'purchase': {
      const paymentId = randomUUID();
      const quote = quotePurchase({ ticketPrice: op.ticketPrice, ticketCount: op.ticketCount, venueAddress: { city: 'Nashville', state: 'TN' }, trailingVolume: 0, chain: op.chain });
      const captured: PaymentCaptured = {
        type: 'PaymentCaptured',
        data: { paymentId, venueId: run, userId: run, eventId: run, currency: 'USD', amount: quote.total, ticketPrice: quote.ticketPrice, gateway: 'sandbox', gatewayReference: `pi_${paymentId}`, processingCost: quote.processingCost.amount, quote },
      };
      await append(db, paymentStreamId(paymentId), captured);
      return undefined;
    }
    case 'gas': {
      const batchId = randomUUID();
      const minted: NftBatchMinted = {
        type: 'NftBatchMinted',
        data: { batchId, chain: op.chain, txHash: `0x${batchId}`, gasFee: op.gasFee, currency: 'USD', tickets: Array.from({ length: op.tickets }, () => ({ ticketId: randomUUID(), paymentId: randomUUID() })) },
      };
      await append(db, mintBatchStreamId(batchId), minted);
      return { escrowId: '', refundedUnpaid: false, gas: op.gasFee };
    }
    case 'escrow': {
      const escrowId = randomUUID();
      const split = splitResale(op.price, {
        maxPriceBps: 25_000,
        minPriceBps: 5_000,
        venueRoyaltyBps: op.venueRoyaltyBps,
        artistRoyaltyBps: op.artistRoyaltyBps,
        platformFeeBps: op.platformFeeBps,
        ...(op.artist ? { artistId: run } : {}),
      });
      const send = async (command: Parameters<typeof escrowHandler.handle>[2]) => {
        last = (await escrowHandler.handle(db.store, escrowId, command, context({ commandId: randomUUID() }))).position ?? last;
      };
      await send({
        type: 'CreateEscrow',
        data: { escrowId, listingId: randomUUID(), ticketId: randomUUID(), buyerId: run, sellerId: run, venueId: run, eventId: run, chain: 'polygon', currency: 'USD', amount: op.price, split, paymentMethodId: 'pm_card_visa', releaseTimeoutMs: 1_000, createdAt: '2026-11-22T12:00:00.000Z' },
      });
      await send({ type: 'RecordFunding', data: { gateway: 'sandbox', gatewayReference: `pi_${escrowId}`, fundedAt: '2026-11-22T12:00:01.000Z' } });
      const submitTransfer = async () => {
        if (op.transferGas === undefined) return;
        await send({ type: 'RecordTransferSubmission', data: { txHash: `0x${escrowId}`, gasFee: op.transferGas, currency: 'USD', submittedAt: '2026-11-22T12:00:01.500Z' } });
      };
      if (op.outcome === 'released' || !op.transferAfterRefund) await submitTransfer();
      if (op.outcome === 'released') {
        await send({ type: 'ReleaseEscrow', data: { transferTxHash: '0x1', releasedAt: '2026-11-22T12:00:02.000Z' } });
      } else {
        await send({ type: 'RefundEscrow', data: { reason: 'transfer_not_confirmed', refundedAt: '2026-11-22T12:00:02.000Z' } });
        if (op.outcome === 'refunded') await send({ type: 'RecordRefundPaid', data: { gatewayReference: `re_${escrowId}` } });
        if (op.transferAfterRefund) await submitTransfer();
      }
      return { escrowId, refundedUnpaid: op.outcome === 'refunded_unpaid', gas: op.transferGas ?? 0 };
    }
    default: {
      const unknown: never = op;
      throw new Error(`unknown operation ${JSON.stringify(unknown)}`);
    }
  }
}

const balanceOf = async (readSide: ReadSide, account: string) =>
  (await accountBalance(readSide.db, account).catch(() => null))?.balances.find((b) => b.currency === 'USD');

onEveryDialect('resale ledger properties', (open, dialect) => {
  let db: ReadModelDatabase;
  let readSide: ReadSide;

  beforeAll(async () => {
    db = await open();
    readSide = db.readSide({ projections: [ledger] });
    await readSide.start();
  });
  afterAll(() => db.close());

  it('keeps the trial balance at zero with purchases, escrows and gas mixed, empties every escrow account, and books every mint and transfer gas', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 8 }), async (operations) => {
        const runId = randomUUID().slice(0, 8);
        const escrows = [];
        const gasBefore = (await balanceOf(readSide, 'platform:gas'))?.debits ?? 0n;
        let gas = 0n;
        for (const op of operations) {
          const made = await run(db, runId, op);
          gas += BigInt(made?.gas ?? 0);
          if (made && op.kind === 'escrow') escrows.push({ ...made, price: op.price });
        }
        expect(await readSide.waitFor('ledger', last!, 20_000)).toBe(true);
        const trial = await trialBalance(readSide.db);
        expect(trial.balanced).toBe(true);
        expect(trial.currencies.every((c) => c.net === 0n)).toBe(true);
        for (const { escrowId, price } of escrows) {
          const held = await balanceOf(readSide, `escrow:${escrowId}`);
          expect(held).toMatchObject({ balance: 0n, debits: BigInt(price), credits: BigInt(price) });
        }
        // What a refund owes the buyer is still owed only where the gateway has not paid it.
        const owed = escrows.filter((e) => e.refundedUnpaid).reduce((sum, e) => sum + BigInt(e.price), 0n);
        expect((await balanceOf(readSide, customerRefundsAccount('tenant-test', runId)))?.balance ?? 0n).toBe(-owed);
        // Every gas paid on chain, the mint batches' and the escrow transfers', is the platform's cost.
        expect(((await balanceOf(readSide, 'platform:gas'))?.debits ?? 0n) - gasBefore).toBe(gas);
      }),
      { numRuns: dialect === 'pglite' ? 10 : 15 },
    );
  });
});
