import { describe } from 'vitest';
import type { EventStore } from '../../src/eventstore/event-store.js';
import { createEventStoreDbEventStore } from '../../src/eventstore/eventstoredb.js';
import { env } from '../support/databases.js';
import { eventStoreContract } from './event-store.contract.js';

const url = env.eventStoreUrl;

// EventStoreDB cannot run on machines without Docker; set EVENTSTORE_URL (for example
// esdb://localhost:2113?tls=false) and this suite runs the same contract against it.
describe.runIf(url)('EventStoreDB event store (EVENTSTORE_URL)', () => {
  eventStoreContract('EventStoreDB', () => {
    const opened: EventStore[] = [];
    return Promise.resolve({
      refusesIdsReusedAcrossStreams: false,
      open(options) {
        const store = createEventStoreDbEventStore({ connectionString: url!, leaseTtlMs: 3000, ...options });
        opened.push(store);
        return Promise.resolve(store);
      },
      async close() {
        for (const store of opened) await store.close();
      },
    });
  });
});
