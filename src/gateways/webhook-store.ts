import type { SqlClient, SqlExecutor } from '../db/sql-client.js';

/**
 * Webhooks out (issue 22): where endpoints, their secrets, deliveries and attempts are kept
 * (migrations/0017_webhooks.sql). Every read and change a subscriber's admin makes names the
 * tenant, so one tenant's ids never reach another's rows.
 */
export type EndpointStatus = 'enabled' | 'disabled' | 'deleted';
export type DeliveryStatus = 'pending' | 'delivered' | 'dead' | 'cancelled';

export interface WebhookEndpoint {
  readonly id: string;
  readonly tenantId: string;
  readonly url: string;
  /** Integration event types, or `*` for all. */
  readonly eventTypes: readonly string[];
  readonly description: string | null;
  readonly status: EndpointStatus;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** When each signing secret in force stops being used (null: the current one), newest first. */
  readonly secrets: readonly { readonly serial: number; readonly createdAt: Date; readonly expiresAt: Date | null }[];
}

export interface EndpointChanges {
  readonly url?: string;
  readonly eventTypes?: readonly string[];
  readonly description?: string | null;
  readonly status?: 'enabled' | 'disabled';
}

/** What the fan-out needs of an enabled endpoint. */
export interface Subscriber {
  readonly id: string;
  readonly tenantId: string;
  readonly eventTypes: readonly string[];
  /** Only events recorded from then on are delivered to it: a new endpoint is not sent the past. */
  readonly createdAt: Date;
}

export interface NewDelivery {
  readonly id: string;
  readonly endpointId: string;
  readonly tenantId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly payload: string;
  readonly createdAt: Date;
  readonly giveUpAt: Date;
}

/** A delivery a worker holds for one attempt. */
export interface ClaimedDelivery {
  readonly id: string;
  readonly claim: string;
  readonly endpointId: string;
  readonly url: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly payload: string;
  /** Attempts made before this one. */
  readonly attempts: number;
  /** Of those, the attempts since the delivery was made or redelivered: the backoff counts these. */
  readonly windowAttempts: number;
  readonly giveUpAt: Date;
  /** The endpoint's secrets in force, newest first. */
  readonly secrets: readonly string[];
}

export interface AttemptRecord {
  readonly attemptedAt: Date;
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly responseExcerpt: string | null;
  readonly durationMs: number;
}

export type AttemptOutcome = { readonly status: 'delivered' } | { readonly status: 'pending'; readonly nextAttemptAt: Date } | { readonly status: 'dead' };

export interface DeliveryView {
  readonly id: string;
  readonly endpointId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  readonly nextAttemptAt: Date | null;
  readonly giveUpAt: Date;
  readonly createdAt: Date;
  readonly lastAttemptAt: Date | null;
  readonly lastStatusCode: number | null;
  readonly lastError: string | null;
  readonly deliveredAt: Date | null;
}

export interface AttemptView extends AttemptRecord {
  readonly attempt: number;
}

export interface DeliveryWithLog extends DeliveryView {
  readonly log: readonly AttemptView[];
}

export interface DeliveryQuery {
  readonly endpointId?: string;
  readonly status?: DeliveryStatus;
  readonly limit: number;
  /** Only deliveries created before this one (the previous page's last), newest first. */
  readonly before?: { readonly createdAt: Date; readonly id: string };
}

export interface WebhookStore {
  /** Registers the endpoint with its first secret; false when the tenant already has `maxPerTenant`. */
  createEndpoint(endpoint: Omit<WebhookEndpoint, 'secrets' | 'updatedAt'>, secret: string, maxPerTenant: number): Promise<boolean>;
  listEndpoints(tenantId: string): Promise<WebhookEndpoint[]>;
  findEndpoint(tenantId: string, id: string): Promise<WebhookEndpoint | undefined>;
  updateEndpoint(tenantId: string, id: string, changes: EndpointChanges, at: Date): Promise<WebhookEndpoint | undefined>;
  /** Deletes the endpoint (its log stays readable) and cancels its pending deliveries. */
  deleteEndpoint(tenantId: string, id: string, at: Date): Promise<boolean>;
  /**
   * Adds `secret` as the endpoint's current one. The one it replaces is valid until
   * `previousExpiresAt`; any older secret still in force stops now, so two are valid at most.
   */
  rotateSecret(tenantId: string, id: string, secret: string, at: Date, previousExpiresAt: Date): Promise<WebhookEndpoint | undefined>;
  subscribersOf(tenantIds: readonly string[]): Promise<Subscriber[]>;
  /** Inserts the deliveries not there yet (by endpoint and event) of endpoints still enabled; answers how many were new. */
  enqueue(deliveries: readonly NewDelivery[]): Promise<number>;
  /**
   * Takes up to `limit` pending deliveries due at `now` of enabled endpoints, each held until
   * `leaseUntil`, never more than `perEndpoint` in flight for one endpoint (across instances).
   */
  claimDue(now: Date, limit: number, leaseUntil: Date, claim: string, perEndpoint: number): Promise<ClaimedDelivery[]>;
  /** Logs the attempt and moves the delivery on, if this worker still holds it (false otherwise). */
  recordAttempt(delivery: ClaimedDelivery, attempt: AttemptRecord, outcome: AttemptOutcome): Promise<boolean>;
  listDeliveries(tenantId: string, query: DeliveryQuery): Promise<DeliveryView[]>;
  findDelivery(tenantId: string, id: string): Promise<DeliveryWithLog | undefined>;
  /**
   * Makes the delivery due now again, with a new window and the backoff from its start (a dead or
   * delivered one too). `in_flight` while an attempt of it is under way; undefined when unknown or
   * its endpoint is deleted.
   */
  redeliver(tenantId: string, id: string, now: Date, giveUpAt: Date): Promise<DeliveryView | 'in_flight' | undefined>;
  /** Pending and dead deliveries, for the gauges. */
  counts(): Promise<{ readonly pending: number; readonly dead: number }>;
  /**
   * Ends what no attempt will end: pending deliveries of deleted endpoints are cancelled, pending
   * ones past their window that no attempt holds (a disabled endpoint's) are dead; expired
   * secrets are forgotten.
   */
  sweep(now: Date): Promise<{ readonly cancelled: number; readonly dead: number }>;
  /** Forgets deliveries delivered or cancelled before `before`, and dead ones given up before it; answers how many. */
  purge(before: Date): Promise<number>;
}

interface EndpointRow {
  id: string;
  tenant_id: string;
  url: string;
  event_types: string[];
  description: string | null;
  status: EndpointStatus;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

interface DeliveryRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  give_up_at: Date;
  created_at: Date;
  last_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
}

const DELIVERY_COLUMN_NAMES = [
  'id', 'endpoint_id', 'event_id', 'event_type', 'status', 'attempts', 'next_attempt_at', 'give_up_at', 'created_at',
  'last_attempt_at', 'last_status_code', 'last_error', 'delivered_at',
] as const;
const DELIVERY_COLUMNS = DELIVERY_COLUMN_NAMES.join(', ');

const deliveryOf = (row: DeliveryRow): DeliveryView => ({
  id: row.id,
  endpointId: row.endpoint_id,
  eventId: row.event_id,
  eventType: row.event_type,
  status: row.status,
  attempts: row.attempts,
  nextAttemptAt: row.status === 'pending' ? row.next_attempt_at : null,
  giveUpAt: row.give_up_at,
  createdAt: row.created_at,
  lastAttemptAt: row.last_attempt_at,
  lastStatusCode: row.last_status_code,
  lastError: row.last_error,
  deliveredAt: row.delivered_at,
});

export function createSqlWebhookStore(sql: SqlClient): WebhookStore {
  const ENDPOINT_COLUMNS = 'id, tenant_id, url, event_types, description, status, created_by, created_at, updated_at';

  async function withSecrets(db: SqlExecutor, rows: readonly EndpointRow[], now: Date): Promise<WebhookEndpoint[]> {
    if (rows.length === 0) return [];
    const { rows: secrets } = await db.query<{ endpoint_id: string; serial: number; created_at: Date; expires_at: Date | null }>(
      `SELECT endpoint_id, serial, created_at, expires_at FROM tessera_webhook_secrets
       WHERE endpoint_id = ANY($1::uuid[]) AND (expires_at IS NULL OR expires_at > $2) ORDER BY serial DESC`,
      [rows.map((row) => row.id), now],
    );
    return rows.map((row) => ({
      id: row.id,
      tenantId: row.tenant_id,
      url: row.url,
      eventTypes: row.event_types,
      description: row.description,
      status: row.status,
      createdBy: row.created_by,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      secrets: secrets.filter((s) => s.endpoint_id === row.id).map((s) => ({ serial: s.serial, createdAt: s.created_at, expiresAt: s.expires_at })),
    }));
  }

  async function find(db: SqlExecutor, tenantId: string, id: string, now: Date, lock = false): Promise<WebhookEndpoint | undefined> {
    const { rows } = await db.query<EndpointRow>(
      `SELECT ${ENDPOINT_COLUMNS} FROM tessera_webhook_endpoints WHERE id = $1 AND tenant_id = $2 AND status <> 'deleted'${lock ? ' FOR UPDATE' : ''}`,
      [id, tenantId],
    );
    return (await withSecrets(db, rows, now))[0];
  }

  return {
    async createEndpoint(endpoint, secret, maxPerTenant) {
      return sql.transaction(async (tx) => {
        // One registration per tenant at a time, so the count below cannot be raced past.
        await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 22))', [`webhook-endpoints:${endpoint.tenantId}`]);
        const inserted = await tx.query(
          `INSERT INTO tessera_webhook_endpoints (${ENDPOINT_COLUMNS})
           SELECT $1, $2, $3, $4, $5, $6, $7, $8, $8
           WHERE (SELECT count(*) FROM tessera_webhook_endpoints WHERE tenant_id = $2 AND status <> 'deleted') < $9`,
          [endpoint.id, endpoint.tenantId, endpoint.url, endpoint.eventTypes, endpoint.description, endpoint.status, endpoint.createdBy, endpoint.createdAt, maxPerTenant],
        );
        if (inserted.rowCount === 0) return false;
        await tx.query('INSERT INTO tessera_webhook_secrets (endpoint_id, serial, secret, created_at) VALUES ($1, 1, $2, $3)', [endpoint.id, secret, endpoint.createdAt]);
        return true;
      });
    },

    async listEndpoints(tenantId) {
      const { rows } = await sql.query<EndpointRow>(
        `SELECT ${ENDPOINT_COLUMNS} FROM tessera_webhook_endpoints WHERE tenant_id = $1 AND status <> 'deleted' ORDER BY created_at, id`,
        [tenantId],
      );
      return withSecrets(sql, rows, new Date());
    },

    findEndpoint: (tenantId, id) => find(sql, tenantId, id, new Date()),

    async updateEndpoint(tenantId, id, changes, at) {
      const { rows } = await sql.query<EndpointRow>(
        `UPDATE tessera_webhook_endpoints SET
           url = COALESCE($3, url),
           event_types = COALESCE($4, event_types),
           description = CASE WHEN $5::boolean THEN $6 ELSE description END,
           status = COALESCE($7, status),
           updated_at = $8
         WHERE id = $1 AND tenant_id = $2 AND status <> 'deleted'
         RETURNING ${ENDPOINT_COLUMNS}`,
        [id, tenantId, changes.url ?? null, changes.eventTypes ?? null, changes.description !== undefined, changes.description ?? null, changes.status ?? null, at],
      );
      return (await withSecrets(sql, rows, at))[0];
    },

    async deleteEndpoint(tenantId, id, at) {
      return sql.transaction(async (tx) => {
        const deleted = await tx.query(
          `UPDATE tessera_webhook_endpoints SET status = 'deleted', updated_at = $3 WHERE id = $1 AND tenant_id = $2 AND status <> 'deleted'`,
          [id, tenantId, at],
        );
        if (deleted.rowCount === 0) return false;
        await tx.query(`UPDATE tessera_webhook_deliveries SET status = 'cancelled', claim = NULL WHERE endpoint_id = $1 AND status = 'pending'`, [id]);
        return true;
      });
    },

    async rotateSecret(tenantId, id, secret, at, previousExpiresAt) {
      return sql.transaction(async (tx) => {
        const endpoint = await find(tx, tenantId, id, at, true);
        if (!endpoint) return undefined;
        // Older secrets still rotating out stop now; the current one is valid until previousExpiresAt.
        await tx.query(
          `UPDATE tessera_webhook_secrets SET expires_at = CASE WHEN expires_at IS NULL THEN $2::timestamptz ELSE $3::timestamptz END
           WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > $3)`,
          [id, previousExpiresAt, at],
        );
        await tx.query(
          `INSERT INTO tessera_webhook_secrets (endpoint_id, serial, secret, created_at)
           SELECT $1, COALESCE(max(serial), 0) + 1, $2, $3 FROM tessera_webhook_secrets WHERE endpoint_id = $1`,
          [id, secret, at],
        );
        await tx.query('UPDATE tessera_webhook_endpoints SET updated_at = $2 WHERE id = $1', [id, at]);
        return find(tx, tenantId, id, at);
      });
    },

    async subscribersOf(tenantIds) {
      if (tenantIds.length === 0) return [];
      const { rows } = await sql.query<{ id: string; tenant_id: string; event_types: string[]; created_at: Date }>(
        `SELECT id, tenant_id, event_types, created_at FROM tessera_webhook_endpoints WHERE tenant_id = ANY($1::text[]) AND status = 'enabled'`,
        [tenantIds],
      );
      return rows.map((row) => ({ id: row.id, tenantId: row.tenant_id, eventTypes: row.event_types, createdAt: row.created_at }));
    },

    async enqueue(deliveries) {
      if (deliveries.length === 0) return 0;
      const column = <K extends keyof NewDelivery>(key: K) => deliveries.map((delivery) => delivery[key]);
      const result = await sql.query(
        `INSERT INTO tessera_webhook_deliveries (id, endpoint_id, tenant_id, event_id, event_type, payload, status, next_attempt_at, give_up_at, created_at)
         SELECT d.id, d.endpoint_id, d.tenant_id, d.event_id, d.event_type, d.payload, 'pending', d.created_at, d.give_up_at, d.created_at
         FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[])
           AS d (id, endpoint_id, tenant_id, event_id, event_type, payload, created_at, give_up_at)
         JOIN tessera_webhook_endpoints e ON e.id = d.endpoint_id AND e.status = 'enabled'
         ON CONFLICT DO NOTHING`,
        [column('id'), column('endpointId'), column('tenantId'), column('eventId'), column('eventType'), column('payload'), column('createdAt'), column('giveUpAt')],
      );
      return result.rowCount;
    },

    async claimDue(now, limit, leaseUntil, claim, perEndpoint) {
      // Candidates first (each endpoint's oldest due, up to what its cap leaves free), then the
      // ones no other worker has locked meanwhile: one slow endpoint cannot take every slot.
      const { rows } = await sql.query<{
        id: string;
        endpoint_id: string;
        url: string;
        event_id: string;
        event_type: string;
        payload: string;
        attempts: number;
        window_attempts: number;
        give_up_at: Date;
      }>(
        `WITH in_flight AS (
           SELECT endpoint_id, count(*) AS n FROM tessera_webhook_deliveries
           WHERE status = 'pending' AND claim IS NOT NULL AND next_attempt_at > $1
           GROUP BY endpoint_id
         ), candidates AS (
           SELECT ranked.id, ranked.next_attempt_at, ranked.created_at FROM (
             SELECT d.id, d.next_attempt_at, d.created_at, COALESCE(f.n, 0) AS busy,
               row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at, d.created_at) AS rn
             FROM tessera_webhook_deliveries d
             JOIN tessera_webhook_endpoints e ON e.id = d.endpoint_id AND e.status = 'enabled'
             LEFT JOIN in_flight f ON f.endpoint_id = d.endpoint_id
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1
           ) ranked
           WHERE ranked.rn + ranked.busy <= $5
           ORDER BY ranked.next_attempt_at, ranked.created_at LIMIT $2
         ), due AS (
           SELECT d.id FROM tessera_webhook_deliveries d
           WHERE d.id IN (SELECT id FROM candidates) AND d.status = 'pending' AND d.next_attempt_at <= $1
           FOR UPDATE SKIP LOCKED
         )
         UPDATE tessera_webhook_deliveries d SET next_attempt_at = $3, claim = $4
         FROM due, tessera_webhook_endpoints e
         WHERE d.id = due.id AND e.id = d.endpoint_id
         RETURNING d.id, d.endpoint_id, e.url, d.event_id, d.event_type, d.payload, d.attempts, d.window_attempts, d.give_up_at`,
        [now, limit, leaseUntil, claim, perEndpoint],
      );
      if (rows.length === 0) return [];
      const { rows: secrets } = await sql.query<{ endpoint_id: string; secret: string }>(
        `SELECT endpoint_id, secret FROM tessera_webhook_secrets
         WHERE endpoint_id = ANY($1::uuid[]) AND (expires_at IS NULL OR expires_at > $2) ORDER BY serial DESC`,
        [[...new Set(rows.map((row) => row.endpoint_id))], now],
      );
      return rows.map((row) => ({
        id: row.id,
        claim,
        endpointId: row.endpoint_id,
        url: row.url,
        eventId: row.event_id,
        eventType: row.event_type,
        payload: row.payload,
        attempts: row.attempts,
        windowAttempts: row.window_attempts,
        giveUpAt: row.give_up_at,
        secrets: secrets.filter((s) => s.endpoint_id === row.endpoint_id).map((s) => s.secret),
      }));
    },

    async recordAttempt(delivery, attempt, outcome) {
      return sql.transaction(async (tx) => {
        const moved = await tx.query(
          `UPDATE tessera_webhook_deliveries SET
             status = $3, attempts = attempts + 1, window_attempts = window_attempts + 1, claim = NULL,
             next_attempt_at = COALESCE($4, next_attempt_at),
             last_attempt_at = $5, last_status_code = $6, last_error = $7,
             delivered_at = CASE WHEN $3 = 'delivered' THEN $5 ELSE delivered_at END
           WHERE id = $1 AND claim = $2 AND status = 'pending'`,
          [
            delivery.id,
            delivery.claim,
            outcome.status,
            outcome.status === 'pending' ? outcome.nextAttemptAt : null,
            attempt.attemptedAt,
            attempt.statusCode,
            attempt.error,
          ],
        );
        if (moved.rowCount === 0) return false;
        await tx.query(
          `INSERT INTO tessera_webhook_attempts (delivery_id, attempt, attempted_at, status_code, error, response_excerpt, duration_ms)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [delivery.id, delivery.attempts + 1, attempt.attemptedAt, attempt.statusCode, attempt.error, attempt.responseExcerpt, Math.round(attempt.durationMs)],
        );
        return true;
      });
    },

    async listDeliveries(tenantId, query) {
      const { rows } = await sql.query<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM tessera_webhook_deliveries
         WHERE tenant_id = $1
           AND ($2::uuid IS NULL OR endpoint_id = $2)
           AND ($3::text IS NULL OR status = $3)
           AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5::uuid))
         ORDER BY created_at DESC, id DESC LIMIT $6`,
        [tenantId, query.endpointId ?? null, query.status ?? null, query.before?.createdAt ?? null, query.before?.id ?? null, query.limit],
      );
      return rows.map(deliveryOf);
    },

    async findDelivery(tenantId, id) {
      const { rows } = await sql.query<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM tessera_webhook_deliveries WHERE id = $1 AND tenant_id = $2`, [id, tenantId]);
      const row = rows[0];
      if (!row) return undefined;
      const { rows: attempts } = await sql.query<{ attempt: number; attempted_at: Date; status_code: number | null; error: string | null; response_excerpt: string | null; duration_ms: number }>(
        'SELECT attempt, attempted_at, status_code, error, response_excerpt, duration_ms FROM tessera_webhook_attempts WHERE delivery_id = $1 ORDER BY attempt',
        [id],
      );
      return {
        ...deliveryOf(row),
        log: attempts.map((a) => ({
          attempt: a.attempt,
          attemptedAt: a.attempted_at,
          statusCode: a.status_code,
          error: a.error,
          responseExcerpt: a.response_excerpt,
          durationMs: a.duration_ms,
        })),
      };
    },

    async redeliver(tenantId, id, now, giveUpAt) {
      const { rows } = await sql.query<DeliveryRow & { in_flight: boolean }>(
        `WITH target AS (
           SELECT d.id, (d.status = 'pending' AND d.claim IS NOT NULL AND d.next_attempt_at > $3) AS in_flight
           FROM tessera_webhook_deliveries d JOIN tessera_webhook_endpoints e ON e.id = d.endpoint_id AND e.status <> 'deleted'
           WHERE d.id = $1 AND d.tenant_id = $2
           FOR UPDATE OF d
         ), moved AS (
           UPDATE tessera_webhook_deliveries d SET status = 'pending', next_attempt_at = $3, give_up_at = $4, claim = NULL, window_attempts = 0
           FROM target WHERE d.id = target.id AND NOT target.in_flight
           RETURNING ${DELIVERY_COLUMN_NAMES.map((column) => `d.${column}`).join(', ')}
         )
         SELECT moved.*, false AS in_flight FROM moved
         UNION ALL
         SELECT ${DELIVERY_COLUMN_NAMES.map((column) => `d.${column}`).join(', ')}, true AS in_flight
         FROM tessera_webhook_deliveries d JOIN target ON target.id = d.id WHERE target.in_flight`,
        [id, tenantId, now, giveUpAt],
      );
      const row = rows[0];
      if (!row) return undefined;
      return row.in_flight ? 'in_flight' : deliveryOf(row);
    },

    async counts() {
      const { rows } = await sql.query<{ pending: string; dead: string }>(
        `SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'dead') AS dead
         FROM tessera_webhook_deliveries WHERE status IN ('pending', 'dead')`,
      );
      return { pending: Number(rows[0]?.pending ?? 0), dead: Number(rows[0]?.dead ?? 0) };
    },

    async sweep(now) {
      return sql.transaction(async (tx) => {
        const cancelled = await tx.query(
          `UPDATE tessera_webhook_deliveries d SET status = 'cancelled', claim = NULL
           FROM tessera_webhook_endpoints e
           WHERE e.id = d.endpoint_id AND e.status = 'deleted' AND d.status = 'pending'`,
        );
        const dead = await tx.query(
          `UPDATE tessera_webhook_deliveries SET status = 'dead', claim = NULL
           WHERE status = 'pending' AND give_up_at < $1 AND (claim IS NULL OR next_attempt_at <= $1)`,
          [now],
        );
        await tx.query('DELETE FROM tessera_webhook_secrets WHERE expires_at < $1', [now]);
        return { cancelled: cancelled.rowCount, dead: dead.rowCount };
      });
    },

    async purge(before) {
      const result = await sql.query(
        `DELETE FROM tessera_webhook_deliveries
         WHERE (status = 'delivered' AND COALESCE(delivered_at, created_at) < $1)
            OR (status = 'cancelled' AND created_at < $1)
            OR (status = 'dead' AND give_up_at < $1)`,
        [before],
      );
      return result.rowCount;
    },
  };
}
