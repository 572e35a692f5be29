import { sql, type QueryExecutorProvider, type Transaction } from 'kysely';
import type { PaymentState } from '../aggregates/payment.js';
import type { RecordedEvent } from '../eventstore/event-store.js';
import { isPaymentEvent, type PaymentEvent } from '../events/payment-events.js';
import {
  evolveRefund,
  evolveSummary,
  mergeStats,
  summaryColumns,
  type PaymentSummary,
  type RefundRow,
  type StatsDelta,
} from './payment-rows.js';
import { defineProjection } from './projection.js';

/**
 * The payments read model (migrations/0005_read_models.sql): a row per payment with its status
 * and amounts, its refunds, and outcome counts per hour for /admin/stats and the payment
 * metrics. A batch loads the rows its events touch, folds the events in memory
 * (payment-rows.ts) and writes each touched row once, in three statements.
 */
export const PAYMENTS_PROJECTION = 'payments';

/** Bump it whenever the rows it writes change: the read model is then rebuilt beside the live one. */
export const PAYMENTS_VERSION = 1;

export const payments = defineProjection<object>({
  name: PAYMENTS_PROJECTION,
  version: PAYMENTS_VERSION,
  tables: ['payment_summaries', 'payment_refunds', 'payment_stats_hourly'],
  // The handler looks rows up by payment_summaries_pkey and payment_refunds_payment_id_idx and
  // upserts on the stats' primary key; the rest only serve queries.
  indexesBuiltAfterReplay: [
    'payment_summaries_created_at_idx',
    'payment_summaries_user_id_created_at_idx',
    'payment_summaries_venue_id_created_at_idx',
  ],
  async handle(events, trx) {
    const paymentEvents = events.filter(isPaymentRecord);
    if (paymentEvents.length === 0) return;
    const ids = [...new Set(paymentEvents.map((e) => e.data.paymentId))];
    const summaries = await loadSummaries(trx, ids);
    const refunds = await loadRefunds(trx, ids);
    const touchedSummaries = new Set<string>();
    const touchedRefunds = new Set<string>();
    const stats: StatsDelta[] = [];
    for (const event of paymentEvents) {
      const change = evolveSummary(summaries.get(event.data.paymentId), event);
      if (!change) continue;
      summaries.set(event.data.paymentId, change.summary);
      touchedSummaries.add(event.data.paymentId);
      stats.push(...change.stats);
      if ('refundId' in event.data) {
        const refund = evolveRefund(refunds.get(event.data.refundId), event);
        if (refund) {
          refunds.set(refund.refundId, refund);
          touchedRefunds.add(refund.refundId);
        }
      }
    }
    await saveSummaries(trx, [...touchedSummaries].map((id) => summaries.get(id)!));
    await saveRefunds(trx, [...touchedRefunds].map((id) => refunds.get(id)!));
    await addStats(trx, mergeStats(stats));
  },
});

type PaymentRecord = RecordedEvent<PaymentEvent['type'], PaymentEvent['data']> & PaymentEvent;

const isPaymentRecord = (event: RecordedEvent): event is PaymentRecord => event.streamId.startsWith('payment-') && isPaymentEvent(event);

interface SummaryRow {
  payment_id: string;
  tenant_id: string;
  revision: string;
  state: PaymentState | string;
  created_at: Date;
  updated_at: Date;
  settled_at: Date | null;
  processing_ms: string | null;
}

async function loadSummaries(trx: Transaction<object>, ids: readonly string[]): Promise<Map<string, PaymentSummary>> {
  const { rows } = await sql<SummaryRow>`
    SELECT payment_id::text AS payment_id, tenant_id, revision::text AS revision, state, created_at, updated_at, settled_at,
           processing_ms::text AS processing_ms
      FROM payment_summaries WHERE payment_id = ANY (${ids}::uuid[])`.execute(trx);
  return new Map(
    rows.map((row) => [
      row.payment_id,
      {
        paymentId: row.payment_id,
        tenantId: row.tenant_id,
        revision: Number(row.revision),
        state: typeof row.state === 'string' ? (JSON.parse(row.state) as PaymentState) : row.state,
        createdAt: row.created_at.toISOString(),
        updatedAt: row.updated_at.toISOString(),
        settledAt: row.settled_at?.toISOString() ?? null,
        processingMs: row.processing_ms === null ? null : Number(row.processing_ms),
      },
    ]),
  );
}

interface StoredRefund {
  refund_id: string;
  payment_id: string;
  currency: string;
  amount: string;
  status: RefundRow['status'];
  reason: string;
  requested_by: string;
  requested_at: Date;
  completed_at: Date | null;
  gateway_reference: string | null;
  failure_reason: string | null;
  failure_code: string | null;
}

async function loadRefunds(trx: Transaction<object>, paymentIds: readonly string[]): Promise<Map<string, RefundRow>> {
  return new Map((await readRefunds(trx, paymentIds)).map((refund) => [refund.refundId, refund]));
}

/** The refunds of some payments, oldest first. */
export async function readRefunds(db: QueryExecutorProvider, paymentIds: readonly string[]): Promise<RefundRow[]> {
  const { rows } = await sql<StoredRefund>`
    SELECT refund_id, payment_id::text AS payment_id, currency, amount::text AS amount, status, reason, requested_by,
           requested_at, completed_at, gateway_reference, failure_reason, failure_code
      FROM payment_refunds WHERE payment_id = ANY (${paymentIds}::uuid[]) ORDER BY requested_at, refund_id`.execute(db);
  return rows.map(refundFromRow);
}

const refundFromRow = (row: StoredRefund): RefundRow => ({
  refundId: row.refund_id,
  paymentId: row.payment_id,
  currency: row.currency,
  amount: Number(row.amount),
  status: row.status,
  reason: row.reason,
  requestedBy: row.requested_by,
  requestedAt: row.requested_at.toISOString(),
  completedAt: row.completed_at?.toISOString() ?? null,
  gatewayReference: row.gateway_reference,
  failureReason: row.failure_reason,
  failureCode: row.failure_code,
});

async function saveSummaries(trx: Transaction<object>, rows: readonly PaymentSummary[]): Promise<void> {
  if (rows.length === 0) return;
  // One jsonb parameter, expanded server-side: the statement's size and plan do not depend on the batch.
  await sql`
    INSERT INTO payment_summaries AS s
    SELECT * FROM jsonb_populate_recordset(NULL::payment_summaries, ${JSON.stringify(rows.map(summaryColumns))}::jsonb)
    ON CONFLICT (payment_id) DO UPDATE SET
      status = excluded.status, captured = excluded.captured, refunded = excluded.refunded,
      refund_pending = excluded.refund_pending, charged_back = excluded.charged_back, gateway = excluded.gateway,
      gateway_reference = excluded.gateway_reference, failure_reason = excluded.failure_reason,
      failure_code = excluded.failure_code, decline_code = excluded.decline_code, updated_at = excluded.updated_at,
      settled_at = excluded.settled_at, processing_ms = excluded.processing_ms, revision = excluded.revision,
      state = excluded.state`.execute(trx);
}

async function saveRefunds(trx: Transaction<object>, rows: readonly RefundRow[]): Promise<void> {
  if (rows.length === 0) return;
  const records = rows.map((r) => ({
    refund_id: r.refundId,
    payment_id: r.paymentId,
    currency: r.currency,
    amount: r.amount,
    status: r.status,
    reason: r.reason,
    requested_by: r.requestedBy,
    requested_at: r.requestedAt,
    completed_at: r.completedAt,
    gateway_reference: r.gatewayReference,
    failure_reason: r.failureReason,
    failure_code: r.failureCode,
  }));
  await sql`
    INSERT INTO payment_refunds
    SELECT * FROM jsonb_populate_recordset(NULL::payment_refunds, ${JSON.stringify(records)}::jsonb)
    ON CONFLICT (refund_id) DO UPDATE SET
      status = excluded.status, completed_at = excluded.completed_at, gateway_reference = excluded.gateway_reference,
      failure_reason = excluded.failure_reason, failure_code = excluded.failure_code`.execute(trx);
}

async function addStats(trx: Transaction<object>, deltas: readonly StatsDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  const records = deltas.map((d) => ({
    hour: d.hour,
    currency: d.currency,
    method: d.method,
    outcome: d.outcome,
    reason: d.reason,
    count: d.count,
    amount: d.amount,
    processing_ms: d.processingMs,
    processing_count: d.processingCount,
  }));
  await sql`
    INSERT INTO payment_stats_hourly AS h
    SELECT * FROM jsonb_populate_recordset(NULL::payment_stats_hourly, ${JSON.stringify(records)}::jsonb)
    ON CONFLICT (hour, currency, method, outcome, reason) DO UPDATE SET
      count = h.count + excluded.count, amount = h.amount + excluded.amount,
      processing_ms = h.processing_ms + excluded.processing_ms,
      processing_count = h.processing_count + excluded.processing_count`.execute(trx);
}
