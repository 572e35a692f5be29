-- Nonces of signed internal calls (src/api/auth/internal-signature.ts), used when Redis is not
-- configured. One row per `<service>:<nonce>`, kept until expires_at (twice the allowed clock
-- skew): a second request with the same nonce before then is refused as a replay. Rows past
-- expires_at count as absent and are purged in the background.

CREATE TABLE tessera_internal_nonces (
  id         text        PRIMARY KEY,
  expires_at timestamptz NOT NULL
);

CREATE INDEX tessera_internal_nonces_expiry ON tessera_internal_nonces (expires_at);
