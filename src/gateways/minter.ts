import type { Chain } from '../domain/fees.js';

/**
 * The minter port, defined next to its users (the mint worker and the escrow process manager):
 * a chain that mints tickets as NFTs in batches and transfers one between owners. Every call
 * carries an idempotency key; the same key answers the first call's transaction and puts nothing
 * on chain twice. A submission is not final: `status` says when the chain has confirmed it.
 * Anything that leaves the outcome unknown is thrown as a TransientChainError (retry, same key).
 */
export interface MintRequest {
  readonly idempotencyKey: string;
  readonly chain: Chain;
  readonly tickets: readonly { readonly ticketId: string; readonly ownerId: string }[];
}

export interface TransferRequest {
  readonly idempotencyKey: string;
  readonly chain: Chain;
  readonly ticketId: string;
  readonly fromOwnerId: string;
  readonly toOwnerId: string;
}

export interface ChainSubmission {
  readonly txHash: string;
  /** What the chain charged, in minor units of `currency`. */
  readonly gasFee: number;
  readonly currency: string;
}

export type ChainTxStatus = 'pending' | 'confirmed' | 'failed';

export interface Minter {
  /** `sandbox`, or a real chain adapter's name. */
  readonly name: string;
  mint(request: MintRequest): Promise<ChainSubmission>;
  transfer(request: TransferRequest): Promise<ChainSubmission>;
  status(txHash: string): Promise<ChainTxStatus>;
}

/** Most tickets one mint transaction may carry (seed 003: 50 on Solana, 100 on Polygon). */
export const MINT_BATCH_LIMIT: Readonly<Record<Chain, number>> = { solana: 50, polygon: 100 };

export class TransientChainError extends Error {
  readonly code = 'CHAIN_UNAVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'TransientChainError';
  }
}
