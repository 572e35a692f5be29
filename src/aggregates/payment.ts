import { percentOf } from '../domain/money.js';
import { allocateRefund, allocationTotal } from '../domain/refund-allocation.js';
import { TesseraError } from '../errors.js';
import { isPaymentEvent, type NextAction, type PaymentEvent, type PaymentRequested, type PaymentRiskAssessed } from '../events/payment.js';
import type { Decider } from './decider.js';
import type { RefundAllocation } from '../domain/refund-allocation.js';

/**
 * The Payment aggregate. States follow seed 003 (PENDING -> PROCESSING -> PAID -> ...):
 * - pending: requested, not yet with the gateway; or back from it needing customer action
 *   (3-D Secure, `nextAction` set). Only a pending payment expires or is cancelled.
 * - processing: submitted to the gateway, which now decides (authorized but not captured too).
 * - completed: captured (the seed's "paid"; its API says "completed").
 * - partially_refunded / refunded: by refunds that succeeded and chargebacks lost.
 * - disputed: a dispute is open; no refunds until it closes.
 * - failed, cancelled, expired: ended without capture.
 *
 * Invariants: captured <= authorized; refunded + refunds pending + charged back <= captured.
 */
export type PaymentStatus =
  | 'pending'
  | 'processing'
  | 'completed'
  | 'partially_refunded'
  | 'refunded'
  | 'disputed'
  | 'failed'
  | 'cancelled'
  | 'expired';

export interface RefundRecord {
  readonly refundId: string;
  readonly amount: number;
  readonly status: 'pending' | 'succeeded' | 'failed';
  readonly allocation: RefundAllocation;
  readonly gatewayReference?: string;
}

export interface OpenDisputeRecord {
  readonly disputeId: string;
  readonly amount: number;
}

export interface PaymentState {
  readonly status: PaymentStatus | 'none';
  readonly request?: PaymentRequested['data'];
  readonly submitted: boolean;
  readonly gateway?: string;
  readonly gatewayReference?: string;
  readonly nextAction?: NextAction;
  readonly authorized: number;
  readonly captured: number;
  readonly refunded: number;
  readonly refundPending: number;
  readonly chargedBack: number;
  /** Allocations of lost disputes, so later refunds split what remains of each component. */
  readonly chargebacks: readonly RefundAllocation[];
  readonly refunds: Readonly<Record<string, RefundRecord>>;
  readonly dispute?: OpenDisputeRecord;
  readonly closedDisputes: readonly string[];
  readonly authorizationVoided: boolean;
  readonly failure?: { readonly reason: string; readonly code: string; readonly declineCode?: string };
  /** The risk assessment's decision (issue 20), when the purchase was assessed. */
  readonly risk?: { readonly decision: PaymentRiskAssessed['data']['decision']; readonly score: number; readonly declineCode?: string };
  /** A payment held for review: `pending` until an analyst (or the review deadline) decides. */
  readonly review?: 'pending' | 'approved' | 'declined';
}

/** The code a purchase the risk assessment declined fails with (its PaymentFailed `code`). */
export const RISK_DECLINED = 'risk_declined';

export type RefundRequester =
  | { readonly kind: 'user'; readonly userId: string }
  | { readonly kind: 'admin'; readonly userId: string }
  | { readonly kind: 'gateway'; readonly gateway: string };

export type PaymentCommand =
  | {
      readonly type: 'RequestPayment';
      readonly data: PaymentRequested['data'];
      /** The risk assessment made before the request (absent when fraud checks are off). */
      readonly assessment?: Omit<PaymentRiskAssessed['data'], 'paymentId'>;
    }
  | {
      readonly type: 'ReviewPayment';
      readonly data: { readonly verdict: 'approve' | 'decline'; readonly reviewedBy: string; readonly note?: string; readonly now: string };
    }
  | { readonly type: 'ExpireReview'; readonly data: { readonly now: string; readonly dueAt: string } }
  | {
      readonly type: 'SubmitPayment';
      readonly data: {
        readonly gateway: string;
        readonly operation: 'charge' | 'authorize';
        readonly idempotencyKey: string;
        /** When it is sent: a payment past its expiry is expired instead of charged late. */
        readonly now?: string;
      };
    }
  | { readonly type: 'RecordActionRequired'; readonly data: { readonly gatewayReference: string; readonly nextAction: NextAction } }
  | { readonly type: 'RecordAuthorization'; readonly data: GatewayOutcome }
  | { readonly type: 'RecordCapture'; readonly data: GatewayOutcome }
  | {
      readonly type: 'RecordPaymentFailure';
      readonly data: { readonly reason: string; readonly code: string; readonly declineCode?: string; readonly gateway: string };
    }
  | { readonly type: 'CancelPayment'; readonly data: { readonly reason: string } }
  | { readonly type: 'ExpirePayment'; readonly data: { readonly now: string } }
  | { readonly type: 'RecordAuthorizationVoided'; readonly data: { readonly gatewayReference: string } }
  | {
      readonly type: 'RequestRefund';
      readonly data: {
        readonly refundId: string;
        /** Omitted: refund everything that remains. */
        readonly amount?: number;
        readonly reason: string;
        readonly requestedBy: RefundRequester;
        /** The refund policy a buyer's refund meets now (issue 7): the share of the capture they may have back. */
        readonly policy?: { readonly refundBps: number; readonly source: string };
      };
    }
  | { readonly type: 'RecordRefundSuccess'; readonly data: { readonly refundId: string; readonly gatewayReference: string } }
  | {
      readonly type: 'RecordRefundFailure';
      readonly data: { readonly refundId: string; readonly reason: string; readonly code: string };
    }
  | {
      readonly type: 'RecordGatewayRefund';
      readonly data: {
        readonly refundId: string;
        readonly amount: number;
        readonly gateway: string;
        readonly gatewayReference: string;
        readonly reason: string;
      };
    }
  | {
      readonly type: 'OpenDispute';
      readonly data: { readonly disputeId: string; readonly amount: number; readonly reason: string };
    }
  | { readonly type: 'CloseDispute'; readonly data: { readonly disputeId: string; readonly outcome: 'won' | 'lost' } };

export interface GatewayOutcome {
  readonly amount: number;
  readonly gateway: string;
  readonly gatewayReference: string;
}

export function initialPaymentState(): PaymentState {
  return {
    status: 'none',
    submitted: false,
    authorized: 0,
    captured: 0,
    refunded: 0,
    refundPending: 0,
    chargedBack: 0,
    chargebacks: [],
    refunds: {},
    closedDisputes: [],
    authorizationVoided: false,
  };
}

/** Statuses in which nothing but refunds, disputes and their outcomes can follow. */
const ENDED_UNPAID: ReadonlySet<PaymentState['status']> = new Set(['failed', 'cancelled', 'expired']);
const CAPTURED: ReadonlySet<PaymentState['status']> = new Set(['completed', 'partially_refunded', 'refunded', 'disputed']);

/** Whether the `process` call can answer: the gateway has spoken or the payment has ended. */
export const isSettled = (state: PaymentState): boolean =>
  heldForReview(state) || (state.status !== 'none' && state.status !== 'processing' && !(state.status === 'pending' && !state.nextAction));

/** Authorized and waiting for an analyst: the gateway has answered, the capture waits. */
export const heldForReview = (state: PaymentState): boolean => state.status === 'processing' && state.review === 'pending' && state.authorized > 0;

/** What a refund may still take back: captured, less refunds done or in flight, less chargebacks. */
export const refundable = (state: PaymentState): number =>
  state.captured - state.refunded - state.refundPending - state.chargedBack;

/** The status after captured money moved, from the amounts alone. */
function afterCapture(state: PaymentState): PaymentStatus {
  if (state.dispute) return 'disputed';
  const returned = state.refunded + state.chargedBack;
  if (returned === 0) return 'completed';
  return returned >= state.captured ? 'refunded' : 'partially_refunded';
}

export function evolvePayment(state: PaymentState, event: PaymentEvent): PaymentState {
  switch (event.type) {
    case 'PaymentRequested':
      return { ...state, status: 'pending', request: event.data };
    case 'PaymentRiskAssessed': {
      const { decision, score, declineCode } = event.data;
      return { ...state, risk: { decision, score, ...(declineCode ? { declineCode } : {}) }, ...(decision === 'review' ? { review: 'pending' as const } : {}) };
    }
    case 'PaymentReviewed':
      return { ...state, review: event.data.verdict === 'approve' ? 'approved' : 'declined' };
    case 'PaymentSubmitted':
      return { ...state, status: 'processing', submitted: true, gateway: event.data.gateway };
    case 'PaymentActionRequired':
      return { ...state, status: 'pending', gatewayReference: event.data.gatewayReference, nextAction: event.data.nextAction };
    case 'PaymentAuthorized':
      return {
        ...state,
        status: 'processing',
        authorized: event.data.amount,
        gateway: event.data.gateway,
        gatewayReference: event.data.gatewayReference,
      };
    case 'PaymentCaptured': {
      const next = { ...state, captured: state.captured + event.data.amount, gatewayReference: event.data.gatewayReference };
      return { ...next, status: afterCapture(next) };
    }
    case 'PaymentFailed':
      return { ...state, status: 'failed', failure: withoutUndefined(event.data) };
    case 'PaymentCancelled':
      return { ...state, status: 'cancelled' };
    case 'PaymentExpired':
      return { ...state, status: 'expired' };
    case 'PaymentAuthorizationVoided':
      return { ...state, authorizationVoided: true };
    case 'RefundRequested': {
      const { refundId, amount, allocation } = event.data;
      return {
        ...state,
        refundPending: state.refundPending + amount,
        refunds: { ...state.refunds, [refundId]: { refundId, amount, allocation, status: 'pending' } },
      };
    }
    case 'RefundSucceeded': {
      const refund = state.refunds[event.data.refundId]!;
      const next = {
        ...state,
        refunded: state.refunded + refund.amount,
        refundPending: state.refundPending - refund.amount,
        refunds: {
          ...state.refunds,
          [refund.refundId]: { ...refund, status: 'succeeded' as const, gatewayReference: event.data.gatewayReference },
        },
      };
      return { ...next, status: afterCapture(next) };
    }
    case 'RefundFailed': {
      const refund = state.refunds[event.data.refundId]!;
      return {
        ...state,
        refundPending: state.refundPending - refund.amount,
        refunds: { ...state.refunds, [refund.refundId]: { ...refund, status: 'failed' } },
      };
    }
    case 'DisputeOpened':
      return { ...state, status: 'disputed', dispute: { disputeId: event.data.disputeId, amount: event.data.amount } };
    case 'DisputeClosed': {
      const lost = event.data.outcome === 'lost' ? event.data.amount : 0;
      const { dispute: _closed, ...rest } = state;
      const next = {
        ...rest,
        chargedBack: state.chargedBack + lost,
        chargebacks: event.data.allocation ? [...state.chargebacks, event.data.allocation] : state.chargebacks,
        closedDisputes: [...state.closedDisputes, event.data.disputeId],
      };
      return { ...next, status: afterCapture(next) };
    }
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled payment event ${JSON.stringify(unhandled)}`);
    }
  }
}

export function decidePayment(command: PaymentCommand, state: PaymentState): PaymentEvent[] {
  if (command.type === 'RequestPayment') return requestPayment(command.data, state, command.assessment);
  const request = state.request;
  if (state.status === 'none' || !request) throw notFound();
  const paymentId = request.paymentId;
  switch (command.type) {
    case 'SubmitPayment': {
      if (state.status !== 'pending' || state.submitted) return [];
      const { now, ...submission } = command.data;
      // Submitted late (the process manager was down or behind), an expired payment expires.
      if (now !== undefined && Date.parse(now) >= Date.parse(request.expiresAt)) {
        return [{ type: 'PaymentExpired', data: { paymentId, expiresAt: request.expiresAt, expiredAt: now } }];
      }
      // Held for review, the card is only authorized: the capture waits for the analyst.
      const operation = state.risk?.decision === 'review' ? 'authorize' : submission.operation;
      const challenge = state.risk?.decision === 'challenge' ? { threeDSecure: 'required' as const } : {};
      return [{ type: 'PaymentSubmitted', data: { paymentId, ...submission, operation, amount: request.quote.total, ...challenge } }];
    }
    case 'ReviewPayment':
      return reviewPayment(command.data, state, paymentId);
    case 'ExpireReview': {
      if (state.review !== 'pending' || ENDED_UNPAID.has(state.status)) return [];
      if (state.authorized === 0) throw notYet(`payment ${paymentId} is not authorized yet`);
      return [
        { type: 'PaymentReviewed', data: { paymentId, verdict: 'decline', reviewedBy: 'system:review-deadline', reviewedAt: command.data.now } },
        { type: 'PaymentExpired', data: { paymentId, expiresAt: command.data.dueAt, expiredAt: command.data.now } },
      ];
    }
    case 'RecordActionRequired':
      if (state.status === 'pending' && state.nextAction) return [];
      requireStatus(state, ['processing'], command.type);
      return [{ type: 'PaymentActionRequired', data: { paymentId, ...command.data } }];
    case 'RecordAuthorization':
      return recordAuthorization(command.data, state, paymentId);
    case 'RecordCapture':
      return recordCapture(command.data, state, request);
    case 'RecordPaymentFailure':
      if (state.status === 'failed') return [];
      requireStatus(state, ['pending', 'processing'], command.type);
      return [{ type: 'PaymentFailed', data: { paymentId, ...withoutUndefined(command.data) } }];
    case 'CancelPayment':
      if (state.status === 'cancelled') return [];
      requireStatus(state, ['pending'], command.type);
      return [{ type: 'PaymentCancelled', data: { paymentId, reason: command.data.reason } }];
    case 'ExpirePayment':
      // A deadline that finds the payment past pending, or fires early, has nothing to do.
      if (state.status !== 'pending' || Date.parse(command.data.now) < Date.parse(request.expiresAt)) return [];
      return [{ type: 'PaymentExpired', data: { paymentId, expiresAt: request.expiresAt, expiredAt: command.data.now } }];
    case 'RecordAuthorizationVoided':
      if (state.authorizationVoided) return [];
      if (!ENDED_UNPAID.has(state.status) || state.gatewayReference !== command.data.gatewayReference) {
        throw invalid(`nothing to void for payment ${paymentId} in status ${state.status}`);
      }
      return [{ type: 'PaymentAuthorizationVoided', data: { paymentId, gatewayReference: command.data.gatewayReference, amount: state.authorized } }];
    case 'RequestRefund':
      return requestRefund(command.data, state, request);
    case 'RecordRefundSuccess':
      return recordRefundSuccess(command.data, state, request);
    case 'RecordRefundFailure': {
      const refund = state.refunds[command.data.refundId];
      if (refund?.status === 'failed') return [];
      if (refund?.status !== 'pending') throw invalid(`refund ${command.data.refundId} is not pending`);
      return [
        {
          type: 'RefundFailed',
          data: { ...refundParties(request, refund.refundId), amount: refund.amount, allocation: refund.allocation, ...command.data },
        },
      ];
    }
    case 'RecordGatewayRefund':
      return recordGatewayRefund(command.data, state, request);
    case 'OpenDispute':
      return openDispute(command.data, state, paymentId);
    case 'CloseDispute': {
      if (state.closedDisputes.includes(command.data.disputeId)) return [];
      const dispute = state.dispute;
      if (dispute?.disputeId !== command.data.disputeId) throw notYet(`dispute ${command.data.disputeId} is not open`);
      return [disputeClosed(state, request, dispute, command.data.outcome)];
    }
    default: {
      const unhandled: never = command;
      throw new Error(`unhandled payment command ${JSON.stringify(unhandled)}`);
    }
  }
}

function requestPayment(
  data: PaymentRequested['data'],
  state: PaymentState,
  assessment: Extract<PaymentCommand, { type: 'RequestPayment' }>['assessment'],
): PaymentEvent[] {
  if (state.status !== 'none') throw new TesseraError('PAYMENT_ALREADY_EXISTS', `payment ${data.paymentId} already exists`);
  if (data.quote.total <= 0) throw new TesseraError('VALIDATION_ERROR', 'a payment must be for more than zero');
  const requested: PaymentEvent = { type: 'PaymentRequested', data };
  if (!assessment) return [requested];
  const { paymentId } = data;
  const assessed: PaymentEvent = { type: 'PaymentRiskAssessed', data: { paymentId, ...assessment } };
  if (assessment.decision !== 'decline') return [requested, assessed];
  // Declined before any gateway call: the payment ends here and nothing is charged.
  const failure = { reason: `declined by the risk assessment (${assessment.declineCode ?? 'FRAUD_DETECTED'})`, code: RISK_DECLINED, gateway: 'risk' };
  return [requested, assessed, { type: 'PaymentFailed', data: { paymentId, ...failure, ...(assessment.declineCode ? { declineCode: assessment.declineCode } : {}) } }];
}

/**
 * An analyst's verdict on a payment held for review, once its card is authorized (the hold is
 * what an approval captures and a decline releases). A second verdict is refused; the same one
 * again is a no-op (a retried request).
 */
function reviewPayment(data: Extract<PaymentCommand, { type: 'ReviewPayment' }>['data'], state: PaymentState, paymentId: string): PaymentEvent[] {
  const wanted = data.verdict === 'approve' ? 'approved' : 'declined';
  if (state.review === wanted) return [];
  if (state.review !== 'pending' || ENDED_UNPAID.has(state.status)) {
    throw new TesseraError('PAYMENT_NOT_REVIEWABLE', `payment ${paymentId} is not held for review`, { expose: { status: state.status, ...(state.review ? { review: state.review } : {}) } });
  }
  if (state.authorized === 0) {
    throw new TesseraError('PAYMENT_NOT_REVIEWABLE', `payment ${paymentId} is not authorized yet; decide it once the card's hold is in place`, {
      expose: { status: state.status, review: state.review },
    });
  }
  const reviewed: PaymentEvent = {
    type: 'PaymentReviewed',
    data: { paymentId, verdict: data.verdict, reviewedBy: data.reviewedBy, reviewedAt: data.now, ...(data.note ? { note: data.note } : {}) },
  };
  if (data.verdict === 'approve') return [reviewed];
  return [reviewed, { type: 'PaymentCancelled', data: { paymentId, reason: 'declined on review' } }];
}

function recordAuthorization(outcome: GatewayOutcome, state: PaymentState, paymentId: string): PaymentEvent[] {
  if (state.authorized > 0 && state.gatewayReference === outcome.gatewayReference) return [];
  requireStatus(state, ['pending', 'processing'], 'RecordAuthorization');
  if (state.authorized > 0) throw invalid(`payment ${paymentId} is already authorized as ${state.gatewayReference}`);
  const total = state.request!.quote.total;
  if (outcome.amount !== total) throw invalid(`authorization of ${outcome.amount} does not match the payment total ${total}`);
  return [{ type: 'PaymentAuthorized', data: { paymentId, ...outcome } }];
}

function recordCapture(outcome: GatewayOutcome, state: PaymentState, request: PaymentRequested['data']): PaymentEvent[] {
  const { paymentId, quote } = request;
  if (CAPTURED.has(state.status) && state.gatewayReference === outcome.gatewayReference) return [];
  requireStatus(state, ['pending', 'processing'], 'RecordCapture');
  if (outcome.amount !== quote.total) throw invalid(`capture of ${outcome.amount} does not match the payment total ${quote.total}`);
  // A gateway that reports a capture has authorized it: record both facts, in order.
  const authorize: PaymentEvent[] =
    state.authorized > 0 ? [] : [{ type: 'PaymentAuthorized', data: { paymentId, ...outcome } }];
  if (state.authorized > 0 && outcome.amount > state.authorized) throw invalid('cannot capture more than was authorized');
  return [
    ...authorize,
    {
      type: 'PaymentCaptured',
      data: {
        paymentId,
        venueId: request.venueId,
        userId: request.userId,
        eventId: request.eventId,
        currency: quote.currency,
        amount: outcome.amount,
        ticketPrice: quote.ticketPrice,
        gateway: outcome.gateway,
        gatewayReference: outcome.gatewayReference,
        processingCost: quote.processingCost.amount,
        quote,
      },
    },
  ];
}

function requestRefund(
  data: Extract<PaymentCommand, { type: 'RequestRefund' }>['data'],
  state: PaymentState,
  request: PaymentRequested['data'],
): PaymentEvent[] {
  const existing = state.refunds[data.refundId];
  if (existing) return [];
  if (state.status !== 'completed' && state.status !== 'partially_refunded') {
    throw new TesseraError('PAYMENT_NOT_REFUNDABLE', `payment ${request.paymentId} is ${state.status} and cannot be refunded`, {
      status: state.status,
      expose: { status: state.status },
    });
  }
  const left = refundable(state);
  const allowed = policyAllows(state, data, left);
  const amount = data.amount ?? allowed;
  if (allowed < left && (amount > allowed || allowed <= 0)) {
    throw new TesseraError('REFUND_POLICY_EXCEEDED', `the refund policy allows ${allowed} more now`, {
      expose: { refundable: Math.max(allowed, 0), refundPercent: (data.policy?.refundBps ?? 0) / 100 },
    });
  }
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    if (data.amount === undefined) throw new TesseraError('PAYMENT_NOT_REFUNDABLE', 'nothing is left to refund');
    throw new TesseraError('VALIDATION_ERROR', 'a refund amount must be a positive number of cents');
  }
  if (amount > left) {
    throw new TesseraError('REFUND_EXCEEDS_ORIGINAL', `refund of ${amount} exceeds the ${left} that remains refundable`, {
      refundable: left,
      expose: { refundable: left },
    });
  }
  return [refundRequested(state, request, data.refundId, amount, data.reason, requesterName(data.requestedBy))];
}

/**
 * What a buyer's refund may take under the policy: its share of the capture, less what went back
 * already (refunds, pending refunds and lost chargebacks). Admins are not bound.
 */
function policyAllows(state: PaymentState, data: Extract<PaymentCommand, { type: 'RequestRefund' }>['data'], left: number): number {
  if (!data.policy || data.requestedBy.kind !== 'user') return left;
  return Math.min(left, percentOf(state.captured, data.policy.refundBps) - state.refunded - state.refundPending - state.chargedBack);
}

function refundRequested(
  state: PaymentState,
  request: PaymentRequested['data'],
  refundId: string,
  amount: number,
  reason: string,
  requestedBy: string,
): PaymentEvent {
  const allocation = allocateRefund(request.quote, takenBack(state), amount);
  if (allocationTotal(allocation) !== amount) throw new Error('refund allocation lost a cent');
  return {
    type: 'RefundRequested',
    data: {
      ...refundParties(request, refundId),
      amount,
      reason,
      full: amount === refundable(state) && state.refunded + state.refundPending + state.chargedBack === 0,
      requestedBy,
      allocation,
    },
  };
}

const refundParties = (request: PaymentRequested['data'], refundId: string) => ({
  paymentId: request.paymentId,
  refundId,
  venueId: request.venueId,
  userId: request.userId,
  currency: request.quote.currency,
});

/**
 * A lost dispute takes money back like a refund the buyer did not ask for; its allocation over
 * the components is decided here, as a refund's is, so the ledger books it from the event.
 */
function disputeClosed(
  state: PaymentState,
  request: PaymentRequested['data'],
  dispute: OpenDisputeRecord,
  outcome: 'won' | 'lost',
): PaymentEvent {
  const data = {
    paymentId: request.paymentId,
    disputeId: dispute.disputeId,
    venueId: request.venueId,
    currency: request.quote.currency,
    outcome,
    amount: dispute.amount,
  };
  if (outcome === 'won') return { type: 'DisputeClosed', data };
  const allocation = allocateRefund(request.quote, [...takenBack(state)], dispute.amount);
  if (allocationTotal(allocation) !== dispute.amount) throw new Error('chargeback allocation lost a cent');
  return { type: 'DisputeClosed', data: { ...data, allocation } };
}

/** Allocations of every refund not failed and every chargeback: what left each component so far. */
function takenBack(state: PaymentState): RefundAllocation[] {
  return [...Object.values(state.refunds).filter((r) => r.status !== 'failed').map((r) => r.allocation), ...state.chargebacks];
}

const requesterName = (requester: RefundRequester): string =>
  requester.kind === 'gateway' ? `gateway:${requester.gateway}` : `${requester.kind}:${requester.userId}`;

function refundSucceeded(request: PaymentRequested['data'], refund: RefundRecord, gatewayReference: string): PaymentEvent {
  return {
    type: 'RefundSucceeded',
    data: {
      ...refundParties(request, refund.refundId),
      amount: refund.amount,
      allocation: refund.allocation,
      gatewayReference,
    },
  };
}

function recordRefundSuccess(
  data: { readonly refundId: string; readonly gatewayReference: string },
  state: PaymentState,
  request: PaymentRequested['data'],
): PaymentEvent[] {
  const refund = state.refunds[data.refundId];
  if (refund?.status === 'succeeded') return [];
  if (refund?.status !== 'pending') throw invalid(`refund ${data.refundId} is not pending`);
  return [refundSucceeded(request, refund, data.gatewayReference)];
}

/**
 * A refund the gateway reports (webhook). Ours: its success. Made at the gateway (dashboard):
 * recorded as requested by the gateway and succeeded. Before the capture is known it is held.
 */
function recordGatewayRefund(
  data: Extract<PaymentCommand, { type: 'RecordGatewayRefund' }>['data'],
  state: PaymentState,
  request: PaymentRequested['data'],
): PaymentEvent[] {
  const known = state.refunds[data.refundId];
  if (known) return recordRefundSuccess(data, state, request);
  if (state.status === 'pending' || state.status === 'processing') throw notYet('the payment is not captured yet');
  if (!CAPTURED.has(state.status)) throw invalid(`payment ${request.paymentId} is ${state.status}; a refund cannot apply`);
  if (data.amount <= 0 || data.amount > refundable(state)) {
    throw new TesseraError('REFUND_EXCEEDS_ORIGINAL', `gateway refund of ${data.amount} exceeds what remains refundable`);
  }
  const requested = refundRequested(state, request, data.refundId, data.amount, data.reason, `gateway:${data.gateway}`);
  const evolved = evolvePayment(state, requested);
  return [requested, refundSucceeded(request, evolved.refunds[data.refundId]!, data.gatewayReference)];
}

function openDispute(
  data: { readonly disputeId: string; readonly amount: number; readonly reason: string },
  state: PaymentState,
  paymentId: string,
): PaymentEvent[] {
  if (state.dispute?.disputeId === data.disputeId || state.closedDisputes.includes(data.disputeId)) return [];
  if (state.status === 'pending' || state.status === 'processing') throw notYet('the payment is not captured yet');
  requireStatus(state, ['completed', 'partially_refunded'], 'OpenDispute');
  if (data.amount <= 0 || data.amount > refundable(state)) throw invalid(`dispute of ${data.amount} exceeds what remains captured`);
  return [{ type: 'DisputeOpened', data: { paymentId, ...data } }];
}

function requireStatus(state: PaymentState, allowed: readonly PaymentStatus[], command: string): void {
  if (!allowed.includes(state.status as PaymentStatus)) {
    throw invalid(`${command} is not allowed for a payment that is ${state.status}`);
  }
}

const notFound = () => new TesseraError('PAYMENT_NOT_FOUND', 'payment not found');

const invalid = (message: string) => new TesseraError('INVALID_STATE_TRANSITION', message);

/** A fact arrived before the one it builds on (webhooks are unordered): try again later. */
const notYet = (message: string) => new TesseraError('INVALID_STATE_TRANSITION', message, { retryable: true });

/** The object without its undefined properties (events never store them). */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export const paymentDecider: Decider<PaymentState, PaymentCommand, PaymentEvent> = {
  initialState: initialPaymentState,
  evolve: evolvePayment,
  decide: decidePayment,
  isEvent: isPaymentEvent,
};

