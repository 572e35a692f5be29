import type { RecordedEvent } from '../../eventstore/event-store.js';
import { isEscrowEvent, type EscrowEvent } from '../../events/escrow.js';
import { isGroupPaymentEvent, type GroupPaymentEvent } from '../../events/group-payment.js';
import { hourOf, type Outcome, type StatsDelta } from './rows.js';

/**
 * The pure half of the payments read model's other charges (payment_charges): group purchases
 * and resale escrows. Like a card purchase, each takes the buyer's money into `gateway:clearing`
 * (GroupPaymentCompleted, EscrowFunded), so /admin/stats and the payment metrics count them; but
 * they are not Payments, so they keep their own kind, id and status instead of posing as one.
 * A row folds from its own columns and the event alone, as a payment's row does (rows.ts).
 */
export type ChargeKind = 'group' | 'resale';

export interface ChargeRow {
  readonly kind: ChargeKind;
  /** The group's id, or the escrow's. */
  readonly chargeId: string;
  readonly tenantId: string;
  /** The group's organizer; the resale's buyer. */
  readonly userId: string;
  readonly venueId: string;
  readonly eventId: string;
  /** The aggregate's own status: a GroupPayment's or an Escrow's. */
  readonly status: string;
  readonly currency: string;
  /** What is to be charged: the group's quote total, the resale's price. */
  readonly amount: number;
  /** What went into `gateway:clearing`. */
  readonly captured: number;
  /** What the gateway paid back to the buyer. */
  readonly refunded: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly revision: number;
}

type Recorded<E extends { readonly type: string; readonly data: unknown }> = RecordedEvent<E['type'], E['data']> & E;
export type GroupRecordedEvent = Recorded<GroupPaymentEvent>;
export type EscrowRecordedEvent = Recorded<EscrowEvent>;
export type ChargeRecordedEvent = GroupRecordedEvent | EscrowRecordedEvent;

export const isGroupRecord = (event: RecordedEvent): event is GroupRecordedEvent => event.streamId.startsWith('group-payment-') && isGroupPaymentEvent(event);
export const isEscrowRecord = (event: RecordedEvent): event is EscrowRecordedEvent => event.streamId.startsWith('escrow-') && isEscrowEvent(event);
export const isChargeRecord = (event: RecordedEvent): event is ChargeRecordedEvent => isGroupRecord(event) || isEscrowRecord(event);

/** The row an event belongs to: kind and id, as one map key. */
export function chargeKeyOf(event: ChargeRecordedEvent): { kind: ChargeKind; chargeId: string } {
  return 'groupId' in event.data ? { kind: 'group', chargeId: event.data.groupId } : { kind: 'resale', chargeId: event.data.escrowId };
}

export const chargeKey = (row: Pick<ChargeRow, 'kind' | 'chargeId'>): string => `${row.kind}:${row.chargeId}`;

export interface ChargeChange {
  readonly row: ChargeRow;
  readonly stats: readonly StatsDelta[];
}

/** What an event changes of a row, and the outcome it counts in the hourly stats. */
interface Step {
  readonly patch: Partial<Pick<ChargeRow, 'status' | 'captured' | 'refunded'>>;
  readonly outcome?: { readonly outcome: Outcome; readonly amount: number; readonly reason?: string };
}

/**
 * Folds one event onto a charge's row. Null for an event already folded (at or below the row's
 * revision), one that starts no row (anything but GroupPaymentCreated and EscrowCreated), or one
 * that changes nothing the row holds (a member's hold, a reminder, a transfer's gas).
 */
export function evolveCharge(current: ChargeRow | undefined, event: ChargeRecordedEvent): ChargeChange | null {
  if (current && event.revision <= current.revision) return null;
  const at = event.metadata.occurredAt;
  if (!current) {
    const row = startedRow(event, at);
    return row && { row, stats: [delta(event, row, 'requested', row.amount)] };
  }
  const step = isGroupRecord(event) ? groupStep(current, event) : escrowStep(current, event);
  if (!step) return null;
  const row = { ...current, ...step.patch, revision: event.revision, updatedAt: at };
  const stats = step.outcome ? [delta(event, row, step.outcome.outcome, step.outcome.amount, step.outcome.reason)] : [];
  return { row, stats };
}

function startedRow(event: ChargeRecordedEvent, at: string): ChargeRow | null {
  const common = { tenantId: event.metadata.tenantId, status: 'created', captured: 0, refunded: 0, createdAt: at, updatedAt: at, revision: event.revision };
  if (event.type === 'GroupPaymentCreated') {
    const { data } = event;
    return { ...common, kind: 'group', chargeId: data.groupId, userId: data.organizerId, venueId: data.venueId, eventId: data.eventId, status: 'collecting', currency: data.quote.currency, amount: data.quote.total };
  }
  if (event.type === 'EscrowCreated') {
    const { data } = event;
    return { ...common, kind: 'resale', chargeId: data.escrowId, userId: data.buyerId, venueId: data.venueId, eventId: data.eventId, currency: data.currency, amount: data.amount };
  }
  return null;
}

/** A group books nothing until every share is captured; then the whole purchase at once. */
function groupStep(row: ChargeRow, event: GroupRecordedEvent): Step | null {
  switch (event.type) {
    case 'GroupPaymentFunded':
      return { patch: { status: 'funded' } };
    case 'GroupPaymentCompleted':
      return { patch: { status: 'completed', captured: event.data.amount }, outcome: { outcome: 'completed', amount: event.data.amount } };
    case 'GroupPaymentExpired':
      return { patch: { status: 'expired' }, outcome: { outcome: 'expired', amount: row.amount } };
    case 'GroupPaymentCancelled':
      return { patch: { status: 'cancelled' }, outcome: { outcome: 'cancelled', amount: row.amount } };
    case 'GroupPaymentCreated':
    case 'ContributionSubmitted':
    case 'ContributionRiskAssessed':
    case 'ContributionAuthorized':
    case 'ContributionDeclined':
    case 'ContributionCaptured':
    case 'ContributionReleased':
    case 'MemberReminded':
      return null;
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

/** A resale is charged once (EscrowFunded); a refund the gateway paid gives it back. */
function escrowStep(row: ChargeRow, event: EscrowRecordedEvent): Step | null {
  switch (event.type) {
    case 'EscrowFunded':
      return { patch: { status: 'funded', captured: event.data.amount }, outcome: { outcome: 'completed', amount: event.data.amount } };
    case 'EscrowFundingFailed':
      return { patch: { status: 'failed' }, outcome: { outcome: 'failed', amount: row.amount, reason: event.data.declineCode ?? event.data.code } };
    case 'EscrowReleased':
      return { patch: { status: 'released' } };
    case 'EscrowRefunded':
      return { patch: { status: 'refunded' } };
    case 'EscrowRefundPaid':
      return { patch: { refunded: row.refunded + event.data.amount }, outcome: { outcome: 'refunded', amount: event.data.amount } };
    case 'EscrowDisputed':
      return { patch: { status: 'disputed' } };
    case 'EscrowCreated':
    case 'EscrowTransferSubmitted':
    case 'EscrowRiskAssessed':
      return null;
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}

/**
 * One count in the hour the event occurred. Members and resale buyers pay by card. No processing
 * time: a group's shares are paid whenever each member pays, so only a card purchase is timed.
 */
function delta(event: ChargeRecordedEvent, row: ChargeRow, outcome: Outcome, amount: number, reason = ''): StatsDelta {
  return {
    hour: hourOf(event.metadata.occurredAt),
    currency: row.currency,
    method: 'card',
    outcome,
    reason,
    kind: row.kind,
    count: 1,
    amount,
    processingMs: 0,
    processingCount: 0,
  };
}

/** The row as payment_charges' columns (migrations/0018_reports_agree_with_ledger.sql). */
export function chargeColumns(row: ChargeRow) {
  return {
    kind: row.kind,
    charge_id: row.chargeId,
    tenant_id: row.tenantId,
    user_id: row.userId,
    venue_id: row.venueId,
    event_id: row.eventId,
    status: row.status,
    currency: row.currency,
    amount: row.amount,
    captured: row.captured,
    refunded: row.refunded,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    revision: row.revision,
  };
}
