-- Fraud and risk (issue 20): the risk assessments read model (src/projections/risk-assessments.ts),
-- seed 001's fraud_prevention_logs and seed 002's fraud_assessments in one table: one row per
-- assessed payment, with what the assessment saw and decided, and where its review stands.
CREATE TABLE tessera_risk_assessments (
  payment_id text PRIMARY KEY,
  tenant_id text NOT NULL,
  subject text NOT NULL,
  user_id text NOT NULL,
  venue_id text NOT NULL,
  event_id text NOT NULL,
  amount bigint NOT NULL,
  score integer NOT NULL,
  risk_level text NOT NULL,
  decision text NOT NULL,
  decline_code text,
  rules jsonb NOT NULL,
  features jsonb NOT NULL,
  bot_score numeric NOT NULL,
  scalper_score numeric NOT NULL,
  model_version text NOT NULL,
  model_score numeric NOT NULL,
  shadow_model_version text,
  shadow_model_score numeric,
  shadow_decision text,
  device_fingerprint text,
  ip_address text,
  latency_ms numeric NOT NULL,
  assessed_at timestamptz NOT NULL,
  -- pending (held, waiting for an analyst), approved, declined; null when not held.
  review_status text,
  reviewed_by text,
  reviewed_at timestamptz,
  review_note text,
  authorized boolean NOT NULL DEFAULT false,
  -- The payment's status as its later events leave it (processing, completed, failed, cancelled, expired).
  payment_status text NOT NULL
);
CREATE INDEX tessera_risk_assessments_review_status_assessed_at_idx ON tessera_risk_assessments (review_status, assessed_at);
CREATE INDEX tessera_risk_assessments_assessed_at_idx ON tessera_risk_assessments (assessed_at);
