import { createHash } from 'node:crypto';

/**
 * The idempotency port (seed 003, "Idempotency"): one record per scoped key, holding the
 * fingerprint of the request that first used the key and, once it finished, its response.
 *
 * A request that claims a key holds a lease on it while it runs and renews the lease as it goes.
 * If the process dies mid-request the lease runs out and a retry of the *same* request may take
 * the key over. That is safe because command handlers derive their event ids from the key: the
 * takeover re-runs the command and the event store's idempotent append writes nothing twice.
 *
 * Adapters: src/api/idempotency/sql-idempotency-store.ts (PostgreSQL, PGlite) and
 * redis-idempotency-store.ts. Both pass test/api/idempotency/idempotency-store.contract.ts.
 */
export interface StoredResponse {
  readonly status: number;
  readonly contentType: string;
  /** The serialized body, replayed byte for byte. */
  readonly body: string;
}

export type ClaimOutcome =
  /** The caller holds the key: run the request, then `complete` or `release`. */
  | { readonly kind: 'acquired'; readonly lease: string; readonly attempt: number }
  /** The key finished earlier with this response. */
  | { readonly kind: 'replay'; readonly response: StoredResponse }
  /** The key belongs to a request with a different fingerprint. */
  | { readonly kind: 'mismatch' }
  /** Another request with this key is running and its lease has not run out. */
  | { readonly kind: 'in_progress' };

export interface ClaimRequest {
  /** The scoped key: tenant, caller and the client's Idempotency-Key. */
  readonly id: string;
  readonly fingerprint: string;
  /** A fresh random token naming this attempt; renew/complete/release must present it. */
  readonly lease: string;
  readonly leaseMs: number;
  /** How long the record lives if the request never finishes (bounds a crashed key's life). */
  readonly ttlMs: number;
}

export interface IdempotencyStore {
  readonly kind: 'sql' | 'redis';
  claim(request: ClaimRequest): Promise<ClaimOutcome>;
  /** Extends a held lease; false when the lease was lost (it ran out and another attempt took over). */
  renew(id: string, lease: string, leaseMs: number): Promise<boolean>;
  /** Stores the response and ends the lease; false when the lease was lost. */
  complete(id: string, lease: string, response: StoredResponse, ttlMs: number): Promise<boolean>;
  /** Forgets the key so a retry runs afresh (after a 5xx); false when the lease was lost. */
  release(id: string, lease: string): Promise<boolean>;
  /** Deletes records past their expiry; answers how many went. */
  purgeExpired(): Promise<number>;
}

/** The scoped record id: `<tenant>:<caller>:<key>`, each part escaped so no two scopes collide. */
export function idempotencyRecordId(tenant: string, caller: string, key: string): string {
  return [tenant, caller, key.toLowerCase()].map(encodeURIComponent).join(':');
}

/**
 * sha256 over the method, the route pattern and the validated request (params, query, body) in
 * canonical JSON, so key order and whitespace do not matter but any change of value does.
 */
export function requestFingerprint(method: string, route: string, input: { params: unknown; query: unknown; body: unknown }): string {
  return createHash('sha256')
    .update(method.toUpperCase())
    .update('\n')
    .update(route)
    .update('\n')
    .update(canonicalJson(input))
    .digest('hex');
}

/** JSON with object keys sorted at every depth; undefined members are left out as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

function sortKeys(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : sortKeys(item)));
  // No prototype, so a member named "__proto__" is kept as data instead of hitting the setter.
  const sorted = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(value).sort()) {
    const member = (value as Record<string, unknown>)[key];
    if (member !== undefined) sorted[key] = sortKeys(member);
  }
  return sorted;
}
