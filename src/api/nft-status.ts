import type { PaymentStatus } from '../aggregates/payment.js';

/**
 * The NFT status a transaction query answers (seed 003 #3's `nftStatus`). Minting is issue 6's:
 * it replaces the default source with one over its minting read model (AppServices.nftStatus),
 * and the route needs no change.
 */
export interface NftStatus {
  /** `not_minted` (nothing will be minted: not paid, or paid back), `pending` (paid, awaiting minting), or the minter's own states. */
  readonly status: string;
  readonly jobId?: string;
  /** 0..100 */
  readonly progress?: number;
  readonly transactionHash?: string;
}

export interface NftStatusSource {
  nftStatusFor(payment: { readonly paymentId: string; readonly status: PaymentStatus }): Promise<NftStatus>;
}

const PAID: ReadonlySet<PaymentStatus> = new Set(['completed', 'partially_refunded', 'disputed']);

/** Until minting exists: a paid payment's tickets are pending minting; any other has nothing minted. */
export const defaultNftStatusSource: NftStatusSource = {
  nftStatusFor: ({ status }) => Promise.resolve({ status: PAID.has(status) ? 'pending' : 'not_minted' }),
};
