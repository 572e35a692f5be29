import { createPgliteEventStore } from '../../src/eventstore/pglite.js';
import type { EventStore } from '../../src/eventstore/event-store.js';
import { freshPglite } from '../support/databases.js';
import { eventStoreContract } from './event-store.contract.js';

eventStoreContract('PGlite (embedded)', async () => {
  const sql = await freshPglite();
  const opened: EventStore[] = [];
  return {
    refusesIdsReusedAcrossStreams: true,
    open(options) {
      const store = createPgliteEventStore(sql, options);
      opened.push(store);
      return Promise.resolve(store);
    },
    async close() {
      for (const store of opened) await store.close();
      await sql.close();
    },
  };
});
