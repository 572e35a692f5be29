import { createSqlNonceStore } from '../../../src/api/auth/sql-nonce-store.js';
import { freshPglite } from '../../support/databases.js';
import { nonceStoreContract } from './nonce-store.contract.js';

nonceStoreContract('sql on PGlite', async () => {
  const sql = await freshPglite();
  return { store: createSqlNonceStore(sql), close: () => sql.close() };
});
