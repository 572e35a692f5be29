import { describe, expect, it } from 'vitest';
import { escrowDecider, type EscrowCommand } from '../../src/aggregates/escrow.js';
import { splitResale } from '../../src/domain/resale.js';
import type { EscrowEvent } from '../../src/events/escrow.js';
import { DeciderSpecification } from '../support/decider.js';

const ESCROW_ID = '0b1c1e7e-5b53-4c5c-9d1e-3f3a8b2d4e01';
const split = splitResale(15_000, { maxPriceBps: 25_000, minPriceBps: 5_000, venueRoyaltyBps: 1_000, platformFeeBps: 500, artistRoyaltyBps: 0 });
const terms = {
  escrowId: ESCROW_ID,
  listingId: 'b8d4a9f2-6f0c-4d0e-8a77-1c2d3e4f5a60',
  ticketId: 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f',
  buyerId: 'buyer-2',
  sellerId: 'seller-1',
  venueId: 'venue-1',
  eventId: 'event-1',
  chain: 'polygon' as const,
  currency: 'USD',
  amount: 15_000,
  split,
  paymentMethodId: 'pm_card_visa',
  releaseTimeoutMs: 3_600_000,
  createdAt: '2026-11-22T12:00:00.000Z',
};
const parties = {
  escrowId: ESCROW_ID,
  ticketId: terms.ticketId,
  buyerId: 'buyer-2',
  sellerId: 'seller-1',
  venueId: 'venue-1',
  eventId: 'event-1',
  currency: 'USD',
  amount: 15_000,
};
const FUNDED_AT = '2026-11-22T12:00:01.000Z';

const created: EscrowEvent = { type: 'EscrowCreated', data: terms };
const funded: EscrowEvent = {
  type: 'EscrowFunded',
  data: { ...parties, gateway: 'sandbox', gatewayReference: 'pi_1', fundedAt: FUNDED_AT, releaseDeadline: '2026-11-22T13:00:01.000Z' },
};
const failed: EscrowEvent = { type: 'EscrowFundingFailed', data: { escrowId: ESCROW_ID, reason: 'declined', code: 'card_declined' } };
const released: EscrowEvent = { type: 'EscrowReleased', data: { ...parties, split, transferTxHash: '0xabc', releasedAt: '2026-11-22T12:05:00.000Z' } };
const refunded: EscrowEvent = { type: 'EscrowRefunded', data: { ...parties, reason: 'transfer_not_confirmed', refundedAt: '2026-11-22T13:00:02.000Z' } };
const refundPaid: EscrowEvent = { type: 'EscrowRefundPaid', data: { ...parties, gatewayReference: 're_1' } };
const disputed: EscrowEvent = { type: 'EscrowDisputed', data: { escrowId: ESCROW_ID, reason: 'not received', raisedBy: 'user:buyer-2' } };

const create: EscrowCommand = { type: 'CreateEscrow', data: terms };
const fund: EscrowCommand = { type: 'RecordFunding', data: { gateway: 'sandbox', gatewayReference: 'pi_1', fundedAt: FUNDED_AT } };
const failFunding: EscrowCommand = { type: 'RecordFundingFailure', data: { reason: 'declined', code: 'card_declined' } };
const release: EscrowCommand = { type: 'ReleaseEscrow', data: { transferTxHash: '0xabc', releasedAt: '2026-11-22T12:05:00.000Z' } };
const refund: EscrowCommand = { type: 'RefundEscrow', data: { reason: 'transfer_not_confirmed', refundedAt: '2026-11-22T13:00:02.000Z' } };
const refundPaidCmd: EscrowCommand = { type: 'RecordRefundPaid', data: { gatewayReference: 're_1' } };
const dispute: EscrowCommand = { type: 'DisputeEscrow', data: { reason: 'not received', raisedBy: 'user:buyer-2' } };

const { given } = DeciderSpecification.for(escrowDecider);

describe('Escrow decider: creation and funding', () => {
  it('creates an escrow with its terms and split', () => {
    given([]).when(create).then([created]);
    expect(given([created]).state().status).toBe('created');
  });

  it('refuses to create an escrow twice', () => {
    given([created]).when(create).thenRefused('INVALID_STATE_TRANSITION');
  });

  it('refuses any other command for an escrow that does not exist', () => {
    given([]).when(fund).thenRefused('ESCROW_NOT_FOUND');
  });

  it('records funding with a release deadline the timeout after it', () => {
    given([created]).when(fund).then([funded]);
    expect(given([created, funded]).state()).toMatchObject({ status: 'funded', releaseDeadline: '2026-11-22T13:00:01.000Z' });
  });

  it('records the same funding again as nothing, and refuses funding a failed escrow', () => {
    given([created, funded]).when(fund).thenNothing();
    given([created, failed]).when(fund).thenRefused('INVALID_STATE_TRANSITION');
  });

  it('records a declined charge as failed, once, and never after funding', () => {
    given([created]).when(failFunding).then([failed]);
    expect(given([created, failed]).state().status).toBe('failed');
    given([created, failed]).when(failFunding).thenNothing();
    given([created, funded]).when(failFunding).thenRefused('INVALID_STATE_TRANSITION');
  });
});

describe('Escrow decider: release, refund and dispute', () => {
  it('releases a funded escrow with the split decided at creation', () => {
    given([created, funded]).when(release).then([released]);
    expect(given([created, funded, released]).state().status).toBe('released');
  });

  it('releases once, and refuses to release an escrow not funded, refunded or disputed', () => {
    given([created, funded, released]).when(release).thenNothing();
    given([created]).when(release).thenRefused('INVALID_STATE_TRANSITION');
    given([created, funded, refunded]).when(release).thenRefused('INVALID_STATE_TRANSITION');
    given([created, funded, disputed]).when(release).thenRefused('INVALID_STATE_TRANSITION');
  });

  it('refunds a funded escrow whose deadline passed', () => {
    given([created, funded]).when(refund).then([refunded]);
    expect(given([created, funded, refunded]).state().status).toBe('refunded');
  });

  it('decides nothing when the deadline fires after release, refund, dispute or failure', () => {
    given([created, funded, released]).when(refund).thenNothing();
    given([created, funded, refunded]).when(refund).thenNothing();
    given([created, funded, disputed]).when(refund).thenNothing();
    given([created, failed]).when(refund).thenNothing();
  });

  it('refuses to refund an escrow whose charge has no outcome yet', () => {
    given([created]).when(refund).thenRefused('INVALID_STATE_TRANSITION');
  });

  it('records the refund paid once, and only for a refunded escrow', () => {
    given([created, funded, refunded]).when(refundPaidCmd).then([refundPaid]);
    expect(given([created, funded, refunded, refundPaid]).state().refundPaid).toBe(true);
    given([created, funded, refunded, refundPaid]).when(refundPaidCmd).thenNothing();
    given([created, funded]).when(refundPaidCmd).thenRefused('INVALID_STATE_TRANSITION');
  });

  it('disputes a funded escrow once, and refuses to dispute one released or not funded', () => {
    given([created, funded]).when(dispute).then([disputed]);
    expect(given([created, funded, disputed]).state().status).toBe('disputed');
    given([created, funded, disputed]).when(dispute).thenNothing();
    given([created, funded, released]).when(dispute).thenRefused('INVALID_STATE_TRANSITION');
    given([created]).when(dispute).thenRefused('INVALID_STATE_TRANSITION');
  });
});

describe('Escrow decider: the NFT transfer submission', () => {
  const submit: EscrowCommand = { type: 'RecordTransferSubmission', data: { txHash: '0xabc', gasFee: 3, currency: 'USD', submittedAt: FUNDED_AT } };
  const submitted: EscrowEvent = {
    type: 'EscrowTransferSubmitted',
    data: { escrowId: ESCROW_ID, ticketId: terms.ticketId, chain: 'polygon', txHash: '0xabc', gasFee: 3, currency: 'USD', submittedAt: FUNDED_AT },
  };

  it('records the transfer of a funded escrow once, with its hash and gas', () => {
    given([created, funded]).when(submit).then([submitted]);
    expect(given([created, funded, submitted]).state().transfer).toEqual({ txHash: '0xabc', gasFee: 3, submittedAt: FUNDED_AT });
    given([created, funded, submitted]).when(submit).thenNothing();
    given([created, funded, submitted]).when({ ...submit, data: { ...submit.data, txHash: '0xdef' } }).thenRefused('INVALID_STATE_TRANSITION');
  });

  it('records a transfer whose escrow was refunded meanwhile (its gas was spent), but none before funding', () => {
    given([created, funded, refunded]).when(submit).then([submitted]);
    given([created]).when(submit).thenRefused('INVALID_STATE_TRANSITION');
    given([created, failed]).when(submit).thenRefused('INVALID_STATE_TRANSITION');
  });
});
