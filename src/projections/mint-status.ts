import { sql as kysql, type Kysely } from 'kysely';

/**
 * Where each ticket's NFT stands, read from the mint queue the minting process manager fills and
 * its worker drains (src/processmanagers/minting.ts): the transaction query's `nftStatus`, and
 * whether a ticket may be resold (only once minted).
 */
export type NftStatus = 'queued' | 'processing' | 'completed' | 'failed' | 'cancelled' | 'burn_requested';

export interface NftStatusView {
  readonly jobId: string;
  readonly status: NftStatus;
  /** Percent of the payment's tickets minted. */
  readonly progress: number;
  readonly transactionHash?: string;
  readonly tickets: number;
}

/** One ticket's row status in the queue (queued … minted, cancelled, burn_requested), undefined before it is queued. */
export async function mintStatusOf(db: Kysely<object>, ticketId: string): Promise<string | undefined> {
  const { rows } = await kysql<{ status: string }>`SELECT status FROM nft_mint_queue WHERE ticket_id = ${ticketId}`.execute(db);
  return rows[0]?.status;
}

/**
 * The seed's `nftStatus` of a payment, for the transaction query: undefined when none of its
 * tickets was queued (yet). One status for the payment's tickets together.
 */
export async function nftStatusFor(db: Kysely<object>, paymentId: string): Promise<NftStatusView | undefined> {
  const { rows } = await kysql<{ status: string; n: number; tx_hash: string | null }>`
    SELECT q.status, count(*)::int AS n, max(b.tx_hash) AS tx_hash
      FROM nft_mint_queue q LEFT JOIN nft_mint_batches b ON b.batch_id = q.batch_id AND b.status = 'confirmed'
     WHERE q.payment_id = ${paymentId} GROUP BY q.status`.execute(db);
  if (rows.length === 0) return undefined;
  const count = (status: string) => rows.find((row) => row.status === status)?.n ?? 0;
  const total = rows.reduce((sum, row) => sum + row.n, 0);
  const minted = count('minted') + count('burn_requested');
  const status: NftStatus =
    count('burn_requested') > 0
      ? 'burn_requested'
      : count('cancelled') === total
        ? 'cancelled'
        : count('parked') > 0
          ? 'failed'
          : count('minted') === total
            ? 'completed'
            : count('submitting') + count('submitted') > 0 || count('minted') > 0
              ? 'processing'
              : 'queued';
  const transactionHash = rows.map((row) => row.tx_hash).find((hash) => hash !== null);
  return {
    jobId: `mint-${paymentId}`,
    status,
    progress: Math.floor((minted * 100) / total),
    ...(transactionHash ? { transactionHash } : {}),
    tickets: total,
  };
}
