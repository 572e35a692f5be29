-- Webhooks out (issue 22): endpoints a tenant's admin registered, their signing secrets, one
-- delivery per (endpoint, integration event) with its retry schedule, and the log of every attempt.
-- Operational state beside the events, as the mail ledger and parked work are: the facts delivered
-- are the integration events (src/events/integration.ts), derived from the event store.

-- status: enabled (receives), disabled (receives nothing new; pending deliveries wait), deleted.
CREATE TABLE tessera_webhook_endpoints (
  id uuid PRIMARY KEY,
  tenant_id text NOT NULL,
  url text NOT NULL,
  -- Integration event types (`com.tessera.payment.completed`), or '*' for every type.
  event_types text[] NOT NULL,
  description text,
  status text NOT NULL CHECK (status IN ('enabled', 'disabled', 'deleted')),
  created_by text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX tessera_webhook_endpoints_tenant ON tessera_webhook_endpoints (tenant_id) WHERE status <> 'deleted';

-- Signing secrets: the newest has no expiry; while one rotates out it keeps its expiry and every
-- delivery is signed with both (`v1=` twice), so the subscriber can switch at leisure.
CREATE TABLE tessera_webhook_secrets (
  endpoint_id uuid NOT NULL REFERENCES tessera_webhook_endpoints (id),
  serial integer NOT NULL,
  secret text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz,
  PRIMARY KEY (endpoint_id, serial)
);

-- status: pending (due at next_attempt_at), delivered, dead (given up after its window: the
-- dead-letter list), cancelled (its endpoint was deleted). A delivery's id is derived from its
-- event and endpoint, so the fan-out inserting it again after a crash changes nothing.
CREATE TABLE tessera_webhook_deliveries (
  id uuid PRIMARY KEY,
  endpoint_id uuid NOT NULL REFERENCES tessera_webhook_endpoints (id),
  tenant_id text NOT NULL,
  event_id uuid NOT NULL,
  event_type text NOT NULL,
  -- The CloudEvent as sent (structured mode): what every attempt and a redelivery send.
  payload text NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead', 'cancelled')),
  attempts integer NOT NULL DEFAULT 0,
  -- Attempts since the delivery was made or last redelivered by hand: the backoff counts these.
  window_attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  -- Retries stop once the next one would fall past this (created, or redelivered, + 3 days).
  give_up_at timestamptz NOT NULL,
  -- The worker holding the delivery's attempt; its lease is next_attempt_at.
  claim uuid,
  created_at timestamptz NOT NULL,
  last_attempt_at timestamptz,
  last_status_code integer,
  last_error text,
  delivered_at timestamptz,
  UNIQUE (endpoint_id, event_id)
);
CREATE INDEX tessera_webhook_deliveries_due ON tessera_webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX tessera_webhook_deliveries_log ON tessera_webhook_deliveries (tenant_id, created_at DESC, id DESC);
-- Attempts in flight per endpoint (claimed, lease not past): the per-endpoint cap reads these.
CREATE INDEX tessera_webhook_deliveries_in_flight ON tessera_webhook_deliveries (endpoint_id) WHERE status = 'pending' AND claim IS NOT NULL;
CREATE INDEX tessera_webhook_deliveries_dead ON tessera_webhook_deliveries (give_up_at) WHERE status = 'dead';

CREATE TABLE tessera_webhook_attempts (
  delivery_id uuid NOT NULL REFERENCES tessera_webhook_deliveries (id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  attempted_at timestamptz NOT NULL,
  -- The HTTP status the endpoint answered, NULL when it answered none (refused, timed out).
  status_code integer,
  error text,
  -- The start of what the endpoint answered, for its admin to read.
  response_excerpt text,
  duration_ms integer NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);
