import { composeTessera, type Tessera } from '../../src/composition.js';
import type { Config } from '../../src/config.js';
import type { SqlClient } from '../../src/db/sql-client.js';
import type { PaymentGateway } from '../../src/gateways/gateway.js';
import { createLogger } from '../../src/logger.js';
import type { EventStore } from '../../src/eventstore/event-store.js';
import { sqlEventStore } from '../../src/runtime.js';
import { env, freshPglite, freshPostgresSchema } from './databases.js';

/** A database and an event store over it, opened fresh per test file. */
export interface Backend {
  readonly sql: SqlClient;
  readonly store: EventStore;
  close(): Promise<void>;
}

export interface BackendFactory {
  readonly name: string;
  open(): Promise<Backend>;
}

/** PGlite always; PostgreSQL (a schema of its own) when DATABASE_URL is set. */
export function backends(): BackendFactory[] {
  const list: BackendFactory[] = [
    {
      name: 'PGlite',
      async open() {
        const sql = await freshPglite();
        const store = sqlEventStore(sql);
        return {
          sql,
          store,
          async close() {
            await store.close();
            await sql.close();
          },
        };
      },
    },
  ];
  const url = env.databaseUrl;
  if (url) {
    list.push({
      name: 'PostgreSQL',
      async open() {
        const schema = await freshPostgresSchema(url);
        const sql = schema.connect({ poolSize: 8 });
        const store = sqlEventStore(sql);
        return {
          sql,
          store,
          async close() {
            await store.close();
            await schema.drop();
          },
        };
      },
    });
  }
  return list;
}

/**
 * Tessera composed over a test backend (src/composition.ts), as a server composes it over its
 * storage: tests pick the config, the gateway and a short idle wait. The caller starts and stops it.
 */
export function tesseraOver(
  db: Backend,
  options: { readonly config: Config; readonly gateway?: PaymentGateway; readonly idleWaitMs?: number; readonly clock?: () => Date },
): Tessera {
  return composeTessera({
    config: options.config,
    logger: createLogger({ level: 'silent' }),
    storage: { sql: db.sql, eventStore: db.store, close: () => db.close() },
    ...(options.gateway ? { gateway: options.gateway } : {}),
    ...(options.idleWaitMs === undefined ? {} : { idleWaitMs: options.idleWaitMs }),
    ...(options.clock ? { clock: options.clock } : {}),
  });
}
