import { evolvePayment, initialPaymentState, type PaymentState } from '../aggregates/payment.js';
import { seedFees } from '../domain/purchase-quote.js';
import type { RecordedEvent } from '../eventstore/event-store.js';
import type { PaymentEvent } from '../events/payment-events.js';
import { sumByKey } from './sum-by-key.js';

/**
 * The pure half of the payments read model: how one event changes a payment's row, its refunds
 * and the hourly outcome counts. The status is the aggregate's own, folded with its evolve, so
 * the read model can never disagree with the write side about what a status means.
 */
export interface PaymentSummary {
  readonly paymentId: string;
  readonly tenantId: string;
  readonly revision: number;
  readonly state: PaymentState;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly settledAt: string | null;
  readonly processingMs: number | null;
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

/** One count toward payment_stats_hourly. */
export interface StatsDelta {
  readonly hour: string;
  readonly currency: string;
  readonly method: string;
  readonly outcome: Outcome;
  readonly reason: string;
  readonly count: number;
  readonly amount: number;
  readonly processingMs: number;
  readonly processingCount: number;
}

export interface SummaryChange {
  readonly summary: PaymentSummary;
  readonly stats: readonly StatsDelta[];
}

type PaymentRecordedEvent = RecordedEvent<PaymentEvent['type'], PaymentEvent['data']> & PaymentEvent;

/**
 * Folds one event onto a payment's row. Answers null for an event the row has already folded
 * (at or below its revision) or one that cannot start a row (anything but PaymentRequested).
 */
export function evolveSummary(current: PaymentSummary | undefined, event: PaymentRecordedEvent): SummaryChange | null {
  if (current && event.revision <= current.revision) return null;
  if (!current && event.type !== 'PaymentRequested') return null;
  const at = event.metadata.occurredAt;
  const state = evolvePayment(current?.state ?? initialPaymentState(), event);
  const base: PaymentSummary = current ?? {
    paymentId: event.data.paymentId,
    tenantId: event.metadata.tenantId,
    revision: event.revision,
    state,
    createdAt: at,
    updatedAt: at,
    settledAt: null,
    processingMs: null,
  };
  const settles = (event.type === 'PaymentCaptured' || event.type === 'PaymentFailed') && base.settledAt === null;
  const processingMs = settles ? Math.max(0, Date.parse(at) - Date.parse(state.request?.requestedAt ?? base.createdAt)) : base.processingMs;
  const summary: PaymentSummary = {
    ...base,
    revision: event.revision,
    state,
    updatedAt: at,
    settledAt: settles ? at : base.settledAt,
    processingMs,
  };
  return { summary, stats: statsOf(event, summary, settles ? processingMs : null) };
}

/** What an event adds to the hourly outcome counts. */
function statsOf(event: PaymentRecordedEvent, summary: PaymentSummary, processingMs: number | null): StatsDelta[] {
  const request = summary.state.request;
  if (!request) return [];
  const delta = (outcome: Outcome, amount: number, reason = ''): StatsDelta => ({
    hour: hourOf(event.metadata.occurredAt),
    currency: request.quote.currency,
    method: request.paymentMethod.type,
    outcome,
    reason,
    count: 1,
    amount,
    processingMs: processingMs ?? 0,
    processingCount: processingMs === null ? 0 : 1,
  });
  switch (event.type) {
    case 'PaymentRequested':
      return [delta('requested', event.data.quote.total)];
    case 'PaymentCaptured':
      return [delta('completed', event.data.amount)];
    case 'PaymentFailed':
      return [delta('failed', request.quote.total, event.data.declineCode ?? event.data.code)];
    case 'PaymentExpired':
      return [delta('expired', request.quote.total)];
    case 'PaymentCancelled':
      return [delta('cancelled', request.quote.total)];
    case 'RefundSucceeded':
      return [delta('refunded', event.data.amount)];
    case 'DisputeClosed':
      return event.data.outcome === 'lost' ? [delta('charged_back', event.data.amount)] : [];
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

/** The row's columns besides its folded state: the amounts and facts queries filter and show. */
export function summaryColumns(summary: PaymentSummary) {
  const { state } = summary;
  const request = state.request!;
  const fees = seedFees(request.quote);
  return {
    payment_id: summary.paymentId,
    tenant_id: summary.tenantId,
    user_id: request.userId,
    venue_id: request.venueId,
    event_id: request.eventId,
    status: state.status,
    currency: request.quote.currency,
    amount: request.quote.total,
    ticket_count: request.quote.ticketCount,
    ticket_price: fees.ticketPrice,
    platform_fee: fees.platformFee,
    gas: fees.gasEstimate,
    state_tax: fees.stateTax,
    local_tax: fees.localTax,
    venue_tax: request.quote.venueTax,
    captured: state.captured,
    refunded: state.refunded,
    refund_pending: state.refundPending,
    charged_back: state.chargedBack,
    payment_method: request.paymentMethod.type,
    gateway: state.gateway ?? null,
    gateway_reference: state.gatewayReference ?? null,
    failure_reason: state.failure?.reason ?? null,
    failure_code: state.failure?.code ?? null,
    decline_code: state.failure?.declineCode ?? null,
    created_at: summary.createdAt,
    updated_at: summary.updatedAt,
    settled_at: summary.settledAt,
    processing_ms: summary.processingMs,
    revision: summary.revision,
    state,
  };
}

/** Adds up deltas of the same (hour, currency, method, outcome, reason), so one batch writes each key once. */
export const mergeStats = (deltas: readonly StatsDelta[]): StatsDelta[] =>
  sumByKey(deltas, (d) => [d.hour, d.currency, d.method, d.outcome, d.reason], ['count', 'amount', 'processingMs', 'processingCount']);

/** The start of the UTC hour an ISO time falls in. */
export function hourOf(iso: string): string {
  const date = new Date(iso);
  date.setUTCMinutes(0, 0, 0);
  return date.toISOString();
}
