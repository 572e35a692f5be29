import { sql, type QueryExecutorProvider, type Transaction } from 'kysely';
import { textArrayLiteral } from '../../db/array-literal.js';
import { BinaryCopyWriter } from '../../db/binary-copy.js';
import { copyInto } from '../../db/kysely.js';
import type { RecordedEvent } from '../../eventstore/event-store.js';
import { isPaymentEvent } from '../../events/payment.js';
import { chargeColumns, chargeKey, chargeKeyOf, evolveCharge, isChargeRecord, type ChargeKind, type ChargeRecordedEvent, type ChargeRow } from './charges.js';
import {
  evolveRefund,
  evolveSummary,
  mergeStats,
  summaryColumns,
  type PaymentRecordedEvent,
  type PaymentSummary,
  type RefundRow,
  type StatsDelta,
  type StoredSummary,
} from './rows.js';
import { revenueAgreesWithLedger } from './revenue-check.js';
import { defineProjection } from '../engine/projection.js';
import { ledger } from '../ledger/projection.js';

/**
 * The payments read model (migrations/0005_read_models.sql, 0007_lean_payment_summaries.sql,
 * 0018_reports_agree_with_ledger.sql): a row per card purchase with its status and amounts, its
 * refunds, a row per group purchase and resale charge (payment_charges), and outcome counts per
 * hour and kind for /admin/stats and the payment metrics. A batch loads the rows its events
 * touch, folds the events in memory (rows.ts, charges.ts), then appends the purchases it created
 * with COPY and updates the ones it loaded: replaying history, nearly every row is new, so a
 * batch costs the server little more than parsing its rows once.
 */
export const PAYMENTS_PROJECTION = 'payments';

/**
 * Bump it whenever the rows it writes change: the read model is then rebuilt beside the live one.
 * 3: group purchases and resale charges (payment_charges, and `kind` in the hourly stats).
 */
export const PAYMENTS_VERSION = 3;

export const payments = defineProjection<object>({
  name: PAYMENTS_PROJECTION,
  version: PAYMENTS_VERSION,
  tables: ['payment_summaries', 'payment_refunds', 'payment_stats_hourly', 'payment_charges'],
  // The handler looks rows up by payment_summaries_pkey, payment_refunds_pkey and
  // payment_charges_pkey and upserts on the stats' and charges' primary keys; the rest only serve queries.
  indexesBuiltAfterReplay: [
    'payment_summaries_created_at_idx',
    'payment_summaries_user_id_created_at_idx',
    'payment_summaries_venue_id_created_at_idx',
    'payment_refunds_payment_id_idx',
    'payment_charges_created_at_idx',
  ],
  async handle(events, trx) {
    const stats = [...(await applyPurchases(events.filter(isPaymentRecord), trx)), ...(await applyCharges(events.filter(isChargeRecord), trx))];
    await addStats(trx, mergeStats(stats));
  },
  check: async (db) => [await revenueAgreesWithLedger(db, { payments: PAYMENTS_PROJECTION, ledger: ledger.name })],
});

async function applyPurchases(paymentEvents: readonly PaymentRecordedEvent[], trx: Transaction<object>): Promise<StatsDelta[]> {
  if (paymentEvents.length === 0) return [];
  const summaries = await loadSummaries(trx, distinct(paymentEvents.map((e) => e.data.paymentId)));
  const refunds = await loadRefunds(trx, distinct(paymentEvents.flatMap(refundIdsToLoad)));
  const known = { summaries: new Set(summaries.keys()), refunds: new Set(refunds.keys()) };
  const touched = { summaries: new Set<string>(), refunds: new Set<string>() };
  const stats: StatsDelta[] = [];
  for (const event of paymentEvents) {
    const change = evolveSummary(summaries.get(event.data.paymentId), event);
    if (!change) continue;
    summaries.set(event.data.paymentId, change.summary);
    touched.summaries.add(event.data.paymentId);
    stats.push(...change.stats);
    if ('refundId' in event.data) {
      const refund = evolveRefund(refunds.get(event.data.refundId), event);
      if (refund) {
        refunds.set(refund.refundId, refund);
        touched.refunds.add(refund.refundId);
      }
    }
  }
  const [newSummaries, changedSummaries] = split(touched.summaries, known.summaries, summaries);
  const [newRefunds, changedRefunds] = split(touched.refunds, known.refunds, refunds);
  await copyInto(trx, 'payment_summaries', SUMMARY_COLUMNS, summaryRows(newSummaries));
  await updateSummaries(trx, changedSummaries);
  await copyInto(trx, 'payment_refunds', REFUND_COLUMNS, refundRows(newRefunds));
  await updateRefunds(trx, changedRefunds);
  return stats;
}

/** Group purchases and resale charges: far fewer than purchases, so one upsert writes new and changed rows alike. */
async function applyCharges(chargeEvents: readonly ChargeRecordedEvent[], trx: Transaction<object>): Promise<StatsDelta[]> {
  if (chargeEvents.length === 0) return [];
  const rows = await loadCharges(trx, distinct(chargeEvents.map((e) => chargeKeyOf(e).chargeId)));
  const touched = new Set<string>();
  const stats: StatsDelta[] = [];
  for (const event of chargeEvents) {
    const key = chargeKey(chargeKeyOf(event));
    const change = evolveCharge(rows.get(key), event);
    if (!change) continue;
    rows.set(key, change.row);
    touched.add(key);
    stats.push(...change.stats);
  }
  await upsertCharges(trx, [...touched].map((key) => rows.get(key)!));
  return stats;
}

const isPaymentRecord = (event: RecordedEvent): event is PaymentRecordedEvent => event.streamId.startsWith('payment-') && isPaymentEvent(event);

const distinct = (ids: readonly string[]): string[] => [...new Set(ids)];

/**
 * The refunds an earlier batch may have recorded: those a refund event names. (A request's id is
 * new but for a replay, or a clash of ids across payments: loading it keeps either from
 * stopping the projection on the refunds' primary key.)
 */
const refundIdsToLoad = (event: PaymentRecordedEvent): string[] =>
  event.type === 'RefundRequested' || event.type === 'RefundSucceeded' || event.type === 'RefundFailed' ? [event.data.refundId] : [];

/** The touched rows that were not stored before this batch, and the ones that were. */
function split<Row>(touched: ReadonlySet<string>, known: ReadonlySet<string>, rows: ReadonlyMap<string, Row>): [Row[], Row[]] {
  const created: Row[] = [];
  const changed: Row[] = [];
  for (const id of touched) (known.has(id) ? changed : created).push(rows.get(id)!);
  return [created, changed];
}

const SUMMARY_SELECT = sql`
    SELECT payment_id::text AS payment_id, tenant_id, user_id, venue_id, event_id, status, currency, amount, ticket_count,
           ticket_price, platform_fee, gas, state_tax, local_tax, venue_tax, captured, refunded, refund_pending, charged_back,
           dispute_open, payment_method, gateway, gateway_reference, failure_reason, failure_code, decline_code,
           requested_at, created_at, updated_at, settled_at, processing_ms, revision
      FROM payment_summaries`;

async function loadSummaries(trx: Transaction<object>, ids: readonly string[]): Promise<Map<string, PaymentSummary>> {
  const { rows } = await sql<StoredSummary>`${SUMMARY_SELECT} WHERE payment_id = ANY ((SELECT ${textArrayLiteral(ids)}::text::uuid[])::uuid[])`.execute(trx);
  return new Map(rows.map((row) => [row.payment_id, summaryFromRow(row)]));
}

/** A payment's row, or undefined when it has none (unknown, or not projected yet). */
export async function readSummary(db: QueryExecutorProvider, paymentId: string): Promise<PaymentSummary | undefined> {
  const { rows } = await sql<StoredSummary>`${SUMMARY_SELECT} WHERE payment_id = ${paymentId}::uuid`.execute(db);
  return rows[0] && summaryFromRow(rows[0]);
}

const summaryFromRow = (row: StoredSummary): PaymentSummary => ({
  paymentId: row.payment_id,
  tenantId: row.tenant_id,
  userId: row.user_id,
  venueId: row.venue_id,
  eventId: row.event_id,
  status: row.status,
  currency: row.currency,
  amount: Number(row.amount),
  ticketCount: row.ticket_count,
  ticketPrice: Number(row.ticket_price),
  platformFee: Number(row.platform_fee),
  gas: Number(row.gas),
  stateTax: Number(row.state_tax),
  localTax: Number(row.local_tax),
  venueTax: Number(row.venue_tax),
  captured: Number(row.captured),
  refunded: Number(row.refunded),
  refundPending: Number(row.refund_pending),
  chargedBack: Number(row.charged_back),
  disputeOpen: row.dispute_open,
  paymentMethod: row.payment_method,
  gateway: row.gateway,
  gatewayReference: row.gateway_reference,
  failureReason: row.failure_reason,
  failureCode: row.failure_code,
  declineCode: row.decline_code,
  requestedAt: row.requested_at.toISOString(),
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  settledAt: row.settled_at?.toISOString() ?? null,
  processingMs: row.processing_ms === null ? null : Number(row.processing_ms),
  revision: Number(row.revision),
});

const SUMMARY_COLUMNS = [
  'payment_id',
  'tenant_id',
  'user_id',
  'venue_id',
  'event_id',
  'status',
  'currency',
  'amount',
  'ticket_count',
  'ticket_price',
  'platform_fee',
  'gas',
  'state_tax',
  'local_tax',
  'venue_tax',
  'captured',
  'refunded',
  'refund_pending',
  'charged_back',
  'dispute_open',
  'payment_method',
  'gateway',
  'gateway_reference',
  'failure_reason',
  'failure_code',
  'decline_code',
  'requested_at',
  'created_at',
  'updated_at',
  'settled_at',
  'processing_ms',
  'revision',
] as const;

/** New summaries as binary COPY rows, their fields in SUMMARY_COLUMNS order. */
function summaryRows(summaries: readonly PaymentSummary[]): BinaryCopyWriter {
  const rows = new BinaryCopyWriter(summaries.length * 400);
  for (const s of summaries) {
    rows
      .row(SUMMARY_COLUMNS.length)
      .uuid(s.paymentId)
      .text(s.tenantId)
      .text(s.userId)
      .text(s.venueId)
      .text(s.eventId)
      .text(s.status)
      .text(s.currency)
      .int8(s.amount)
      .int4(s.ticketCount)
      .int8(s.ticketPrice)
      .int8(s.platformFee)
      .int8(s.gas)
      .int8(s.stateTax)
      .int8(s.localTax)
      .int8(s.venueTax)
      .int8(s.captured)
      .int8(s.refunded)
      .int8(s.refundPending)
      .int8(s.chargedBack)
      .bool(s.disputeOpen)
      .text(s.paymentMethod)
      .textOrNull(s.gateway)
      .textOrNull(s.gatewayReference)
      .textOrNull(s.failureReason)
      .textOrNull(s.failureCode)
      .textOrNull(s.declineCode)
      .timestamptz(s.requestedAt)
      .timestamptz(s.createdAt)
      .timestamptz(s.updatedAt)
      .timestamptzOrNull(s.settledAt);
    if (s.processingMs === null) rows.null();
    else rows.int8(s.processingMs);
    rows.int8(s.revision);
  }
  return rows;
}

/** Rows this batch changed that earlier batches wrote: every column but the key, from the fold. */
async function updateSummaries(trx: Transaction<object>, rows: readonly PaymentSummary[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    UPDATE payment_summaries s SET
      status = v.status, captured = v.captured, refunded = v.refunded, refund_pending = v.refund_pending,
      charged_back = v.charged_back, dispute_open = v.dispute_open, gateway = v.gateway, gateway_reference = v.gateway_reference,
      failure_reason = v.failure_reason, failure_code = v.failure_code, decline_code = v.decline_code,
      updated_at = v.updated_at, settled_at = v.settled_at, processing_ms = v.processing_ms, revision = v.revision
      FROM json_populate_recordset(NULL::payment_summaries, ${JSON.stringify(rows.map(summaryColumns))}::json) v
     WHERE s.payment_id = v.payment_id`.execute(trx);
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

const REFUND_SELECT = sql`SELECT refund_id, payment_id::text AS payment_id, currency, amount::text AS amount, status, reason, requested_by,
                                  requested_at, completed_at, gateway_reference, failure_reason, failure_code FROM payment_refunds`;

async function loadRefunds(trx: Transaction<object>, refundIds: readonly string[]): Promise<Map<string, RefundRow>> {
  if (refundIds.length === 0) return new Map();
  const { rows } = await sql<StoredRefund>`${REFUND_SELECT} WHERE refund_id = ANY ((SELECT ${textArrayLiteral(refundIds)}::text::text[])::text[])`.execute(trx);
  return new Map(rows.map((row) => [row.refund_id, refundFromRow(row)]));
}

/** The refunds of some payments, oldest first. */
export async function readRefunds(db: QueryExecutorProvider, paymentIds: readonly string[]): Promise<RefundRow[]> {
  const { rows } = await sql<StoredRefund>`${REFUND_SELECT} WHERE payment_id = ANY (${paymentIds}::uuid[]) ORDER BY requested_at, refund_id`.execute(db);
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

const refundColumns = (r: RefundRow) => ({
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
});

const REFUND_COLUMNS = [
  'refund_id',
  'payment_id',
  'currency',
  'amount',
  'status',
  'reason',
  'requested_by',
  'requested_at',
  'completed_at',
  'gateway_reference',
  'failure_reason',
  'failure_code',
] as const;

/** New refunds as binary COPY rows, their fields in REFUND_COLUMNS order. */
function refundRows(refunds: readonly RefundRow[]): BinaryCopyWriter {
  const rows = new BinaryCopyWriter(refunds.length * 200);
  for (const r of refunds) {
    rows
      .row(REFUND_COLUMNS.length)
      .text(r.refundId)
      .uuid(r.paymentId)
      .text(r.currency)
      .int8(r.amount)
      .text(r.status)
      .text(r.reason)
      .text(r.requestedBy)
      .timestamptz(r.requestedAt)
      .timestamptzOrNull(r.completedAt)
      .textOrNull(r.gatewayReference)
      .textOrNull(r.failureReason)
      .textOrNull(r.failureCode);
  }
  return rows;
}

async function updateRefunds(trx: Transaction<object>, rows: readonly RefundRow[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    UPDATE payment_refunds r SET
      status = v.status, completed_at = v.completed_at, gateway_reference = v.gateway_reference,
      failure_reason = v.failure_reason, failure_code = v.failure_code
      FROM json_populate_recordset(NULL::payment_refunds, ${JSON.stringify(rows.map(refundColumns))}::json) v
     WHERE r.refund_id = v.refund_id`.execute(trx);
}

async function addStats(trx: Transaction<object>, deltas: readonly StatsDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  const records = deltas.map((d) => ({
    hour: d.hour,
    currency: d.currency,
    method: d.method,
    outcome: d.outcome,
    reason: d.reason,
    kind: d.kind,
    count: d.count,
    amount: d.amount,
    processing_ms: d.processingMs,
    processing_count: d.processingCount,
  }));
  await sql`
    INSERT INTO payment_stats_hourly AS h
    SELECT * FROM json_populate_recordset(NULL::payment_stats_hourly, ${JSON.stringify(records)}::json)
    ON CONFLICT (hour, currency, method, outcome, reason, kind) DO UPDATE SET
      count = h.count + excluded.count, amount = h.amount + excluded.amount,
      processing_ms = h.processing_ms + excluded.processing_ms,
      processing_count = h.processing_count + excluded.processing_count`.execute(trx);
}

interface StoredCharge {
  kind: ChargeKind;
  charge_id: string;
  tenant_id: string;
  user_id: string;
  venue_id: string;
  event_id: string;
  status: string;
  currency: string;
  amount: string;
  captured: string;
  refunded: string;
  created_at: Date;
  updated_at: Date;
  revision: string;
}

/** The charges of these ids (of either kind), by chargeKey. */
async function loadCharges(trx: Transaction<object>, ids: readonly string[]): Promise<Map<string, ChargeRow>> {
  const { rows } = await sql<StoredCharge>`
    SELECT kind, charge_id::text AS charge_id, tenant_id, user_id, venue_id, event_id, status, currency, amount::text AS amount,
           captured::text AS captured, refunded::text AS refunded, created_at, updated_at, revision::text AS revision
      FROM payment_charges WHERE charge_id = ANY ((SELECT ${textArrayLiteral(ids)}::text::uuid[])::uuid[])`.execute(trx);
  const charges = rows.map(
    (row): ChargeRow => ({
      kind: row.kind,
      chargeId: row.charge_id,
      tenantId: row.tenant_id,
      userId: row.user_id,
      venueId: row.venue_id,
      eventId: row.event_id,
      status: row.status,
      currency: row.currency,
      amount: Number(row.amount),
      captured: Number(row.captured),
      refunded: Number(row.refunded),
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
      revision: Number(row.revision),
    }),
  );
  return new Map(charges.map((row) => [chargeKey(row), row]));
}

async function upsertCharges(trx: Transaction<object>, rows: readonly ChargeRow[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    INSERT INTO payment_charges AS c
    SELECT * FROM json_populate_recordset(NULL::payment_charges, ${JSON.stringify(rows.map(chargeColumns))}::json)
    ON CONFLICT (kind, charge_id) DO UPDATE SET
      status = excluded.status, captured = excluded.captured, refunded = excluded.refunded,
      updated_at = excluded.updated_at, revision = excluded.revision`.execute(trx);
}
