import { aggregateOfStream } from '../aggregates/stream-deciders.js';
import { positionToString, type EventMetadata, type EventStore } from '../eventstore/event-store.js';

/** One event of a stream with the aggregate's state once it is applied. */
export interface AuditEntry {
  readonly streamId: string;
  readonly revision: number;
  readonly position: string;
  readonly eventId: string;
  readonly type: string;
  readonly recordedAt: string;
  readonly metadata: EventMetadata;
  readonly data: unknown;
  /** The aggregate's state after this event (null for a stream no decider owns). */
  readonly state: unknown;
  /** Top-level fields of the state this event changed. */
  readonly changed: readonly string[];
}

export interface AuditTrail {
  readonly streamId: string;
  /** `Payment`, `VenueProfile`, or null for a stream no decider owns. */
  readonly aggregate: string | null;
  readonly entries: readonly AuditEntry[];
}

/**
 * Every event of `streamId`, oldest first, each with the aggregate state after it, folded with
 * the aggregate's own `evolve` (the very function commands decide on). An event the decider
 * does not know leaves the state as it was.
 */
export async function auditTrail(store: EventStore, streamId: string): Promise<AuditTrail> {
  const events = await store.readStream(streamId);
  const owner = aggregateOfStream(streamId);
  let state: unknown = owner ? owner.decider.initialState() : null;
  const entries = events.map((event): AuditEntry => {
    const before = state;
    if (owner && owner.decider.isEvent(event)) state = owner.decider.evolve(state, { type: event.type, data: event.data });
    return {
      streamId,
      revision: event.revision,
      position: positionToString(event.position),
      eventId: event.id,
      type: event.type,
      recordedAt: event.recordedAt.toISOString(),
      metadata: event.metadata,
      data: event.data,
      state,
      changed: changedFields(before, state),
    };
  });
  return { streamId, aggregate: owner?.aggregate ?? null, entries };
}

function changedFields(before: unknown, after: unknown): string[] {
  if (!isRecord(before) || !isRecord(after)) return [];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** One JSON object per line: every field of every entry. */
export const auditJsonLines = (trail: AuditTrail): string => trail.entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');

/**
 * A table for people: one row per event (revision, type, when, who) and under it the state
 * fields the event changed, with their new values.
 */
export function auditTable(trail: AuditTrail): string {
  const rows = trail.entries.map((e) => [String(e.revision), e.type, e.metadata.occurredAt, e.metadata.actor, e.position]);
  const header = ['REV', 'EVENT', 'OCCURRED AT', 'ACTOR', 'POSITION'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [`${trail.streamId} (${trail.aggregate ?? 'no aggregate'}, ${trail.entries.length} events)`, line(header)];
  trail.entries.forEach((entry, i) => {
    out.push(line(rows[i]!));
    const state = isRecord(entry.state) ? entry.state : {};
    for (const field of entry.changed) out.push(`${' '.repeat(widths[0]! + 2)}${field} = ${JSON.stringify(state[field]) ?? 'undefined'}`);
  });
  return `${out.join('\n')}\n`;
}
