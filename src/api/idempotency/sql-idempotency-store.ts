import type { SqlClient } from '../../db/sql-client.js';
import type { ClaimOutcome, ClaimRequest, IdempotencyStore, StoredResponse } from './idempotency-store.js';

/**
 * Idempotency records in PostgreSQL or PGlite (migrations/0002_idempotency_keys.sql). Times come
 * from the database clock, so API instances with skewed clocks agree on when a lease runs out.
 *
 * A claim is one upsert: it inserts a new row, or replaces a row that has expired, or takes over
 * a running row of the same fingerprint whose lease ran out. The row lock taken by ON CONFLICT
 * makes that decision atomic against concurrent claims, renewals and completions. When the upsert
 * changes nothing, a read of the row says why (replay, mismatch or in progress).
 */
const CLAIM = `
  INSERT INTO tessera_idempotency_keys AS k (id, fingerprint, state, lease_token, lease_expires_at, expires_at)
  VALUES ($1, $2, 'running', $3, now() + $4::float8 * interval '1 millisecond', now() + $5::float8 * interval '1 millisecond')
  ON CONFLICT (id) DO UPDATE SET
    fingerprint = EXCLUDED.fingerprint,
    state = 'running',
    attempts = CASE WHEN k.expires_at <= now() THEN 1 ELSE k.attempts + 1 END,
    lease_token = EXCLUDED.lease_token,
    lease_expires_at = EXCLUDED.lease_expires_at,
    status_code = NULL,
    content_type = NULL,
    response_body = NULL,
    created_at = CASE WHEN k.expires_at <= now() THEN now() ELSE k.created_at END,
    expires_at = EXCLUDED.expires_at
  WHERE k.expires_at <= now()
     OR (k.state = 'running' AND k.lease_expires_at <= now() AND k.fingerprint = EXCLUDED.fingerprint)
  RETURNING attempts`;

const INSPECT = `
  SELECT fingerprint, state, status_code, content_type, response_body,
         expires_at > now() AS live, lease_expires_at > now() AS leased
    FROM tessera_idempotency_keys WHERE id = $1`;

const RENEW = `
  UPDATE tessera_idempotency_keys SET lease_expires_at = now() + $3::float8 * interval '1 millisecond'
   WHERE id = $1 AND lease_token = $2 AND state = 'running'`;

const COMPLETE = `
  UPDATE tessera_idempotency_keys
     SET state = 'completed', lease_token = NULL, lease_expires_at = NULL,
         status_code = $3, content_type = $4, response_body = $5,
         expires_at = now() + $6::float8 * interval '1 millisecond'
   WHERE id = $1 AND lease_token = $2 AND state = 'running'`;

const RELEASE = `DELETE FROM tessera_idempotency_keys WHERE id = $1 AND lease_token = $2 AND state = 'running'`;

const PURGE = `DELETE FROM tessera_idempotency_keys WHERE expires_at <= now()`;

interface InspectedRow {
  fingerprint: string;
  state: 'running' | 'completed';
  status_code: number | null;
  content_type: string | null;
  response_body: string | null;
  live: boolean;
  leased: boolean | null;
}

// A row can change between the upsert and the read (released, expired, completed); a claim then
// simply tries again. Each retry means another request finished with this key meanwhile, so a
// handful always suffices; the bound only guards against a bug looping forever.
const MAX_CLAIM_ROUNDS = 8;

export function createSqlIdempotencyStore(sql: SqlClient): IdempotencyStore {
  return {
    kind: 'sql',
    async claim(request: ClaimRequest): Promise<ClaimOutcome> {
      for (let round = 0; round < MAX_CLAIM_ROUNDS; round++) {
        const claimed = await sql.query<{ attempts: number }>(
          CLAIM,
          [request.id, request.fingerprint, request.lease, request.leaseMs, request.ttlMs],
          'tessera_idempotency_claim',
        );
        const row = claimed.rows[0];
        if (row) return { kind: 'acquired', lease: request.lease, attempt: row.attempts };
        const inspected = (await sql.query<InspectedRow>(INSPECT, [request.id], 'tessera_idempotency_inspect')).rows[0];
        const outcome = inspected && decide(inspected, request.fingerprint);
        if (outcome) return outcome;
      }
      throw new Error(`idempotency claim on ${request.id} did not settle after ${MAX_CLAIM_ROUNDS} rounds`);
    },
    async renew(id, lease, leaseMs) {
      return (await sql.query(RENEW, [id, lease, leaseMs], 'tessera_idempotency_renew')).rowCount === 1;
    },
    async complete(id, lease, response: StoredResponse, ttlMs) {
      const params = [id, lease, response.status, response.contentType, response.body, ttlMs];
      return (await sql.query(COMPLETE, params, 'tessera_idempotency_complete')).rowCount === 1;
    },
    async release(id, lease) {
      return (await sql.query(RELEASE, [id, lease], 'tessera_idempotency_release')).rowCount === 1;
    },
    async purgeExpired() {
      return (await sql.query(PURGE)).rowCount;
    },
  };
}

/** What an existing row means for a claim, or undefined when the claim should go round again. */
function decide(row: InspectedRow, fingerprint: string): ClaimOutcome | undefined {
  if (!row.live) return undefined;
  if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
  if (row.state === 'completed') {
    return {
      kind: 'replay',
      response: { status: row.status_code!, contentType: row.content_type ?? 'application/json', body: row.response_body! },
    };
  }
  return row.leased ? { kind: 'in_progress' } : undefined;
}
