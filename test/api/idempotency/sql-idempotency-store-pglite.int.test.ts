import { createSqlIdempotencyStore } from '../../../src/api/idempotency/sql-idempotency-store.js';
import { freshPglite } from '../../support/databases.js';
import { idempotencyStoreContract } from './idempotency-store.contract.js';

idempotencyStoreContract('sql on PGlite', async () => {
  const sql = await freshPglite();
  return { store: createSqlIdempotencyStore(sql), close: () => sql.close() };
});
