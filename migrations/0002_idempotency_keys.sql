-- Idempotency records for command routes (seed 003, "Idempotency"), used when Redis is not
-- configured. One row per scoped key (tenant, caller, Idempotency-Key).
--
-- A running request holds a lease (lease_token until lease_expires_at) and renews it; once the
-- lease runs out a retry with the same fingerprint may take the key over (attempts counts the
-- takeovers). A finished request stores its response: 2xx kept 24 h, 4xx 1 h; a 5xx deletes the
-- row. Rows past expires_at are treated as absent and purged in the background.

CREATE TABLE tessera_idempotency_keys (
  id               text        PRIMARY KEY,
  fingerprint      text        NOT NULL,
  state            text        NOT NULL CHECK (state IN ('running', 'completed')),
  attempts         integer     NOT NULL DEFAULT 1,
  lease_token      uuid,
  lease_expires_at timestamptz,
  status_code      integer,
  content_type     text,
  response_body    text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  expires_at       timestamptz NOT NULL,
  CONSTRAINT tessera_idempotency_keys_shape CHECK (
    (state = 'running' AND lease_token IS NOT NULL AND lease_expires_at IS NOT NULL AND status_code IS NULL)
    OR (state = 'completed' AND lease_token IS NULL AND status_code IS NOT NULL AND response_body IS NOT NULL)
  )
);

CREATE INDEX tessera_idempotency_keys_expiry ON tessera_idempotency_keys (expires_at);
