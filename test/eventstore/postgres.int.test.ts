import { describe } from 'vitest';
import type { EventStore } from '../../src/eventstore/event-store.js';
import { createPostgresEventStore } from '../../src/eventstore/postgres.js';
import { env, freshPostgresSchema } from '../support/databases.js';
import { eventStoreContract } from './event-store.contract.js';

const url = env.databaseUrl;

describe.runIf(url)('PostgreSQL event store (DATABASE_URL)', () => {
  eventStoreContract('PostgreSQL', async () => {
    const schema = await freshPostgresSchema(url!);
    const opened: EventStore[] = [];
    return {
      refusesIdsReusedAcrossStreams: true,
      open(options) {
        // Each instance gets its own pool and lock session, as a separate process would.
        const store = createPostgresEventStore(schema.connect({ poolSize: 16 }), options);
        opened.push(store);
        return Promise.resolve(store);
      },
      async close() {
        for (const store of opened) await store.close();
        await schema.drop();
      },
    };
  });
});
