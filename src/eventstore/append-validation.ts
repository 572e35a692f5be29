import { isoMicrosOrUndefined } from '../db/binary-copy.js';
import { InvalidAppendError } from './errors.js';
import type { EventData, ExpectedRevision } from './event-store.js';

/** One append is one statement; this keeps it well inside PostgreSQL's 65,535 parameters. */
export const MAX_EVENTS_PER_APPEND = 5000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const REQUIRED_METADATA = ['correlationId', 'causationId', 'tenantId', 'actor', 'occurredAt'] as const;

/** Refuses appends that no adapter should store, with the same message whichever adapter runs. */
export function validateAppend(streamId: string, events: readonly EventData[], expected: ExpectedRevision): void {
  if (streamId.length === 0 || streamId.length > 512) throw new InvalidAppendError('stream id must be 1 to 512 characters');
  if (streamId.startsWith('$')) throw new InvalidAppendError(`stream ids starting with $ are reserved: ${streamId}`);
  if (events.length === 0) throw new InvalidAppendError(`append to ${streamId} has no events`);
  if (events.length > MAX_EVENTS_PER_APPEND) {
    throw new InvalidAppendError(`append to ${streamId} has ${events.length} events; at most ${MAX_EVENTS_PER_APPEND} per append`);
  }
  if (typeof expected === 'number' && (!Number.isSafeInteger(expected) || expected < 0)) {
    throw new InvalidAppendError(`expected revision must be a non-negative integer, got ${expected}`);
  }
  const ids = new Set<string>();
  for (const event of events) {
    if (!UUID.test(event.id)) throw new InvalidAppendError(`event id must be a UUID, got "${event.id}"`);
    const id = event.id.toLowerCase();
    if (ids.has(id)) throw new InvalidAppendError(`event id ${event.id} appears twice in one append`);
    ids.add(id);
    if (event.type.length === 0 || event.type.startsWith('$')) {
      throw new InvalidAppendError(`event type must be non-empty and not start with $, got "${event.type}"`);
    }
    for (const key of REQUIRED_METADATA) {
      if (typeof event.metadata[key] !== 'string' || event.metadata[key].length === 0) {
        throw new InvalidAppendError(`event ${event.id} (${event.type}) lacks metadata.${key}`);
      }
    }
    // Read models take business time from here (the ledger's asOf, hourly stats, tax days): a time
    // they cannot read would stop them at this event, so it is refused before it is stored.
    if (isoMicrosOrUndefined(event.metadata.occurredAt) === undefined) {
      throw new InvalidAppendError(`event ${event.id} (${event.type}) has metadata.occurredAt "${event.metadata.occurredAt}", not an ISO-8601 time with an offset`);
    }
    if (!Number.isInteger(event.metadata.schemaVersion) || event.metadata.schemaVersion < 1) {
      throw new InvalidAppendError(`event ${event.id} (${event.type}) needs metadata.schemaVersion >= 1`);
    }
  }
}
