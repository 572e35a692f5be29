import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { evolveCharge, isChargeRecord, type ChargeRecordedEvent, type ChargeRow } from '../../../src/projections/payments/charges.js';
import { mergeStats, type StatsDelta } from '../../../src/projections/payments/rows.js';
import type { EscrowEvent } from '../../../src/events/escrow.js';
import type { GroupPaymentEvent } from '../../../src/events/group-payment.js';
import { metadata } from '../../support/events.js';
import { fundedEscrowEvents } from '../../support/escrow-purchase.js';
import { completedGroupEvents } from '../../support/group-purchase.js';

const AT = new Date('2026-01-01T12:00:00.000Z');

/** Records a stream's events as the store would: revisions from 0, one minute apart from 12:00. */
function record(streamId: string, events: readonly (GroupPaymentEvent | EscrowEvent)[]): ChargeRecordedEvent[] {
  return events.map((event, revision) => {
    const occurredAt = new Date(AT.getTime() + revision * 60_000).toISOString();
    const recorded = {
      ...event,
      id: randomUUID(),
      streamId,
      revision,
      position: { commit: BigInt(revision + 1), prepare: BigInt(revision + 1) },
      recordedAt: new Date(occurredAt),
      metadata: metadata({ occurredAt, tenantId: 'tenant-1' }),
    };
    if (!isChargeRecord(recorded)) throw new Error(`${event.type} is not a group or escrow event`);
    return recorded;
  });
}

function fold(events: readonly ChargeRecordedEvent[], start?: ChargeRow): { row: ChargeRow | undefined; stats: StatsDelta[] } {
  let row = start;
  const stats: StatsDelta[] = [];
  for (const event of events) {
    const change = evolveCharge(row, event);
    if (!change) continue;
    row = change.row;
    stats.push(...change.stats);
  }
  return { row, stats };
}

const groupId = randomUUID();
const group = completedGroupEvents({ groupId, venueId: 'venue-1', unitPrice: 5_000, members: [{ ticketCount: 2, payerId: 'a' }, { ticketCount: 1, payerId: 'b' }], now: AT }).flat();
const completed = group.find((e) => e.type === 'GroupPaymentCompleted')!;
const groupTotal = completed.type === 'GroupPaymentCompleted' ? completed.data.amount : 0;

describe('the payments read model: group purchases and resale charges', () => {
  it('folds a completed group purchase into one row of kind group that captured its whole total', () => {
    const { row, stats } = fold(record(`group-payment-${groupId}`, group));
    expect(groupTotal).toBeGreaterThan(15_000);
    expect(row).toMatchObject({ kind: 'group', chargeId: groupId, tenantId: 'tenant-1', userId: 'organizer-1', venueId: 'venue-1', status: 'completed', amount: groupTotal, captured: groupTotal, refunded: 0 });
    expect(mergeStats(stats).map(({ outcome, kind, method, count, amount }) => ({ outcome, kind, method, count, amount }))).toEqual([
      { outcome: 'requested', kind: 'group', method: 'card', count: 1, amount: groupTotal },
      { outcome: 'completed', kind: 'group', method: 'card', count: 1, amount: groupTotal },
    ]);
  });

  it('counts a group that expires unpaid as expired, having captured nothing', () => {
    const [created] = group;
    const expired: GroupPaymentEvent = { type: 'GroupPaymentExpired', data: { groupId, expiresAt: AT.toISOString(), expiredAt: AT.toISOString() } };
    const { row, stats } = fold(record(`group-payment-${groupId}`, [created!, expired]));
    expect(row).toMatchObject({ status: 'expired', captured: 0 });
    expect(stats.map((s) => s.outcome)).toEqual(['requested', 'expired']);
  });

  it('folds a funded resale into a row of kind resale, and a refund the gateway paid into what it gave back', () => {
    const escrowId = randomUUID();
    const events = record(`escrow-${escrowId}`, fundedEscrowEvents({ escrowId, venueId: 'venue-1', price: 15_000, then: 'refunded', now: AT }).flat());
    const { row, stats } = fold(events);
    expect(row).toMatchObject({ kind: 'resale', chargeId: escrowId, userId: 'buyer-2', status: 'refunded', amount: 15_000, captured: 15_000, refunded: 15_000 });
    expect(stats.map(({ outcome, kind, amount }) => [outcome, kind, amount])).toEqual([
      ['requested', 'resale', 15_000],
      ['completed', 'resale', 15_000],
      ['refunded', 'resale', 15_000],
    ]);
  });

  it('counts a declined resale charge as failed with its decline code', () => {
    const escrowId = randomUUID();
    const created = fundedEscrowEvents({ escrowId, venueId: 'venue-1', price: 15_000, now: AT }).flat()[0];
    const failed: EscrowEvent = { type: 'EscrowFundingFailed', data: { escrowId, reason: 'declined', code: 'card_declined', declineCode: 'insufficient_funds' } };
    const { row, stats } = fold(record(`escrow-${escrowId}`, [created!, failed]));
    expect(row).toMatchObject({ status: 'failed', captured: 0 });
    expect(stats[1]).toMatchObject({ outcome: 'failed', reason: 'insufficient_funds', kind: 'resale' });
  });

  it('skips an event at or below the revision it has folded, and starts no row from a later event', () => {
    const events = record(`group-payment-${groupId}`, group);
    const { row } = fold(events);
    expect(evolveCharge(row, events[events.length - 1]!)).toBeNull();
    expect(evolveCharge(undefined, events[events.length - 1]!)).toBeNull();
  });
});
