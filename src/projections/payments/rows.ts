import type { PaymentStatus } from '../../aggregates/payment.js';
import { seedFees } from '../../domain/purchase-quote.js';
import type { RecordedEvent } from '../../eventstore/event-store.js';
import type { PaymentEvent } from '../../events/payment.js';
import { sumByKey } from '../engine/sum-by-key.js';

/**
 * The pure half of the payments read model: how one event changes a payment's row, its refunds
 * and the hourly outcome counts. The row is its own fold state: status and amounts move as the
 * Payment aggregate's evolve moves them (src/aggregates/payment.ts), from the row's columns and
 * the event alone, so the read model stores no copy of the aggregate and a batch needs nothing
 * but the rows it touches. test/projections/read-models.property.unit.test.ts holds the two folds
 * to the same status and amounts over random histories.
 */
export interface PaymentSummary {
  readonly paymentId: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly venueId: string;
  readonly eventId: string;
  readonly status: PaymentStatus;
  readonly currency: string;
  /** What the card is charged: the quote's total. */
  readonly amount: number;
  readonly ticketCount: number;
  readonly ticketPrice: number;
  readonly platformFee: number;
  readonly gas: number;
  readonly stateTax: number;
  readonly localTax: number;
  readonly venueTax: number;
  readonly captured: number;
  readonly refunded: number;
  readonly refundPending: number;
  readonly chargedBack: number;
  /** A dispute is open: the status stays `disputed` whatever else happens until it closes. */
  readonly disputeOpen: boolean;
  readonly paymentMethod: string;
  readonly gateway: string | null;
  readonly gatewayReference: string | null;
  readonly failureReason: string | null;
  readonly failureCode: string | null;
  readonly declineCode: string | null;
  /** When the buyer asked (the request's own time), from which processing time is measured. */
  readonly requestedAt: string;
  /** Business time of the request's event and of the latest event. */
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly settledAt: string | null;
  readonly processingMs: number | null;
  /** The stream revision folded last: an event at or below it is not applied again. */
  readonly revision: number;
}

/** A payment_summaries row as read back: int8 columns as text, as both drivers hand them over. */
export interface StoredSummary {
  payment_id: string;
  tenant_id: string;
  user_id: string;
  venue_id: string;
  event_id: string;
  status: PaymentStatus;
  currency: string;
  amount: string;
  ticket_count: number;
  ticket_price: string;
  platform_fee: string;
  gas: string;
  state_tax: string;
  local_tax: string;
  venue_tax: string;
  captured: string;
  refunded: string;
  refund_pending: string;
  charged_back: string;
  dispute_open: boolean;
  payment_method: string;
  gateway: string | null;
  gateway_reference: string | null;
  failure_reason: string | null;
  failure_code: string | null;
  decline_code: string | null;
  requested_at: Date;
  created_at: Date;
  updated_at: Date;
  settled_at: Date | null;
  processing_ms: string | null;
  revision: string;
}

export interface RefundRow {
  readonly refundId: string;
  readonly paymentId: string;
  readonly currency: string;
  readonly amount: number;
  readonly status: 'pending' | 'succeeded' | 'failed';
  readonly reason: string;
  readonly requestedBy: string;
  readonly requestedAt: string;
  readonly completedAt: string | null;
  readonly gatewayReference: string | null;
  readonly failureReason: string | null;
  readonly failureCode: string | null;
}

export type Outcome = 'requested' | 'completed' | 'failed' | 'expired' | 'cancelled' | 'refunded' | 'charged_back';

/**
 * What took the buyer's money: a card purchase (a Payment), a group purchase (a GroupPayment's
 * shares, captured together) or a resale (an Escrow's charge). Each books its capture to
 * `gateway:clearing`, so revenue counts all three.
 */
export const SALE_KINDS = ['purchase', 'group', 'resale'] as const;

export type SaleKind = (typeof SALE_KINDS)[number];

/** One count toward payment_stats_hourly. */
export interface StatsDelta {
  readonly hour: string;
  readonly currency: string;
  readonly method: string;
  readonly outcome: Outcome;
  readonly reason: string;
  readonly kind: SaleKind;
  readonly count: number;
  readonly amount: number;
  readonly processingMs: number;
  readonly processingCount: number;
}

export interface SummaryChange {
  readonly summary: PaymentSummary;
  readonly stats: readonly StatsDelta[];
}

export type PaymentRecordedEvent = RecordedEvent<PaymentEvent['type'], PaymentEvent['data']> & PaymentEvent;

/**
 * Folds one event onto a payment's row. Answers null for an event the row has already folded
 * (at or below its revision) or one that cannot start a row (anything but PaymentRequested).
 */
export function evolveSummary(current: PaymentSummary | undefined, event: PaymentRecordedEvent): SummaryChange | null {
  if (current && event.revision <= current.revision) return null;
  const at = event.metadata.occurredAt;
  if (!current) {
    if (event.type !== 'PaymentRequested') return null;
    const summary = requestedRow(event, at);
    return { summary, stats: [delta(event, summary, 'requested', summary.amount)] };
  }
  const next = { ...applyEvent(current, event), revision: event.revision, updatedAt: at };
  const settles = (event.type === 'PaymentCaptured' || event.type === 'PaymentFailed') && current.settledAt === null;
  const summary = settles ? { ...next, settledAt: at, processingMs: Math.max(0, Date.parse(at) - Date.parse(current.requestedAt)) } : next;
  return { summary, stats: statsOf(event, summary, settles) };
}

function requestedRow(event: PaymentRecordedEvent & { readonly type: 'PaymentRequested' }, at: string): PaymentSummary {
  const { data } = event;
  const fees = seedFees(data.quote);
  return {
    paymentId: data.paymentId,
    tenantId: event.metadata.tenantId,
    userId: data.userId,
    venueId: data.venueId,
    eventId: data.eventId,
    status: 'pending',
    currency: data.quote.currency,
    amount: data.quote.total,
    ticketCount: data.quote.ticketCount,
    ticketPrice: fees.ticketPrice,
    platformFee: fees.platformFee,
    gas: fees.gasEstimate,
    stateTax: fees.stateTax,
    localTax: fees.localTax,
    venueTax: data.quote.venueTax,
    captured: 0,
    refunded: 0,
    refundPending: 0,
    chargedBack: 0,
    disputeOpen: false,
    paymentMethod: data.paymentMethod.type,
    gateway: null,
    gatewayReference: null,
    failureReason: null,
    failureCode: null,
    declineCode: null,
    requestedAt: data.requestedAt,
    createdAt: at,
    updatedAt: at,
    settledAt: null,
    processingMs: null,
    revision: event.revision,
  };
}

/** The status once money has been captured: the aggregate's `afterCapture`. */
function afterCapture(row: Pick<PaymentSummary, 'disputeOpen' | 'captured' | 'refunded' | 'chargedBack'>): PaymentStatus {
  if (row.disputeOpen) return 'disputed';
  const returned = row.refunded + row.chargedBack;
  if (returned === 0) return 'completed';
  return returned >= row.captured ? 'refunded' : 'partially_refunded';
}

/** What an event does to the row's status, amounts and gateway facts, as the aggregate's evolve does. */
function applyEvent(row: PaymentSummary, event: PaymentRecordedEvent): PaymentSummary {
  switch (event.type) {
    case 'PaymentRequested':
      return { ...row, status: 'pending' };
    case 'PaymentSubmitted':
      return { ...row, status: 'processing', gateway: event.data.gateway };
    case 'PaymentActionRequired':
      return { ...row, status: 'pending', gatewayReference: event.data.gatewayReference };
    case 'PaymentAuthorized':
      return { ...row, status: 'processing', gateway: event.data.gateway, gatewayReference: event.data.gatewayReference };
    case 'PaymentCaptured': {
      const next = { ...row, captured: row.captured + event.data.amount, gatewayReference: event.data.gatewayReference };
      return { ...next, status: afterCapture(next) };
    }
    case 'PaymentFailed':
      return { ...row, status: 'failed', failureReason: event.data.reason, failureCode: event.data.code, declineCode: event.data.declineCode ?? null };
    case 'PaymentCancelled':
      return { ...row, status: 'cancelled' };
    case 'PaymentExpired':
      return { ...row, status: 'expired' };
    case 'PaymentAuthorizationVoided':
    case 'PaymentRiskAssessed':
    case 'PaymentReviewed':
      return row;
    case 'RefundRequested':
      return { ...row, refundPending: row.refundPending + event.data.amount };
    case 'RefundSucceeded': {
      const next = { ...row, refunded: row.refunded + event.data.amount, refundPending: row.refundPending - event.data.amount };
      return { ...next, status: afterCapture(next) };
    }
    case 'RefundFailed':
      return { ...row, refundPending: row.refundPending - event.data.amount };
    case 'DisputeOpened':
      return { ...row, status: 'disputed', disputeOpen: true };
    case 'DisputeClosed': {
      const next = { ...row, disputeOpen: false, chargedBack: row.chargedBack + (event.data.outcome === 'lost' ? event.data.amount : 0) };
      return { ...next, status: afterCapture(next) };
    }
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

/** One count of `outcome` in the hour the event occurred. */
function delta(event: PaymentRecordedEvent, row: PaymentSummary, outcome: Outcome, amount: number, reason = '', processingMs: number | null = null): StatsDelta {
  return {
    hour: hourOf(event.metadata.occurredAt),
    currency: row.currency,
    method: row.paymentMethod,
    outcome,
    reason,
    kind: 'purchase',
    count: 1,
    amount,
    processingMs: processingMs ?? 0,
    processingCount: processingMs === null ? 0 : 1,
  };
}

/** What an event adds to the hourly outcome counts (the request's own count is taken when the row starts). */
function statsOf(event: PaymentRecordedEvent, row: PaymentSummary, settles: boolean): StatsDelta[] {
  const processing = settles ? row.processingMs : null;
  switch (event.type) {
    case 'PaymentRequested':
      return [];
    case 'PaymentCaptured':
      return [delta(event, row, 'completed', event.data.amount, '', processing)];
    case 'PaymentFailed':
      return [delta(event, row, 'failed', row.amount, event.data.declineCode ?? event.data.code, processing)];
    case 'PaymentExpired':
      return [delta(event, row, 'expired', row.amount)];
    case 'PaymentCancelled':
      return [delta(event, row, 'cancelled', row.amount)];
    case 'RefundSucceeded':
      return [delta(event, row, 'refunded', event.data.amount)];
    case 'DisputeClosed':
      return event.data.outcome === 'lost' ? [delta(event, row, 'charged_back', event.data.amount)] : [];
    case 'PaymentRiskAssessed':
    case 'PaymentReviewed':
    case 'PaymentSubmitted':
    case 'PaymentActionRequired':
    case 'PaymentAuthorized':
    case 'PaymentAuthorizationVoided':
    case 'RefundRequested':
    case 'RefundFailed':
    case 'DisputeOpened':
      return [];
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

/** How a refund event changes the refund's row; null for events that are not about a refund. */
export function evolveRefund(current: RefundRow | undefined, event: PaymentRecordedEvent): RefundRow | null {
  const at = event.metadata.occurredAt;
  switch (event.type) {
    case 'RefundRequested': {
      const { refundId, paymentId, currency, amount, reason, requestedBy } = event.data;
      return (
        current ?? {
          refundId,
          paymentId,
          currency,
          amount,
          status: 'pending',
          reason,
          requestedBy,
          requestedAt: at,
          completedAt: null,
          gatewayReference: null,
          failureReason: null,
          failureCode: null,
        }
      );
    }
    case 'RefundSucceeded':
      return current ? { ...current, status: 'succeeded', completedAt: at, gatewayReference: event.data.gatewayReference } : null;
    case 'RefundFailed':
      return current ? { ...current, status: 'failed', completedAt: at, failureReason: event.data.reason, failureCode: event.data.code } : null;
    case 'PaymentRiskAssessed':
    case 'PaymentReviewed':
    case 'PaymentRequested':
    case 'PaymentSubmitted':
    case 'PaymentActionRequired':
    case 'PaymentAuthorized':
    case 'PaymentCaptured':
    case 'PaymentFailed':
    case 'PaymentCancelled':
    case 'PaymentExpired':
    case 'PaymentAuthorizationVoided':
    case 'DisputeOpened':
    case 'DisputeClosed':
      return null;
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

/** The row as payment_summaries' columns (migrations/0005_read_models.sql, 0007_lean_payment_summaries.sql). */
export function summaryColumns(summary: PaymentSummary) {
  return {
    payment_id: summary.paymentId,
    tenant_id: summary.tenantId,
    user_id: summary.userId,
    venue_id: summary.venueId,
    event_id: summary.eventId,
    status: summary.status,
    currency: summary.currency,
    amount: summary.amount,
    ticket_count: summary.ticketCount,
    ticket_price: summary.ticketPrice,
    platform_fee: summary.platformFee,
    gas: summary.gas,
    state_tax: summary.stateTax,
    local_tax: summary.localTax,
    venue_tax: summary.venueTax,
    captured: summary.captured,
    refunded: summary.refunded,
    refund_pending: summary.refundPending,
    charged_back: summary.chargedBack,
    dispute_open: summary.disputeOpen,
    payment_method: summary.paymentMethod,
    gateway: summary.gateway,
    gateway_reference: summary.gatewayReference,
    failure_reason: summary.failureReason,
    failure_code: summary.failureCode,
    decline_code: summary.declineCode,
    requested_at: summary.requestedAt,
    created_at: summary.createdAt,
    updated_at: summary.updatedAt,
    settled_at: summary.settledAt,
    processing_ms: summary.processingMs,
    revision: summary.revision,
  };
}

/** Adds up deltas of the same (hour, currency, method, outcome, reason, kind), so one batch writes each key once. */
export const mergeStats = (deltas: readonly StatsDelta[]): StatsDelta[] =>
  sumByKey(deltas, (d) => [d.hour, d.currency, d.method, d.outcome, d.reason, d.kind], ['count', 'amount', 'processingMs', 'processingCount']);

/** The start of the UTC hour an ISO time falls in. */
export function hourOf(iso: string): string {
  const date = new Date(iso);
  date.setUTCMinutes(0, 0, 0);
  return date.toISOString();
}
