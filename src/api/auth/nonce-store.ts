/**
 * The nonces of signed internal calls (src/api/auth/internal-signature.ts): each one is claimed
 * once and remembered for as long as a request bearing it could still be accepted, so a captured
 * request cannot be sent again.
 *
 * Adapters: sql-nonce-store.ts (PostgreSQL, PGlite) and redis-nonce-store.ts, both on the
 * server's clock. Both pass test/api/auth/nonce-store.contract.ts.
 */
export interface NonceStore {
  readonly kind: 'sql' | 'redis';
  /**
   * Claims `id` for `ttlMs`: true for the one claim that finds it unused (or expired), false for
   * every other while the first lives, concurrent ones included. Throws when the store cannot answer.
   */
  claim(id: string, ttlMs: number): Promise<boolean>;
  /** Deletes expired records; answers how many went. */
  purgeExpired(): Promise<number>;
}
