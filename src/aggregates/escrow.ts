import { TesseraError } from '../errors.js';
import { RISK_DECLINED } from './payment.js';
import type { RiskAssessmentRecord } from '../events/payment.js';
import { isEscrowEvent, type EscrowCreated, type EscrowEvent, type EscrowTerms } from '../events/escrow.js';
import type { Decider } from './decider.js';

/**
 * The Escrow aggregate (seed 003's payment_escrows): created -> funded -> released | refunded |
 * disputed; a creation whose charge is declined ends `failed` with nothing held.
 *
 * - funded: the buyer's money sits in `escrow:<id>` until the NFT transfer is confirmed
 *   (released to seller, royalties and fee) or the release deadline passes (refunded).
 * - Exactly one of released / refunded / disputed follows funded: whichever is decided first
 *   wins, and the others are refused (release, dispute) or decide nothing (a late refund deadline).
 */
export type EscrowStatus = 'created' | 'funded' | 'released' | 'refunded' | 'disputed' | 'failed';

export interface EscrowState {
  readonly status: EscrowStatus | 'none';
  readonly terms?: EscrowCreated['data'];
  readonly gatewayReference?: string;
  readonly releaseDeadline?: string;
  readonly refundPaid: boolean;
  readonly failure?: { readonly reason: string; readonly code: string; readonly declineCode?: string };
  readonly transferTxHash?: string;
  /** The NFT transfer as submitted (its hash and gas), once recorded. */
  readonly transfer?: { readonly txHash: string; readonly gasFee: number; readonly submittedAt: string };
}

export type EscrowCommand =
  | {
      readonly type: 'CreateEscrow';
      readonly data: EscrowTerms & { readonly createdAt: string };
      /** The risk assessment before the charge (absent when fraud checks are off). */
      readonly assessment?: RiskAssessmentRecord;
    }
  | {
      readonly type: 'RecordFunding';
      readonly data: { readonly gateway: string; readonly gatewayReference: string; readonly fundedAt: string };
    }
  | { readonly type: 'RecordFundingFailure'; readonly data: { readonly reason: string; readonly code: string; readonly declineCode?: string } }
  | {
      readonly type: 'RecordTransferSubmission';
      readonly data: { readonly txHash: string; readonly gasFee: number; readonly currency: string; readonly submittedAt: string };
    }
  | { readonly type: 'ReleaseEscrow'; readonly data: { readonly transferTxHash: string; readonly releasedAt: string } }
  | { readonly type: 'RefundEscrow'; readonly data: { readonly reason: string; readonly refundedAt: string } }
  | { readonly type: 'RecordRefundPaid'; readonly data: { readonly gatewayReference: string } }
  | { readonly type: 'DisputeEscrow'; readonly data: { readonly reason: string; readonly raisedBy: string } };

export const initialEscrowState = (): EscrowState => ({ status: 'none', refundPaid: false });

export function evolveEscrow(state: EscrowState, event: EscrowEvent): EscrowState {
  switch (event.type) {
    case 'EscrowCreated':
      return { ...state, status: 'created', terms: event.data };
    case 'EscrowFunded':
      return { ...state, status: 'funded', gatewayReference: event.data.gatewayReference, releaseDeadline: event.data.releaseDeadline };
    case 'EscrowFundingFailed': {
      const { escrowId: _id, ...failure } = event.data;
      return { ...state, status: 'failed', failure };
    }
    case 'EscrowTransferSubmitted':
      return { ...state, transfer: { txHash: event.data.txHash, gasFee: event.data.gasFee, submittedAt: event.data.submittedAt } };
    case 'EscrowReleased':
      return { ...state, status: 'released', transferTxHash: event.data.transferTxHash };
    case 'EscrowRefunded':
      return { ...state, status: 'refunded' };
    case 'EscrowRefundPaid':
      return { ...state, refundPaid: true };
    case 'EscrowDisputed':
      return { ...state, status: 'disputed' };
    case 'EscrowRiskAssessed':
      return state;
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled escrow event ${JSON.stringify(unhandled)}`);
    }
  }
}

/**
 * A new escrow, with its risk assessment: a challenge asks the charge for 3-D Secure; a decline,
 * or a review (a resale cannot wait for an analyst), fails the funding at once, nothing charged.
 */
function createEscrow(data: EscrowTerms & { readonly createdAt: string }, assessment: RiskAssessmentRecord | undefined): EscrowEvent[] {
  if (!assessment) return [{ type: 'EscrowCreated', data }];
  const { escrowId } = data;
  const challenged = assessment.decision === 'challenge' ? { threeDSecure: 'required' as const } : {};
  const events: EscrowEvent[] = [
    { type: 'EscrowCreated', data: { ...data, ...challenged } },
    { type: 'EscrowRiskAssessed', data: { escrowId, ...assessment } },
  ];
  if (assessment.decision !== 'decline' && assessment.decision !== 'review') return events;
  const declineCode = assessment.declineCode ?? 'FRAUD_DETECTED';
  return [...events, { type: 'EscrowFundingFailed', data: { escrowId, code: RISK_DECLINED, reason: `declined by the risk assessment (${declineCode})`, declineCode } }];
}

const refuse = (state: EscrowState, action: string): never => {
  throw new TesseraError('INVALID_STATE_TRANSITION', `cannot ${action} an escrow that is ${state.status}`, {
    escrowId: state.terms?.escrowId,
    expose: { status: state.status },
  });
};

export function decideEscrow(command: EscrowCommand, state: EscrowState): EscrowEvent[] {
  if (command.type === 'CreateEscrow') {
    if (state.status !== 'none') return refuse(state, 'create');
    return createEscrow(command.data, command.assessment);
  }
  const terms = state.terms;
  if (state.status === 'none' || !terms) throw new TesseraError('ESCROW_NOT_FOUND', 'escrow not found');
  const parties = {
    escrowId: terms.escrowId,
    ticketId: terms.ticketId,
    buyerId: terms.buyerId,
    sellerId: terms.sellerId,
    venueId: terms.venueId,
    eventId: terms.eventId,
    currency: terms.currency,
    amount: terms.amount,
  };
  switch (command.type) {
    case 'RecordFunding': {
      if (state.status === 'funded' && state.gatewayReference === command.data.gatewayReference) return [];
      if (state.status !== 'created') return refuse(state, 'fund');
      const releaseDeadline = new Date(Date.parse(command.data.fundedAt) + terms.releaseTimeoutMs).toISOString();
      return [{ type: 'EscrowFunded', data: { ...parties, ...command.data, releaseDeadline } }];
    }
    case 'RecordFundingFailure':
      if (state.status === 'failed') return [];
      if (state.status !== 'created') return refuse(state, 'fail');
      return [{ type: 'EscrowFundingFailed', data: { escrowId: terms.escrowId, ...command.data } }];
    case 'RecordTransferSubmission':
      // The gas was spent whatever the escrow became meanwhile (a deadline may have refunded it): it is recorded once.
      if (state.transfer) {
        if (state.transfer.txHash === command.data.txHash) return [];
        return refuse(state, 'record a second transfer of');
      }
      if (state.status === 'created' || state.status === 'failed') return refuse(state, 'record a transfer of');
      return [{ type: 'EscrowTransferSubmitted', data: { escrowId: terms.escrowId, ticketId: terms.ticketId, chain: terms.chain, ...command.data } }];
    case 'ReleaseEscrow':
      if (state.status === 'released') return [];
      if (state.status !== 'funded') return refuse(state, 'release');
      return [{ type: 'EscrowReleased', data: { ...parties, split: terms.split, ...command.data } }];
    case 'RefundEscrow':
      // The release deadline fires whatever happened meanwhile: past funded there is nothing to refund.
      if (state.status === 'funded') return [{ type: 'EscrowRefunded', data: { ...parties, ...command.data } }];
      if (state.status === 'created') return refuse(state, 'refund');
      return [];
    case 'RecordRefundPaid':
      if (state.status !== 'refunded') return refuse(state, 'record a refund of');
      if (state.refundPaid) return [];
      return [{ type: 'EscrowRefundPaid', data: { ...parties, ...command.data } }];
    case 'DisputeEscrow':
      if (state.status === 'disputed') return [];
      if (state.status !== 'funded') return refuse(state, 'dispute');
      return [{ type: 'EscrowDisputed', data: { escrowId: terms.escrowId, ...command.data } }];
    default: {
      const unknown: never = command;
      throw new Error(`unknown escrow command ${JSON.stringify(unknown)}`);
    }
  }
}

export const escrowDecider: Decider<EscrowState, EscrowCommand, EscrowEvent> = {
  initialState: initialEscrowState,
  evolve: evolveEscrow,
  decide: decideEscrow,
  isEvent: isEscrowEvent,
};
