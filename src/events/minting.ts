import type { Chain } from '../domain/fees.js';

/**
 * Minting's events, one stream per confirmed mint batch (`nft-batch-<uuid>`).
 * The batch records the chain's transaction and the gas the platform paid for it, which the
 * ledger books against `platform:gas`.
 */
export const mintBatchStreamId = (batchId: string): string => `nft-batch-${batchId}`;

export interface NftBatchMinted {
  readonly type: 'NftBatchMinted';
  readonly data: {
    readonly batchId: string;
    readonly chain: Chain;
    readonly txHash: string;
    /** What the chain charged for the transaction, in minor units of `currency`. */
    readonly gasFee: number;
    readonly currency: string;
    readonly tickets: readonly { readonly ticketId: string; readonly paymentId: string }[];
  };
}

export type MintingEvent = NftBatchMinted;

/** Each event type's schema version as written now (src/events/versions.ts). */
export const MINTING_EVENT_VERSIONS = {
  NftBatchMinted: 1,
} as const satisfies Record<MintingEvent['type'], number>;
