import { createHash } from 'node:crypto';
import type { SqlClient } from '../db/sql-client.js';
import type { Chain } from '../domain/fees.js';
import { MINT_BATCH_LIMIT, TransientChainError, type ChainSubmission, type ChainTxStatus, type Minter } from './minter.js';
import { PermanentFailure } from '../errors.js';

/**
 * The embedded chain, minting's counterpart of the sandbox gateway. It keeps its transactions in
 * SQL, one per idempotency key, with the tickets each carries, so a test can count how often a
 * ticket was minted. A transaction confirms `confirmDelayMs` after it was submitted.
 *
 * Injected trouble: `failureRate` is the chance a call fails transiently, half before anything
 * happens and half after the transaction was recorded with the answer lost; `revertRate` is the
 * chance a recorded transaction never confirms (the chain reverted it).
 *
 * Gas, in US cents, per transaction: a base plus a share per ticket (Solana is cheaper).
 */
export interface SandboxChainOptions {
  readonly confirmDelayMs?: number;
  readonly failureRate?: number;
  readonly revertRate?: number;
  readonly random?: () => number;
  readonly clock?: () => Date;
}

export const SANDBOX_GAS: Readonly<Record<Chain, { readonly base: number; readonly perTicket: number }>> = {
  solana: { base: 1, perTicket: 0 },
  polygon: { base: 2, perTicket: 1 },
};

export interface SandboxChain extends Minter {
  /** How many non-reverted mint transactions carry each ticket (exactly-once checks). */
  mintCounts(): Promise<Map<string, number>>;
  /** Every mint transaction's size, for batch-limit checks. */
  mintSizes(): Promise<{ chain: Chain; size: number; reverted: boolean }[]>;
}

const hashFor = (key: string) => `0x${createHash('sha256').update(`sandbox-chain:${key}`).digest('hex')}`;

export function createSandboxChain(sql: SqlClient, options: SandboxChainOptions = {}): SandboxChain {
  const confirmDelayMs = options.confirmDelayMs ?? 0;
  const failureRate = options.failureRate ?? 0;
  const revertRate = options.revertRate ?? 0;
  const random = options.random ?? Math.random;
  const clock = options.clock ?? (() => new Date());

  async function submit(kind: 'mint' | 'transfer', key: string, chain: Chain, ticketIds: readonly string[]): Promise<ChainSubmission> {
    const roll = failureRate > 0 ? random() : 1;
    if (roll < failureRate / 2) throw new TransientChainError(`sandbox chain: injected failure before ${kind}`);
    const gasFee = SANDBOX_GAS[chain].base + SANDBOX_GAS[chain].perTicket * ticketIds.length;
    const reverted = revertRate > 0 && random() < revertRate;
    const { rows } = await sql.query<{ tx_hash: string; gas_fee: string }>(
      `INSERT INTO sandbox_chain_transactions (tx_hash, idempotency_key, kind, chain, ticket_ids, gas_fee, reverted, submitted_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (idempotency_key) DO UPDATE SET calls = sandbox_chain_transactions.calls + 1
       RETURNING tx_hash, gas_fee::text AS gas_fee`,
      [hashFor(key), key, kind, chain, ticketIds, gasFee, reverted, clock()],
    );
    if (roll < failureRate) throw new TransientChainError(`sandbox chain: injected failure after ${kind} (answer lost)`);
    return { txHash: rows[0]!.tx_hash, gasFee: Number(rows[0]!.gas_fee), currency: 'USD' };
  }

  return {
    name: 'sandbox',
    async mint(request) {
      const limit = MINT_BATCH_LIMIT[request.chain];
      if (request.tickets.length === 0 || request.tickets.length > limit) {
        throw new PermanentFailure(`sandbox chain: a ${request.chain} mint carries 1 to ${limit} tickets, not ${request.tickets.length}`);
      }
      return submit('mint', request.idempotencyKey, request.chain, request.tickets.map((t) => t.ticketId));
    },
    transfer: (request) => submit('transfer', request.idempotencyKey, request.chain, [request.ticketId]),
    async status(txHash): Promise<ChainTxStatus> {
      const { rows } = await sql.query<{ reverted: boolean; submitted_at: Date }>(
        'SELECT reverted, submitted_at FROM sandbox_chain_transactions WHERE tx_hash = $1',
        [txHash],
      );
      const row = rows[0];
      if (!row || row.reverted) return 'failed';
      return clock().getTime() - new Date(row.submitted_at).getTime() >= confirmDelayMs ? 'confirmed' : 'pending';
    },
    async mintCounts() {
      const { rows } = await sql.query<{ ticket_id: string; n: number }>(
        `SELECT t.ticket_id, count(*)::int AS n FROM sandbox_chain_transactions, unnest(ticket_ids) AS t(ticket_id)
          WHERE kind = 'mint' AND NOT reverted GROUP BY t.ticket_id`,
      );
      return new Map(rows.map((row) => [row.ticket_id, row.n]));
    },
    async mintSizes() {
      const { rows } = await sql.query<{ chain: Chain; size: number; reverted: boolean }>(
        `SELECT chain, cardinality(ticket_ids) AS size, reverted FROM sandbox_chain_transactions WHERE kind = 'mint'`,
      );
      return rows;
    },
  };
}
