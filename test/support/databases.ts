import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../../src/db/migrate.js';
import { loadTemplate } from './pglite-template.js';
import { connectPostgres, openPglite, quoteIdentifier, type PgliteSqlClient, type PostgresSqlClient } from '../../src/db/sql-client.js';

/** Connection strings of the real services the suite may use; each is optional. */
export const env = {
  databaseUrl: process.env.DATABASE_URL || undefined,
  redisUrl: process.env.REDIS_URL || undefined,
  eventStoreUrl: process.env.EVENTSTORE_URL || undefined,
  rabbitmqUrl: process.env.RABBITMQ_URL || undefined,
  kafkaBrokers: process.env.KAFKA_BROKERS || undefined,
};

/** An in-memory PGlite with every migration applied, loaded from the run's template. */
export async function freshPglite(): Promise<PgliteSqlClient> {
  const template = loadTemplate();
  const sql = await openPglite({ dataDir: 'memory://', ...(template ? { template } : {}) });
  await migrate(sql);
  return sql;
}

export interface PostgresSchema {
  readonly schema: string;
  /** A new pool on the schema; every one is closed by drop(). */
  connect(options?: { poolSize?: number }): PostgresSqlClient;
  drop(): Promise<void>;
}

/**
 * A schema of its own on the DATABASE_URL server, migrated, so test files running in parallel
 * never see each other's rows.
 */
export async function freshPostgresSchema(url: string): Promise<PostgresSchema> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${quoteIdentifier(schema)}`);
  await admin.end();
  const clients: PostgresSqlClient[] = [];
  const connect = (options: { poolSize?: number } = {}) => {
    const client = connectPostgres({ url, schema, poolSize: options.poolSize ?? 10 });
    clients.push(client);
    return client;
  };
  await migrate(connect());
  return {
    schema,
    connect,
    async drop() {
      await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
      const cleanup = new pg.Client({ connectionString: url });
      await cleanup.connect();
      await cleanup.query(`DROP SCHEMA ${quoteIdentifier(schema)} CASCADE`);
      await cleanup.end();
    },
  };
}
