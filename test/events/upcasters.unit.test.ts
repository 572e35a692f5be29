import { describe, expect, it } from 'vitest';
import { UPCASTERS } from '../../src/events/upcasters.js';
import { EVENT_VERSIONS_BY_CONCEPT, eventVersionOf } from '../../src/events/versions.js';

describe('the upcasters', () => {
  it('raise every older version of each event type, step by step, to the version written now', () => {
    const steps = new Set(UPCASTERS.map((u) => `${u.eventType}@${u.fromVersion}`));
    for (const catalogue of Object.values(EVENT_VERSIONS_BY_CONCEPT)) {
      for (const [type, current] of Object.entries(catalogue)) {
        for (let version = 1; version < current; version++) expect(steps, `${type} v${version}`).toContain(`${type}@${version}`);
      }
    }
  });

  it('never touch an event written with the current version', () => {
    for (const upcaster of UPCASTERS) expect(upcaster.fromVersion, upcaster.eventType).toBeLessThan(eventVersionOf(upcaster.eventType));
  });
});
