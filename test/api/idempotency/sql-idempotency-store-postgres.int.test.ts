import { describe } from 'vitest';
import { createSqlIdempotencyStore } from '../../../src/api/idempotency/sql-idempotency-store.js';
import { env, freshPostgresSchema } from '../../support/databases.js';
import { idempotencyStoreContract } from './idempotency-store.contract.js';

const url = env.databaseUrl;
if (url) {
  idempotencyStoreContract('sql on PostgreSQL', async () => {
    const schema = await freshPostgresSchema(url);
    return { store: createSqlIdempotencyStore(schema.connect({ poolSize: 20 })), close: () => schema.drop() };
  });
} else {
  describe.skip('idempotency store contract: sql on PostgreSQL (set DATABASE_URL)', () => undefined);
}
