import { toEventData } from '../commands/handle-command.js';
import { paymentHandler, requirePayment } from '../commands/payment.js';
import type { SqlClient } from '../db/sql-client.js';
import type { Chain } from '../domain/fees.js';
import { derivedId } from '../domain/ids.js';
import type { GroupPaymentEvent } from '../events/group-payment.js';
import { mintBatchStreamId, type NftBatchMinted } from '../events/minting.js';
import type { PaymentEvent } from '../events/payment.js';
import type { EventStore, RecordedEvent } from '../eventstore/event-store.js';
import { sleep } from '../eventstore/sleep.js';
import { MINT_BATCH_LIMIT, type Minter } from '../gateways/minter.js';
import type { Logger } from '../logger.js';
import { groupTicketOwners } from '../projections/tickets.js';
import type { Parking } from './runtime/parking.js';
import { processManager, type ProcessManager } from './runtime/process-manager.js';
import { backoffMs, describeError, isRetryable, type RetryPolicy } from './runtime/retry.js';
import { randomUUID } from 'node:crypto';
import { ticketIdFor } from '../domain/ids.js';

export interface MintingProcessDeps {
  readonly store: EventStore;
  readonly sql: SqlClient;
  /** A venue's minting priority (seed 003: urgent > high > standard); standard by default. */
  readonly priorityFor: (venueId: string) => MintPriority;
  readonly clock?: () => Date;
}

/**
 * Minting: a captured payment's tickets go into the minting queue (once: the ticket id is the
 * key), where the mint worker batches them onto the chain. A payment refunded in full has its
 * tickets withdrawn: not minted while still queued, marked for burn once minted. A completed group
 * purchase's tickets are queued the same way, under the group id, each to the user who paid its
 * member's share (group purchases have no refunds yet, so none is ever withdrawn).
 */
export function mintingProcess(deps: MintingProcessDeps): ProcessManager {
  const clock = deps.clock ?? (() => new Date());

  /** A refund or a lost dispute: a payment refunded in full has its tickets withdrawn. */
  async function onMoneyReturned(event: RecordedEvent<string, { readonly paymentId: string }>): Promise<void> {
    const { paymentId } = event.data;
    const { state } = await requirePayment(deps.store, paymentId);
    if (state.status === 'refunded') await withdrawPayment(deps.sql, paymentId, clock());
  }

  return processManager<PaymentEvent | GroupPaymentEvent>('minting', {
    PaymentCaptured: async ({ data }) => {
      const priority = deps.priorityFor(data.venueId);
      const tickets = Array.from({ length: data.quote.ticketCount }, (_, index) => ({
        ticketId: ticketIdFor(data.paymentId, index),
        paymentId: data.paymentId,
        venueId: data.venueId,
        eventId: data.eventId,
        ownerId: data.userId,
        chain: data.quote.gas.chain,
        priority,
      }));
      // Caught up late (after a restart), the payment may be refunded already: never queue those tickets.
      const { state } = await paymentHandler.load(deps.store, data.paymentId);
      await enqueueTickets(deps.sql, tickets, clock(), state.status === 'refunded');
    },

    GroupPaymentCompleted: async ({ data }) => {
      const priority = deps.priorityFor(data.venueId);
      const tickets = groupTicketOwners(data).map((ownerId, index) => ({
        ticketId: ticketIdFor(data.groupId, index),
        paymentId: data.groupId,
        venueId: data.venueId,
        eventId: data.eventId,
        ownerId,
        chain: data.quote.gas.chain,
        priority,
      }));
      await enqueueTickets(deps.sql, tickets, clock());
    },

    RefundSucceeded: onMoneyReturned,
    DisputeClosed: onMoneyReturned,
  });
}

/**
 * The minting queue (seed 003's nft_mint_queue, one row per ticket) and its worker.
 *
 * - Tickets are queued once (the ticket id is the key) by the minting process manager.
 * - The worker takes up to the chain's batch limit of queued tickets, most urgent first
 *   (urgent > high > standard, then oldest), and records the batch *before* calling the chain,
 *   under the batch id that is also the chain call's idempotency key. A worker that dies
 *   mid-call leaves a batch whose claim runs out; the next worker submits it again with the same
 *   key and gets the same transaction, so no ticket is minted twice.
 * - A lost answer is retried with backoff under that same key, and parked after the last
 *   attempt (never re-batched: the transaction may exist). A transaction the chain reverted
 *   minted nothing, so its tickets are queued again, and parked after their last attempt.
 * - A confirmed batch appends NftBatchMinted (its gas goes to the ledger), then its tickets are
 *   marked minted; a ticket whose payment was refunded meanwhile is marked for burn instead.
 */
/** The source of parked mint batches in the parked-work list. */
export const MINT_PARKING_SOURCE = 'mint';

export type MintPriority = 'urgent' | 'high' | 'standard';

export const PRIORITY_RANK: Readonly<Record<MintPriority, number>> = { urgent: 0, high: 1, standard: 2 };

export interface QueuedTicket {
  readonly ticketId: string;
  readonly paymentId: string;
  readonly venueId: string;
  readonly eventId: string;
  readonly ownerId: string;
  readonly chain: Chain;
  readonly priority: MintPriority;
}

/** Queues tickets once each; `withdrawn` (the payment was refunded already) records them cancelled. */
export async function enqueueTickets(sql: SqlClient, tickets: readonly QueuedTicket[], now: Date, withdrawn = false): Promise<void> {
  if (tickets.length === 0) return;
  const columns = 13;
  const values = tickets.map((_, i) => `(${Array.from({ length: columns }, (__, c) => `$${i * columns + c + 1}`).join(', ')})`);
  await sql.query(
    `INSERT INTO nft_mint_queue (ticket_id, payment_id, venue_id, event_id, owner_id, chain, priority, priority_rank, next_attempt_at, created_at, updated_at, status, refunded)
     VALUES ${values.join(', ')} ON CONFLICT (ticket_id) DO NOTHING`,
    tickets.flatMap((t) => [t.ticketId, t.paymentId, t.venueId, t.eventId, t.ownerId, t.chain, t.priority, PRIORITY_RANK[t.priority], now, now, now, withdrawn ? 'cancelled' : 'queued', withdrawn]),
  );
}

/** A refunded payment's tickets: not minted if still queued, marked for burn if already minted. */
export async function withdrawPayment(sql: SqlClient, paymentId: string, now: Date): Promise<void> {
  await sql.query(
    `UPDATE nft_mint_queue SET refunded = true, updated_at = $2,
            status = CASE status WHEN 'queued' THEN 'cancelled' WHEN 'minted' THEN 'burn_requested' ELSE status END
      WHERE payment_id = $1 AND NOT refunded`,
    [paymentId, now],
  );
}

export interface MintWorkerOptions {
  readonly sql: SqlClient;
  readonly store: EventStore;
  readonly minter: Minter;
  readonly parking: Parking;
  readonly retry: RetryPolicy;
  readonly clock?: () => Date;
  readonly pollMs?: number;
  /** How long a worker's claim on a batch lasts before another may submit it again. */
  readonly leaseMs?: number;
  readonly logger?: Logger;
}

export interface MintWorker {
  /** Submits what is due and confirms what the chain has confirmed; answers how much it did. */
  pollOnce(): Promise<number>;
  /** Submits a parked batch again under its own key (an operator's retry). */
  retryParkedBatch(batchId: string): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

interface BatchRow {
  batch_id: string;
  chain: Chain;
  status: string;
  tx_hash: string | null;
  gas_fee: string | null;
  attempts: number;
}

const CHAINS: readonly Chain[] = ['solana', 'polygon'];

export function createMintWorker(options: MintWorkerOptions): MintWorker {
  const { sql, minter, retry } = options;
  const clock = options.clock ?? (() => new Date());
  const pollMs = options.pollMs ?? 500;
  const leaseMs = options.leaseMs ?? 30_000;
  const log = options.logger?.child({ component: 'mint-worker' });
  const stopping = new AbortController();
  let loop: Promise<void> | undefined;

  /** Takes the next batch of one chain: rows and batch recorded in one transaction. */
  async function claim(chain: Chain, now: Date): Promise<BatchRow | undefined> {
    return sql.transaction(async (tx) => {
      const batchId = randomUUID();
      const { rows } = await tx.query<{ ticket_id: string }>(
        `UPDATE nft_mint_queue SET status = 'submitting', batch_id = $1, attempts = attempts + 1, updated_at = $2
          WHERE ticket_id IN (
            SELECT ticket_id FROM nft_mint_queue
             WHERE chain = $3 AND status = 'queued' AND next_attempt_at <= $2
             ORDER BY priority_rank, created_at, ticket_id LIMIT $4 FOR UPDATE SKIP LOCKED)
          RETURNING ticket_id`,
        [batchId, now, chain, MINT_BATCH_LIMIT[chain]],
      );
      if (rows.length === 0) return undefined;
      await tx.query(
        `INSERT INTO nft_mint_batches (batch_id, chain, ticket_count, status, claimed_until, created_at, updated_at)
         VALUES ($1, $2, $3, 'submitting', $4, $5, $5)`,
        [batchId, chain, rows.length, new Date(now.getTime() + leaseMs), now],
      );
      return { batch_id: batchId, chain, status: 'submitting', tx_hash: null, gas_fee: null, attempts: 0 };
    });
  }

  /** Batches whose submission is due again: a claim that ran out, or a lost answer's backoff. */
  async function dueAgain(now: Date): Promise<BatchRow[]> {
    const { rows } = await sql.query<BatchRow>(
      `UPDATE nft_mint_batches SET claimed_until = $2, updated_at = $1
        WHERE batch_id IN (SELECT batch_id FROM nft_mint_batches WHERE status = 'submitting' AND claimed_until <= $1
                            ORDER BY created_at LIMIT 20 FOR UPDATE SKIP LOCKED)
        RETURNING batch_id, chain, status, tx_hash, gas_fee::text AS gas_fee, attempts`,
      [now, new Date(now.getTime() + leaseMs)],
    );
    return rows;
  }

  async function submit(batch: BatchRow): Promise<void> {
    const { rows } = await sql.query<{ ticket_id: string; owner_id: string }>(
      'SELECT ticket_id, owner_id FROM nft_mint_queue WHERE batch_id = $1 ORDER BY ticket_id',
      [batch.batch_id],
    );
    const attempts = batch.attempts + 1;
    try {
      const submission = await minter.mint({
        idempotencyKey: batch.batch_id,
        chain: batch.chain,
        tickets: rows.map((row) => ({ ticketId: row.ticket_id, ownerId: row.owner_id })),
      });
      await sql.query(
        `UPDATE nft_mint_batches SET status = 'submitted', tx_hash = $2, gas_fee = $3, attempts = $4, claimed_until = NULL, updated_at = $5
          WHERE batch_id = $1`,
        [batch.batch_id, submission.txHash, submission.gasFee, attempts, clock()],
      );
      await sql.query(`UPDATE nft_mint_queue SET status = 'submitted', updated_at = $2 WHERE batch_id = $1 AND status = 'submitting'`, [
        batch.batch_id,
        clock(),
      ]);
    } catch (error) {
      const now = clock();
      if (isRetryable(error) && attempts < retry.maxAttempts) {
        log?.warn({ err: error, batchId: batch.batch_id, attempts }, 'mint submission failed; will retry with the same key');
        await sql.query('UPDATE nft_mint_batches SET attempts = $2, claimed_until = $3, last_error = $4, updated_at = $5 WHERE batch_id = $1', [
          batch.batch_id,
          attempts,
          new Date(now.getTime() + backoffMs(retry, attempts)),
          describeError(error),
          now,
        ]);
        return;
      }
      await parkBatch(batch.batch_id, describeError(error), attempts, now);
    }
  }

  async function parkBatch(batchId: string, error: string, attempts: number, now: Date): Promise<void> {
    log?.error({ batchId, error, attempts }, 'mint batch parked');
    await sql.query(`UPDATE nft_mint_batches SET status = 'parked', attempts = $2, last_error = $3, claimed_until = NULL, updated_at = $4 WHERE batch_id = $1`, [
      batchId,
      attempts,
      error,
      now,
    ]);
    await sql.query(`UPDATE nft_mint_queue SET status = 'parked', last_error = $2, updated_at = $3 WHERE batch_id = $1`, [batchId, error, now]);
    await options.parking.park({ id: `mint-batch:${batchId}`, source: MINT_PARKING_SOURCE, item: { batchId }, error, attempts, at: now });
  }

  async function confirm(batch: BatchRow): Promise<boolean> {
    const status = await minter.status(batch.tx_hash!);
    if (status === 'pending') return false;
    const now = clock();
    if (status === 'failed') {
      await requeueReverted(batch.batch_id, now);
      return true;
    }
    const { rows } = await sql.query<{ ticket_id: string; payment_id: string }>(
      'SELECT ticket_id, payment_id FROM nft_mint_queue WHERE batch_id = $1 ORDER BY ticket_id',
      [batch.batch_id],
    );
    const minted: NftBatchMinted = {
      type: 'NftBatchMinted',
      data: {
        batchId: batch.batch_id,
        chain: batch.chain,
        txHash: batch.tx_hash!,
        gasFee: Number(batch.gas_fee),
        currency: 'USD',
        tickets: rows.map((row) => ({ ticketId: row.ticket_id, paymentId: row.payment_id })),
      },
    };
    const context = { commandId: derivedId(batch.batch_id, 'minted'), now, actor: 'system:minting', tenantId: 'system', correlationId: batch.batch_id };
    // The same event id on every retry: appending again after a crash is a no-op.
    await options.store.append(mintBatchStreamId(batch.batch_id), toEventData([minted], context), { expected: 'no_stream' });
    // One statement, so a reader never sees the tickets minted before their batch's hash is confirmed.
    await sql.query(
      `WITH confirmed AS (UPDATE nft_mint_batches SET status = 'confirmed', updated_at = $2 WHERE batch_id = $1 RETURNING batch_id)
       UPDATE nft_mint_queue SET status = CASE WHEN refunded THEN 'burn_requested' ELSE 'minted' END, updated_at = $2
        WHERE batch_id = (SELECT batch_id FROM confirmed)`,
      [batch.batch_id, now],
    );
    return true;
  }

  /** The chain reverted the batch: nothing was minted, so its tickets wait for another batch. */
  async function requeueReverted(batchId: string, now: Date): Promise<void> {
    const parked = await sql.transaction(async (tx) => {
      const { rows } = await tx.query<{ ticket_id: string; attempts: number }>(
        `UPDATE nft_mint_queue
            SET status = CASE WHEN refunded THEN 'cancelled' WHEN attempts >= $3 THEN 'parked' ELSE 'queued' END,
                batch_id = CASE WHEN refunded OR attempts >= $3 THEN batch_id ELSE NULL END,
                next_attempt_at = $2::timestamptz + least($4::float8 * power(2, least(attempts - 1, 20)), $5::float8) * interval '1 millisecond',
                last_error = 'transaction reverted', updated_at = $2
          WHERE batch_id = $1 RETURNING ticket_id, attempts`,
        [batchId, now, retry.maxAttempts, retry.initialMs, retry.maxMs],
      );
      await tx.query(`UPDATE nft_mint_batches SET status = 'failed', last_error = 'reverted', updated_at = $2 WHERE batch_id = $1`, [batchId, now]);
      return rows.filter((row) => row.attempts >= retry.maxAttempts).map((row) => row.ticket_id);
    });
    if (parked.length > 0) {
      await options.parking.park({ id: `mint-batch:${batchId}`, source: MINT_PARKING_SOURCE, item: { batchId, tickets: parked }, error: 'transaction reverted', attempts: retry.maxAttempts, at: now });
    }
  }

  async function pollOnce(): Promise<number> {
    let done = 0;
    const now = clock();
    for (const batch of await dueAgain(now)) {
      await submit(batch);
      done++;
    }
    for (const chain of CHAINS) {
      for (let batch = await claim(chain, clock()); batch; batch = await claim(chain, clock())) {
        await submit(batch);
        done++;
        if (stopping.signal.aborted) return done;
      }
    }
    const { rows } = await sql.query<BatchRow>(
      `SELECT batch_id, chain, status, tx_hash, gas_fee::text AS gas_fee, attempts FROM nft_mint_batches WHERE status = 'submitted' ORDER BY created_at LIMIT 200`,
    );
    for (const batch of rows) if (await confirm(batch)) done++;
    return done;
  }

  return {
    pollOnce,
    async retryParkedBatch(batchId) {
      const { rows } = await sql.query<BatchRow>(
        `UPDATE nft_mint_batches SET status = 'submitting', attempts = 0, claimed_until = $2 WHERE batch_id = $1 AND status = 'parked'
          RETURNING batch_id, chain, status, tx_hash, gas_fee::text AS gas_fee, attempts`,
        [batchId, new Date(clock().getTime() + leaseMs)],
      );
      if (!rows[0]) {
        // A reverted batch's parked tickets go back to the queue with fresh attempts.
        await sql.query(`UPDATE nft_mint_queue SET status = 'queued', attempts = 0, batch_id = NULL, next_attempt_at = $2 WHERE batch_id = $1 AND status = 'parked'`, [
          batchId,
          clock(),
        ]);
        return;
      }
      await sql.query(`UPDATE nft_mint_queue SET status = 'submitting' WHERE batch_id = $1 AND status = 'parked'`, [batchId]);
      await submit(rows[0]);
      const after = await sql.query<{ status: string; last_error: string | null }>('SELECT status, last_error FROM nft_mint_batches WHERE batch_id = $1', [batchId]);
      if (after.rows[0]?.status === 'parked') throw new Error(after.rows[0].last_error ?? 'mint batch failed again');
    },
    start() {
      if (loop) return;
      loop = (async () => {
        while (!stopping.signal.aborted) {
          let done = 0;
          try {
            done = await pollOnce();
          } catch (error) {
            log?.error({ err: error }, 'mint poll failed');
          }
          if (done === 0) await sleep(pollMs, stopping.signal);
        }
      })();
    },
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}
