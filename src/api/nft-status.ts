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

/** What the minting read model knows of a payment's tickets (src/minting/mint-queue.ts). */
export interface MintedStatus {
  readonly jobId: string;
  readonly status: string;
  readonly progress: number;
  readonly transactionHash?: string;
}

/**
 * The NFT status from the minting queue: its view once the payment's tickets are queued, and
 * the default's answer before that (paid but not queued yet: `pending`; unpaid: `not_minted`).
 */
export function mintingNftStatusSource(lookup: (paymentId: string) => Promise<MintedStatus | undefined>): NftStatusSource {
  return {
    async nftStatusFor(payment) {
      const minted = await lookup(payment.paymentId);
      if (!minted) return defaultNftStatusSource.nftStatusFor(payment);
      const { jobId, status, progress, transactionHash } = minted;
      return { jobId, status, progress, ...(transactionHash ? { transactionHash } : {}) };
    },
  };
}
