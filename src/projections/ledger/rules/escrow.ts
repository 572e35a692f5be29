import type { MintingEvent } from '../../../events/minting.js';
import type { EscrowEvent } from '../../../events/escrow.js';
import { customerRefundsAccount, sellerPayableAccount } from '../accounts.js';
import { credit, debit } from '../journal.js';
import type { PostingRules } from '../ledger-projection.js';

/**
 * How resale escrows and minting move money in the ledger (chart: src/ledger/accounts.ts).
 *
 * - Funding takes the buyer's charge into `gateway:clearing` and owes it to `escrow:<id>`.
 * - Release empties `escrow:<id>` into the seller's payable, the venue's and artist's royalties
 *   and the platform's fee, exactly as the split recorded at creation says.
 * - Refund moves it from `escrow:<id>` to the buyer's `customer:<id>:refunds` (ids of users are
 *   userAccountId: tenant and user, src/ledger/accounts.ts); when the gateway
 *   has paid the buyer, it leaves clearing. Either way the escrow account ends at zero.
 * - An escrow's NFT transfer's gas (`EscrowTransferSubmitted`) and a confirmed mint batch's gas is the platform's cost: booked against `platform:gas` (where
 *   the buyers' gas charges were credited), paid out of clearing.
 */
export const escrowAccount = (escrowId: string): string => `escrow:${escrowId}`;

export const venueRoyaltyAccount = (venueId: string): string => `royalty:venue:${venueId}`;

export const resalePostingRules: PostingRules<EscrowEvent | MintingEvent> = {
  EscrowFunded: ({ data }) => ({
    entryType: 'escrow_funded',
    description: `resale escrow ${data.escrowId} funded by the buyer`,
    postings: [debit('gateway:clearing', data.currency, data.amount), credit(escrowAccount(data.escrowId), data.currency, data.amount)],
    metadata: { escrowId: data.escrowId, buyerId: data.buyerId, venueId: data.venueId, eventId: data.eventId, gatewayReference: data.gatewayReference },
  }),

  EscrowTransferSubmitted: ({ data }) => ({
    entryType: 'escrow_transfer_gas',
    description: `gas of the NFT transfer of resale escrow ${data.escrowId} on ${data.chain}`,
    postings: [debit('platform:gas', data.currency, data.gasFee), credit('gateway:clearing', data.currency, data.gasFee)],
    metadata: { escrowId: data.escrowId, ticketId: data.ticketId, chain: data.chain, txHash: data.txHash },
  }),

  EscrowReleased: ({ data, metadata }) => {
    const { split, currency } = data;
    return {
      entryType: 'escrow_released',
      description: `resale escrow ${data.escrowId} released after the NFT transfer`,
      postings: [
        debit(escrowAccount(data.escrowId), currency, data.amount),
        credit(sellerPayableAccount(metadata.tenantId, data.sellerId), currency, split.sellerPayout),
        credit(venueRoyaltyAccount(data.venueId), currency, split.venueRoyalty),
        ...(split.artistId === undefined ? [] : [credit(`royalty:artist:${split.artistId}`, currency, split.artistRoyalty)]),
        credit('platform:fees', currency, split.platformFee),
      ],
      metadata: {
        escrowId: data.escrowId,
        venueId: data.venueId,
        eventId: data.eventId,
        sellerId: data.sellerId,
        transferTxHash: data.transferTxHash,
        ...split.rates,
      },
    };
  },

  EscrowRefunded: ({ data, metadata }) => ({
    entryType: 'escrow_refunded',
    description: `resale escrow ${data.escrowId} refunded to the buyer: ${data.reason}`,
    postings: [debit(escrowAccount(data.escrowId), data.currency, data.amount), credit(customerRefundsAccount(metadata.tenantId, data.buyerId), data.currency, data.amount)],
    metadata: { escrowId: data.escrowId, reason: data.reason },
  }),

  EscrowRefundPaid: ({ data, metadata }) => ({
    entryType: 'escrow_refund_paid',
    description: `refund of resale escrow ${data.escrowId} paid to the buyer`,
    postings: [debit(customerRefundsAccount(metadata.tenantId, data.buyerId), data.currency, data.amount), credit('gateway:clearing', data.currency, data.amount)],
    metadata: { escrowId: data.escrowId, gatewayReference: data.gatewayReference },
  }),

  NftBatchMinted: ({ data }) => ({
    entryType: 'mint_gas',
    description: `gas of mint batch ${data.batchId} on ${data.chain}`,
    postings: [debit('platform:gas', data.currency, data.gasFee), credit('gateway:clearing', data.currency, data.gasFee)],
    metadata: { batchId: data.batchId, chain: data.chain, txHash: data.txHash, tickets: data.tickets.length },
  }),
};
