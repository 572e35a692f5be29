import type { SqlClient } from '../../db/sql-client.js';
import type { NonceStore } from './nonce-store.js';

/**
 * Nonces in PostgreSQL or PGlite (migrations/0008_internal_signature_nonces.sql), timed by the
 * database clock. A claim is one statement: it inserts the nonce, or takes over a row that has
 * expired but was not purged yet; a live row is left alone and nothing is returned. The row
 * lock that ON CONFLICT takes makes concurrent claims of one nonce queue up, so exactly one of
 * them sees a row it may write.
 */
const CLAIM = `
  INSERT INTO tessera_internal_nonces AS n (id, expires_at)
  VALUES ($1, now() + $2::float8 * interval '1 millisecond')
  ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at
  WHERE n.expires_at <= now()
  RETURNING id`;

const PURGE = `DELETE FROM tessera_internal_nonces WHERE expires_at <= now()`;

export function createSqlNonceStore(sql: SqlClient): NonceStore {
  return {
    kind: 'sql',
    async claim(id, ttlMs) {
      return (await sql.query(CLAIM, [id, ttlMs], 'tessera_internal_nonce_claim')).rows.length === 1;
    },
    async purgeExpired() {
      return (await sql.query(PURGE)).rowCount;
    },
  };
}
