import { randomUUID } from 'node:crypto';
import type { EventData, EventMetadata } from '../../src/eventstore/event-store.js';

export function metadata(overrides: Partial<EventMetadata> = {}): EventMetadata {
  return {
    correlationId: randomUUID(),
    causationId: randomUUID(),
    tenantId: 'tenant-test',
    actor: 'system:test',
    occurredAt: '2026-11-22T12:00:00.000Z',
    schemaVersion: 1,
    ...overrides,
  };
}

export function event(type: string, data: Record<string, unknown> = {}, overrides: Partial<EventData> = {}): EventData {
  return { id: randomUUID(), type, data, metadata: metadata(), ...overrides };
}

export const uniqueStream = (prefix: string) => `${prefix}-${randomUUID()}`;
