import { sql as kysql, type Kysely, type Transaction } from 'kysely';
import type { RecordedEvent } from '../eventstore/event-store.js';
import type { RiskAssessmentRecord } from '../events/payment.js';
import { defineProjection } from './engine/projection.js';

interface RiskAssessmentTables {
  tessera_risk_assessments: {
    payment_id: string;
    tenant_id: string;
    subject: string;
    user_id: string;
    venue_id: string;
    event_id: string;
    amount: string;
    score: number;
    risk_level: string;
    decision: string;
    decline_code: string | null;
    rules: unknown;
    features: unknown;
    bot_score: string;
    scalper_score: string;
    model_version: string;
    model_score: string;
    shadow_model_version: string | null;
    shadow_model_score: string | null;
    shadow_decision: string | null;
    device_fingerprint: string | null;
    ip_address: string | null;
    latency_ms: string;
    assessed_at: Date;
    review_status: string | null;
    reviewed_by: string | null;
    reviewed_at: Date | null;
    review_note: string | null;
    authorized: boolean;
    payment_status: string;
  };
}

/** What a batch changes of one assessed payment, folded in event order. */
interface Change {
  insert?: Record<string, unknown>;
  authorized?: boolean;
  review?: { status: string; by: string; at: string; note: string | null };
  status?: string;
}

/**
 * What later events say of an assessed purchase's money, keyed as its assessment: a payment's
 * status by its id, an escrow's funding by the escrow id. A group share's row keeps the status
 * its assessment left it (the group's own read model follows its holds).
 */
const STATUS_BY_EVENT: Partial<Record<string, { readonly status: string; readonly key: (data: Record<string, unknown>) => unknown }>> = {
  PaymentSubmitted: { status: 'processing', key: (d) => d.paymentId },
  PaymentActionRequired: { status: 'pending', key: (d) => d.paymentId },
  PaymentCaptured: { status: 'completed', key: (d) => d.paymentId },
  PaymentFailed: { status: 'failed', key: (d) => d.paymentId },
  PaymentCancelled: { status: 'cancelled', key: (d) => d.paymentId },
  PaymentExpired: { status: 'expired', key: (d) => d.paymentId },
  EscrowFunded: { status: 'funded', key: (d) => d.escrowId },
  EscrowFundingFailed: { status: 'failed', key: (d) => d.escrowId },
};

/** The three events that record an assessment, and the status the purchase starts from. */
const ASSESSED: Partial<Record<string, (data: RiskAssessmentRecord) => string>> = {
  PaymentRiskAssessed: () => 'pending',
  EscrowRiskAssessed: () => 'created',
  ContributionRiskAssessed: (data) => (data.decision === 'decline' || data.decision === 'review' ? 'declined' : 'submitted'),
};

function rowOf(event: RecordedEvent, data: RiskAssessmentRecord, status: string): Record<string, unknown> {
  return {
    payment_id: data.assessmentId,
    tenant_id: event.metadata.tenantId ?? '',
    subject: data.subject,
    user_id: data.userId,
    venue_id: data.venueId,
    event_id: data.eventId,
    amount: data.amount,
    score: data.score,
    risk_level: data.level,
    decision: data.decision,
    decline_code: data.declineCode ?? null,
    rules: data.rules,
    features: data.features,
    bot_score: data.botScore,
    scalper_score: data.scalperScore,
    model_version: data.modelVersion,
    model_score: data.modelScore,
    shadow_model_version: data.shadow?.modelVersion ?? null,
    shadow_model_score: data.shadow?.modelScore ?? null,
    shadow_decision: data.shadow?.decision ?? null,
    device_fingerprint: data.deviceFingerprint ?? null,
    ip_address: data.ipAddress ?? null,
    latency_ms: data.latencyMs,
    assessed_at: data.assessedAt,
    // Only a card purchase waits for an analyst; a resale or a share held for review was refused.
    review_status: data.decision === 'review' && event.type === 'PaymentRiskAssessed' ? 'pending' : null,
    // Every column, NOT NULL ones included: jsonb_populate_recordset fills an absent one with null, not its default.
    reviewed_by: null,
    reviewed_at: null,
    review_note: null,
    authorized: false,
    payment_status: status,
  };
}

/** Folds the batch's payment events into one change per assessed payment (pure). */
function changesOf(events: readonly RecordedEvent[]): Map<string, Change> {
  const changes = new Map<string, Change>();
  const changeOf = (paymentId: string) => changes.get(paymentId) ?? changes.set(paymentId, {}).get(paymentId)!;
  for (const event of events) {
    const data = event.data as Record<string, unknown>;
    const assessed = ASSESSED[event.type];
    const status = STATUS_BY_EVENT[event.type];
    if (assessed) {
      const record = data as unknown as RiskAssessmentRecord;
      changeOf(record.assessmentId).insert = rowOf(event, record, assessed(record));
    } else if (event.type === 'PaymentAuthorized') {
      changeOf(String(data.paymentId)).authorized = true;
    } else if (event.type === 'PaymentReviewed') {
      const { verdict, reviewedBy, reviewedAt, note } = data as { verdict: string; reviewedBy: string; reviewedAt: string; note?: string };
      changeOf(String(data.paymentId)).review = { status: verdict === 'approve' ? 'approved' : 'declined', by: reviewedBy, at: reviewedAt, note: note ?? null };
    } else if (status) {
      changeOf(String(status.key(data))).status = status.status;
    }
  }
  return changes;
}

/**
 * New assessments in one INSERT; what later events change of assessed payments (authorized,
 * reviewed, the payment's status) in one UPDATE. Events of payments never assessed match no row.
 */
async function applyBatch(events: readonly RecordedEvent[], trx: Transaction<RiskAssessmentTables>): Promise<void> {
  const changes = changesOf(events);
  if (changes.size === 0) return;
  const inserts = [...changes.values()].flatMap((c) => (c.insert ? [c.insert] : []));
  if (inserts.length > 0) {
    await kysql`
      INSERT INTO tessera_risk_assessments
      SELECT * FROM jsonb_populate_recordset(NULL::tessera_risk_assessments, ${JSON.stringify(inserts)}::jsonb)
      ON CONFLICT (payment_id) DO NOTHING`.execute(trx);
  }
  const updates = [...changes.entries()]
    .filter(([, c]) => c.authorized || c.review || c.status)
    .map(([paymentId, c]) => ({
      payment_id: paymentId,
      authorized: c.authorized ?? null,
      review_status: c.review?.status ?? null,
      reviewed_by: c.review?.by ?? null,
      reviewed_at: c.review?.at ?? null,
      review_note: c.review?.note ?? null,
      payment_status: c.status ?? null,
    }));
  if (updates.length === 0) return;
  await kysql`
    UPDATE tessera_risk_assessments t SET
      authorized = t.authorized OR coalesce(u.authorized, false),
      review_status = coalesce(u.review_status, t.review_status),
      reviewed_by = coalesce(u.reviewed_by, t.reviewed_by),
      reviewed_at = coalesce(u.reviewed_at, t.reviewed_at),
      review_note = coalesce(u.review_note, t.review_note),
      payment_status = coalesce(u.payment_status, t.payment_status)
    FROM jsonb_to_recordset(${JSON.stringify(updates)}::jsonb)
      AS u(payment_id text, authorized boolean, review_status text, reviewed_by text, reviewed_at timestamptz, review_note text, payment_status text)
    WHERE t.payment_id = u.payment_id`.execute(trx);
}

export const RISK_ASSESSMENTS_PROJECTION = 'risk-assessments';

/** `tessera_risk_assessments` (migrations/0013_risk_assessments.sql): every risk assessment and its review. */
export const riskAssessmentsProjection = defineProjection<RiskAssessmentTables>({
  name: RISK_ASSESSMENTS_PROJECTION,
  version: 1,
  tables: ['tessera_risk_assessments'],
  indexesBuiltAfterReplay: ['tessera_risk_assessments_review_status_assessed_at_idx', 'tessera_risk_assessments_assessed_at_idx'],
  handle: applyBatch,
});

export interface AssessmentView {
  readonly paymentId: string;
  readonly subject: string;
  readonly userId: string;
  readonly venueId: string;
  readonly eventId: string;
  readonly amount: number;
  readonly score: number;
  readonly riskLevel: string;
  readonly decision: string;
  readonly declineCode: string | null;
  readonly rules: unknown;
  readonly features: unknown;
  readonly botScore: number;
  readonly scalperScore: number;
  readonly modelVersion: string;
  readonly modelScore: number;
  readonly shadow: { readonly modelVersion: string; readonly modelScore: number; readonly decision: string } | null;
  readonly deviceFingerprint: string | null;
  readonly ipAddress: string | null;
  readonly latencyMs: number;
  readonly assessedAt: string;
  readonly review: { readonly status: string; readonly by: string | null; readonly at: string | null; readonly note: string | null } | null;
  readonly authorized: boolean;
  readonly paymentStatus: string;
}

type Row = RiskAssessmentTables['tessera_risk_assessments'];

const viewOf = (r: Row): AssessmentView => ({
  paymentId: r.payment_id,
  subject: r.subject,
  userId: r.user_id,
  venueId: r.venue_id,
  eventId: r.event_id,
  amount: Number(r.amount),
  score: r.score,
  riskLevel: r.risk_level,
  decision: r.decision,
  declineCode: r.decline_code,
  rules: r.rules,
  features: r.features,
  botScore: Number(r.bot_score),
  scalperScore: Number(r.scalper_score),
  modelVersion: r.model_version,
  modelScore: Number(r.model_score),
  shadow: r.shadow_model_version ? { modelVersion: r.shadow_model_version, modelScore: Number(r.shadow_model_score), decision: r.shadow_decision ?? '' } : null,
  deviceFingerprint: r.device_fingerprint,
  ipAddress: r.ip_address,
  latencyMs: Number(r.latency_ms),
  assessedAt: new Date(r.assessed_at).toISOString(),
  review: r.review_status ? { status: r.review_status, by: r.reviewed_by, at: r.reviewed_at && new Date(r.reviewed_at).toISOString(), note: r.review_note } : null,
  authorized: r.authorized,
  paymentStatus: r.payment_status,
});

export async function findAssessment(db: Kysely<object>, tenantId: string, paymentId: string): Promise<AssessmentView | undefined> {
  const row = await (db as Kysely<RiskAssessmentTables>)
    .selectFrom('tessera_risk_assessments')
    .selectAll()
    .where('payment_id', '=', paymentId)
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
  return row && viewOf(row);
}

/** Assessments newest first: the review queue (`review: 'pending'`), or by decision. */
export async function listAssessments(
  db: Kysely<object>,
  tenantId: string,
  filter: { readonly review?: string; readonly decision?: string; readonly limit: number; readonly before?: string },
): Promise<AssessmentView[]> {
  let query = (db as Kysely<RiskAssessmentTables>).selectFrom('tessera_risk_assessments').selectAll().where('tenant_id', '=', tenantId);
  if (filter.review) query = query.where('review_status', '=', filter.review);
  if (filter.decision) query = query.where('decision', '=', filter.decision);
  if (filter.before) query = query.where('assessed_at', '<', new Date(filter.before));
  const rows = await query.orderBy('assessed_at', 'desc').orderBy('payment_id').limit(filter.limit).execute();
  return rows.map(viewOf);
}
