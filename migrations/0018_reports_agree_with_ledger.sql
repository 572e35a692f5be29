-- Issue 23, "reports agree with the ledger".
--
-- Group purchases and resale charges take the buyers' money into gateway:clearing as card
-- purchases do, but the payments read model only knew card purchases, so /admin/stats and the
-- payment metrics showed less revenue than the ledger. The payments projection
-- (src/projections/payments/) now keeps them too, each with its kind:
--
-- * payment_summaries stays one row per card purchase: what GET /api/v1/payments/transaction/:id
--   answers (seed 003). A group's or an escrow's id is not a transaction there.
-- * payment_charges: one row per group purchase (kind `group`, id the group's) and resale escrow
--   (kind `resale`, id the escrow's), with its own aggregate's status and what it captured and
--   gave back. Written only by the projection, from the events, like every read model.
-- * payment_stats_hourly counts every kind, told apart by `kind` (purchase, group, resale).
--
-- The projection's version moves to 3, so the first start rebuilds all three tables from the
-- events beside the live ones and swaps them in; the default below only serves the rows that
-- answer until then.
CREATE TABLE payment_charges (
  kind        text        NOT NULL,
  charge_id   uuid        NOT NULL,
  tenant_id   text        NOT NULL,
  -- The group's organizer; the resale's buyer.
  user_id     text        NOT NULL,
  venue_id    text        NOT NULL,
  event_id    text        NOT NULL,
  -- The GroupPayment's status (collecting, funded, completed, expired, cancelled) or the
  -- Escrow's (created, funded, released, refunded, disputed, failed).
  status      text        NOT NULL,
  currency    text        NOT NULL,
  -- What is to be charged: the group's quote total; the resale's price.
  amount      bigint      NOT NULL,
  -- Taken into gateway:clearing: at GroupPaymentCompleted; at EscrowFunded.
  captured    bigint      NOT NULL,
  -- Paid back to the buyer by the gateway (EscrowRefundPaid).
  refunded    bigint      NOT NULL,
  -- Business time of the first and the latest event folded.
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  -- The stream revision folded last: an event at or below it is not applied again.
  revision    bigint      NOT NULL,
  PRIMARY KEY (kind, charge_id)
);
CREATE INDEX ON payment_charges (created_at);

ALTER TABLE payment_stats_hourly ADD COLUMN kind text NOT NULL DEFAULT 'purchase';
ALTER TABLE payment_stats_hourly ALTER COLUMN kind DROP DEFAULT;
ALTER TABLE payment_stats_hourly DROP CONSTRAINT payment_stats_hourly_pkey;
ALTER TABLE payment_stats_hourly ADD PRIMARY KEY (hour, currency, method, outcome, reason, kind);
