import type { RecordedEvent } from './event-store.js';

/**
 * Raises one stored shape of an event type to the next. Events keep the shape they were written
 * with; upcasters run on read, so a replay years later still understands old events and nothing
 * stored is ever rewritten.
 */
export interface Upcaster {
  readonly eventType: string;
  /** The schemaVersion this upcaster reads; it produces `fromVersion + 1`. */
  readonly fromVersion: number;
  upcast(event: { readonly type: string; readonly data: unknown }): { readonly type?: string; readonly data: unknown };
}

export type Upcast = (event: RecordedEvent) => RecordedEvent;

export const identity: Upcast = (event) => event;

/** Chains upcasters by (type, version) until no upcaster applies; throws on a duplicate step. */
export function createUpcast(upcasters: readonly Upcaster[]): Upcast {
  if (upcasters.length === 0) return identity;
  const steps = new Map<string, Upcaster>();
  for (const upcaster of upcasters) {
    const key = `${upcaster.eventType}@${upcaster.fromVersion}`;
    if (steps.has(key)) throw new Error(`two upcasters for ${key}`);
    steps.set(key, upcaster);
  }
  return (event) => {
    let current = event;
    for (let step = steps.get(`${current.type}@${current.metadata.schemaVersion}`); step; ) {
      const raised = step.upcast(current);
      current = {
        ...current,
        type: raised.type ?? current.type,
        data: raised.data,
        metadata: { ...current.metadata, schemaVersion: current.metadata.schemaVersion + 1 },
      };
      step = steps.get(`${current.type}@${current.metadata.schemaVersion}`);
    }
    return current;
  };
}
