import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentHandler } from '../../src/commands/payment.js';
import type { Chain } from '../../src/domain/fees.js';
import type { RecordedEvent } from '../../src/eventstore/event-store.js';
import { paymentStreamId, type PaymentCaptured } from '../../src/events/payment.js';
import { createMintWorker, enqueueTickets, type MintWorker } from '../../src/processmanagers/minting.js';
import { MINT_BATCH_LIMIT, type Minter } from '../../src/gateways/minter.js';
import { createProcessManagerRuntime } from '../../src/processmanagers/runtime/runtime.js';
import { createSandboxChain } from '../../src/gateways/sandbox-chain.js';
import { sqlParking } from '../../src/processmanagers/runtime/parking.js';
import { groupPaymentStreamId } from '../../src/events/group-payment.js';
import { mintingProcess } from '../../src/processmanagers/minting.js';
import { appendCompletedGroup } from '../support/group-purchase.js';
import { captured, requestData } from '../aggregates/payment-fixtures.js';
import { backends, type Backend } from '../support/backends.js';
import { metadata } from '../support/events.js';
import { context, eventually, testConfig } from '../support/payments.js';
import { createKysely } from '../../src/db/kysely.js';
import { ticketIdFor } from '../../src/domain/ids.js';
import { nftStatusFor } from '../../src/projections/mint-status.js';

const URGENT_VENUE = 'venue-urgent';

const config = testConfig({
  MINT_POLL_MS: '10',
  MINT_MAX_ATTEMPTS: '20',
  MINT_RETRY_INITIAL_MS: '1',
  MINT_RETRY_MAX_MS: '5',
  MINT_VENUE_PRIORITY: JSON.stringify({ [URGENT_VENUE]: 'urgent' }),
});

function capturedEvent(paymentId: string, ticketCount: number, chain: Chain, venueId = 'venue-1'): PaymentCaptured {
  const base = captured as PaymentCaptured;
  return {
    type: 'PaymentCaptured',
    data: { ...base.data, paymentId, venueId, quote: { ...base.data.quote, ticketCount, gas: { ...base.data.quote.gas, chain } } },
  };
}

async function queueStatuses(db: Backend): Promise<Record<string, number>> {
  const { rows } = await db.sql.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM nft_mint_queue GROUP BY status');
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

/** The minting process manager and the mint worker, run by a process-manager runtime as the composition root runs them. */
interface Minting {
  readonly worker: MintWorker;
  start(): void;
  stop(): Promise<void>;
}

function minting(db: Backend, minter: Minter, clock: () => Date = () => new Date()): Minting {
  let worker!: MintWorker;
  const retry = { maxAttempts: config.PM_MAX_ATTEMPTS, initialMs: config.PM_RETRY_INITIAL_MS, maxMs: config.PM_RETRY_MAX_MS };
  const runtime = createProcessManagerRuntime(
    { store: db.store, sql: db.sql, retry, concurrency: config.PM_CONCURRENCY, deadlinePollMs: config.DEADLINE_POLL_MS, clock, subscription: { idleWaitMs: 20 } },
    ({ parking }) => {
      worker = createMintWorker({
        sql: db.sql,
        store: db.store,
        minter,
        parking,
        retry: { maxAttempts: config.MINT_MAX_ATTEMPTS, initialMs: config.MINT_RETRY_INITIAL_MS, maxMs: config.MINT_RETRY_MAX_MS },
        clock,
        pollMs: config.MINT_POLL_MS,
      });
      const priorityFor = (venueId: string) => config.MINT_VENUE_PRIORITY[venueId] ?? 'standard';
      return { processManagers: { minting: mintingProcess({ store: db.store, sql: db.sql, clock, priorityFor }) }, deadlineHandlers: {}, workers: { mint: worker } };
    },
  );
  return { worker, start: () => runtime.start(), stop: () => runtime.stop() };
}

for (const backend of backends()) {
  describe(`NFT minting on ${backend.name}`, () => {
    let db: Backend;
    const modules: Minting[] = [];
    const open = (chain: Minter, clock?: () => Date) => {
      const module = minting(db, chain, clock);
      modules.push(module);
      return module;
    };

    beforeAll(async () => {
      db = await backend.open();
    });
    afterAll(async () => {
      await Promise.all(modules.map((m) => m.stop()));
      await db.close();
    });

    it('mints 1,000 paid tickets in batches within each chain limit, each exactly once, across a restart mid-way', async () => {
      const chain = () => createSandboxChain(db.sql, { failureRate: 0.2, revertRate: 0.1 });
      const chains: readonly Chain[] = ['solana', 'polygon'];
      const payments = Array.from({ length: 200 }, (_, i) => ({ paymentId: randomUUID(), chain: chains[i % 2]! }));
      const tickets = payments.flatMap((p) => Array.from({ length: 5 }, (_, i) => ticketIdFor(p.paymentId, i)));

      // The first process stops right after its fourth batch reached the chain, before confirming any.
      const base = chain();
      let submissions = 0;
      let stopped: Promise<void> | undefined;
      const first = open({
        ...base,
        mint: async (request) => {
          const submission = await base.mint(request);
          if (++submissions === 4) stopped = first.stop();
          return submission;
        },
      });
      first.start();
      for (const p of payments) {
        await db.store.append(paymentStreamId(p.paymentId), [{ id: randomUUID(), metadata: metadata(), ...capturedEvent(p.paymentId, 5, p.chain) }], { expected: 'any' });
      }
      await eventually(() => Promise.resolve(stopped ? true : undefined));
      await stopped;
      expect((await queueStatuses(db)).minted ?? 0).toBeLessThanOrEqual(4 * MINT_BATCH_LIMIT.polygon);

      const second = open(chain());
      second.start();
      await eventually(async () => ((await queueStatuses(db)).minted === 1000 ? true : undefined), 30_000);
      await second.stop();

      expect(await queueStatuses(db)).toEqual({ minted: 1000 });
      const counts = await createSandboxChain(db.sql).mintCounts();
      expect(tickets.filter((id) => counts.get(id) !== 1)).toEqual([]);
      for (const tx of await createSandboxChain(db.sql).mintSizes()) expect(tx.size).toBeLessThanOrEqual(MINT_BATCH_LIMIT[tx.chain]);

      // $all shows a commit only once no older transaction on the server (another test's) still runs.
      const batches = await eventually(async () => {
        const found = (await db.store.readAll({ maxCount: 100_000 })).filter((e) => e.type === 'NftBatchMinted') as RecordedEvent<'NftBatchMinted', { tickets: { ticketId: string }[]; gasFee: number }>[];
        return found.reduce((n, e) => n + e.data.tickets.length, 0) >= 1000 ? found : undefined;
      }, 15_000);
      const minted = batches.flatMap((e) => e.data.tickets.map((t) => t.ticketId));
      expect(minted).toHaveLength(1000);
      expect(new Set(minted).size).toBe(1000);
      expect(batches.every((e) => e.data.gasFee > 0)).toBe(true);

      const status = await nftStatusFor(createKysely<object>(db.sql), payments[0]!.paymentId);
      expect(status).toMatchObject({ status: 'completed', progress: 100, tickets: 5, jobId: `mint-${payments[0]!.paymentId}` });
      expect(status?.transactionHash).toMatch(/^0x[0-9a-f]{64}$/);
    }, 60_000);

    it('mints urgent tickets before standard ones on the same chain', async () => {
      let tick = Date.parse('2026-11-22T00:00:00Z');
      const clock = () => new Date(tick++);
      const sandbox = createSandboxChain(db.sql, { clock });
      const module = open(sandbox, clock);
      const ticket = (priority: 'urgent' | 'standard') => ({
        ticketId: randomUUID(),
        paymentId: randomUUID(),
        venueId: 'v',
        eventId: 'e',
        ownerId: 'o',
        chain: 'polygon' as const,
        priority,
      });
      const standard = Array.from({ length: 150 }, () => ticket('standard'));
      const urgent = Array.from({ length: 100 }, () => ticket('urgent'));
      await enqueueTickets(db.sql, standard, new Date(tick++));
      await enqueueTickets(db.sql, urgent, new Date(tick++));
      await module.worker.pollOnce();
      const { rows } = await db.sql.query<{ ticket_ids: string[] }>(
        `SELECT ticket_ids FROM sandbox_chain_transactions WHERE ticket_ids && $1::text[] ORDER BY submitted_at`,
        [[...standard, ...urgent].map((t) => t.ticketId)],
      );
      expect(rows.map((r) => r.ticket_ids.length)).toEqual([100, 100, 50]);
      expect(new Set(rows[0]!.ticket_ids)).toEqual(new Set(urgent.map((t) => t.ticketId)));
    });

    const queued = (n: number, chain: Chain = 'solana') =>
      Array.from({ length: n }, () => ({ ticketId: randomUUID(), paymentId: randomUUID(), venueId: 'v', eventId: 'e', ownerId: 'o', chain, priority: 'high' as const }));
    const statusOf = async (ticketIds: readonly string[]) =>
      (await db.sql.query<{ status: string }>('SELECT DISTINCT status FROM nft_mint_queue WHERE ticket_id = ANY($1::uuid[])', [ticketIds])).rows.map((r) => r.status);

    it('submits again, under the same key, a batch whose worker died mid-call, so its tickets are minted once', async () => {
      const tickets = queued(30);
      await enqueueTickets(db.sql, tickets, new Date());
      const sandbox = createSandboxChain(db.sql);
      const hung: Minter = { ...sandbox, mint: () => new Promise(() => undefined) };
      const retry = { maxAttempts: 3, initialMs: 1, maxMs: 5 };
      const dying = createMintWorker({ sql: db.sql, store: db.store, minter: hung, parking: sqlParking(db.sql), retry, leaseMs: 50 });
      void dying.pollOnce();
      await eventually(async () => ((await statusOf(tickets.map((t) => t.ticketId))).join() === 'submitting' ? true : undefined));

      const next = createMintWorker({ sql: db.sql, store: db.store, minter: sandbox, parking: sqlParking(db.sql), retry, leaseMs: 50 });
      await eventually(async () => {
        await next.pollOnce();
        return (await statusOf(tickets.map((t) => t.ticketId))).join() === 'minted' ? true : undefined;
      });
      const counts = await sandbox.mintCounts();
      expect(tickets.map((t) => counts.get(t.ticketId))).toEqual(tickets.map(() => 1));
    });

    it('parks a batch whose answers keep getting lost, and an operator retry mints it under the same key', async () => {
      const tickets = queued(10, 'polygon');
      await enqueueTickets(db.sql, tickets, new Date());
      let lost = true;
      const flaky = createSandboxChain(db.sql, { failureRate: 1, random: () => (lost ? 0.9 : 1) });
      const parking = sqlParking(db.sql);
      // The worker as the composition root makes it; an operator's retry of its parked batch is retryParkedBatch.
      const worker = createMintWorker({ sql: db.sql, store: db.store, minter: flaky, parking, retry: { maxAttempts: 2, initialMs: 1, maxMs: config.MINT_RETRY_MAX_MS }, pollMs: config.MINT_POLL_MS });
      await eventually(async () => {
        await worker.pollOnce();
        return (await statusOf(tickets.map((t) => t.ticketId))).join() === 'parked' ? true : undefined;
      });
      const work = (await parking.list()).find((w) => w.source === 'mint');
      expect(work?.error).toMatch(/answer lost/);

      lost = false;
      await worker.retryParkedBatch(String(work!.item.batchId));
      await eventually(async () => {
        await worker.pollOnce();
        return (await statusOf(tickets.map((t) => t.ticketId))).join() === 'minted' ? true : undefined;
      });
      const counts = await flaky.mintCounts();
      expect(tickets.map((t) => counts.get(t.ticketId))).toEqual(tickets.map(() => 1));
    });

    it("does not mint a refunded payment's queued tickets, and marks minted ones for burn", async () => {
      const module = open(createSandboxChain(db.sql));
      const paid = async () => {
        const paymentId = randomUUID();
        const ctx = (n: string) => context({ commandId: randomUUID(), correlationId: n });
        await paymentHandler.handle(db.store, paymentId, { type: 'RequestPayment', data: { ...requestData, paymentId } }, ctx('a'));
        await paymentHandler.handle(db.store, paymentId, { type: 'RecordCapture', data: { amount: requestData.quote.total, gateway: 'sandbox', gatewayReference: `pi_${paymentId}` } }, ctx('b'));
        return paymentId;
      };
      const refundInFull = async (paymentId: string) => {
        await paymentHandler.handle(db.store, paymentId, { type: 'RequestRefund', data: { refundId: 'r1', reason: 'x', requestedBy: { kind: 'admin', userId: 'a' } } }, context({ commandId: randomUUID() }));
        await paymentHandler.handle(db.store, paymentId, { type: 'RecordRefundSuccess', data: { refundId: 'r1', gatewayReference: 're_1' } }, context({ commandId: randomUUID() }));
      };
      const mintedFirst = await paid();
      module.start();
      await eventually(async () => ((await nftStatusFor(createKysely<object>(db.sql), mintedFirst))?.status === 'completed' ? true : undefined));
      await module.stop();

      const refundedFirst = await paid();
      await refundInFull(mintedFirst);
      await refundInFull(refundedFirst);
      const again = open(createSandboxChain(db.sql));
      again.start();
      await eventually(async () => ((await nftStatusFor(createKysely<object>(db.sql), mintedFirst))?.status === 'burn_requested' ? true : undefined));
      await eventually(async () => ((await nftStatusFor(createKysely<object>(db.sql), refundedFirst))?.status === 'cancelled' ? true : undefined));
      const counts = await createSandboxChain(db.sql).mintCounts();
      expect(counts.get(ticketIdFor(refundedFirst, 0))).toBeUndefined();
      expect(counts.get(ticketIdFor(mintedFirst, 0))).toBe(1);
    });

    it("mints each ticket of a completed group purchase once, for the user who paid its member's share", async () => {
      const module = open(createSandboxChain(db.sql));
      module.start();
      const groupId = randomUUID();
      await appendCompletedGroup(db.store, {
        groupId,
        venueId: URGENT_VENUE,
        unitPrice: 3_000,
        members: [
          { ticketCount: 1, payerId: 'payer-a' },
          { ticketCount: 2, payerId: 'payer-b' },
        ],
      });
      const kysely = createKysely<object>(db.sql);
      await eventually(async () => ((await nftStatusFor(kysely, groupId))?.status === 'completed' ? true : undefined));
      // The completion seen again (a replay) queues nothing new.
      const completed = (await db.store.readStream(groupPaymentStreamId(groupId))).find((e) => e.type === 'GroupPaymentCompleted')!;
      await mintingProcess({ store: db.store, sql: db.sql, priorityFor: () => 'standard' }).handle(completed);
      await module.worker.pollOnce();
      await module.stop();

      const tickets = [0, 1, 2].map((i) => ticketIdFor(groupId, i));
      const { rows } = await db.sql.query<{ ticket_id: string; owner_id: string; status: string; priority: string }>(
        'SELECT ticket_id, owner_id, status, priority FROM nft_mint_queue WHERE payment_id = $1 ORDER BY owner_id, ticket_id',
        [groupId],
      );
      expect(rows.map((r) => r.owner_id)).toEqual(['payer-a', 'payer-b', 'payer-b']);
      expect(new Set(rows.map((r) => r.ticket_id))).toEqual(new Set(tickets));
      expect(rows.every((r) => r.status === 'minted' && r.priority === 'urgent')).toBe(true);
      const counts = await createSandboxChain(db.sql).mintCounts();
      expect(tickets.map((id) => counts.get(id))).toEqual([1, 1, 1]);
      expect(await nftStatusFor(kysely, groupId)).toMatchObject({ status: 'completed', tickets: 3, jobId: `mint-${groupId}` });
    });
  });
}
