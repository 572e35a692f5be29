import { describe } from 'vitest';
import { createSqlNonceStore } from '../../../src/api/auth/sql-nonce-store.js';
import { env, freshPostgresSchema } from '../../support/databases.js';
import { nonceStoreContract } from './nonce-store.contract.js';

const url = env.databaseUrl;
if (url) {
  nonceStoreContract('sql on PostgreSQL', async () => {
    const schema = await freshPostgresSchema(url);
    return { store: createSqlNonceStore(schema.connect({ poolSize: 20 })), close: () => schema.drop() };
  });
} else {
  describe.skip('nonce store contract: sql on PostgreSQL (set DATABASE_URL)', () => undefined);
}
