-- Read models of the query API (src/projections/payments.ts, src/projections/tax-collections.ts).
-- Written only by their projections, one transaction per batch with the checkpoint. The engine
-- rebuilds them beside the live tables (CREATE TABLE ... LIKE) and swaps them in, so: no foreign
-- keys, triggers or sequences, and PostgreSQL's default index names. Amounts are integer minor
-- units of the row's currency.

-- One row per payment: what GET /api/v1/payments/transaction/:id answers.
CREATE TABLE payment_summaries (
  payment_id        uuid        PRIMARY KEY,
  tenant_id         text        NOT NULL,
  user_id           text        NOT NULL,
  venue_id          text        NOT NULL,
  event_id          text        NOT NULL,
  -- The Payment aggregate's status (src/aggregates/payment.ts), folded with its own evolve.
  status            text        NOT NULL,
  currency          text        NOT NULL,
  -- What the card is charged (the quote's total) and its parts.
  amount            bigint      NOT NULL,
  ticket_count      integer     NOT NULL,
  ticket_price      bigint      NOT NULL,
  platform_fee      bigint      NOT NULL,
  gas               bigint      NOT NULL,
  state_tax         bigint      NOT NULL,
  local_tax         bigint      NOT NULL,
  venue_tax         bigint      NOT NULL,
  captured          bigint      NOT NULL,
  refunded          bigint      NOT NULL,
  refund_pending    bigint      NOT NULL,
  charged_back      bigint      NOT NULL,
  payment_method    text        NOT NULL,
  gateway           text,
  gateway_reference text,
  failure_reason    text,
  failure_code      text,
  decline_code      text,
  -- Business time (event metadata occurredAt) of the request and of the latest event.
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL,
  -- When the gateway's definite answer (captured or failed) was recorded, and how long after the request.
  settled_at        timestamptz,
  processing_ms     bigint,
  -- The stream revision folded last: an event at or below it is not applied again.
  revision          bigint      NOT NULL,
  -- The aggregate's whole state after `revision`, to fold the next events onto.
  state             jsonb       NOT NULL
);
CREATE INDEX ON payment_summaries (created_at);
CREATE INDEX ON payment_summaries (user_id, created_at);
CREATE INDEX ON payment_summaries (venue_id, created_at);

CREATE TABLE payment_refunds (
  refund_id         text        PRIMARY KEY,
  payment_id        uuid        NOT NULL,
  currency          text        NOT NULL,
  amount            bigint      NOT NULL,
  status            text        NOT NULL,
  reason            text        NOT NULL,
  requested_by      text        NOT NULL,
  requested_at      timestamptz NOT NULL,
  completed_at      timestamptz,
  gateway_reference text,
  failure_reason    text,
  failure_code      text
);
CREATE INDEX ON payment_refunds (payment_id);

-- Outcomes per hour (business time): the payment metrics of seed 001. `outcome` is requested,
-- completed, failed, expired, cancelled, refunded or charged_back; `reason` is a failure's decline
-- (or error) code and '' otherwise.
CREATE TABLE payment_stats_hourly (
  hour             timestamptz NOT NULL,
  currency         text        NOT NULL,
  method           text        NOT NULL,
  outcome          text        NOT NULL,
  reason           text        NOT NULL,
  count            bigint      NOT NULL,
  amount           bigint      NOT NULL,
  -- Sum and number of request-to-answer durations (completed and failed outcomes).
  processing_ms    bigint      NOT NULL,
  processing_count bigint      NOT NULL,
  PRIMARY KEY (hour, currency, method, outcome, reason)
);

-- Tax per jurisdiction, kind (state, local, entertainment), currency and day (UTC, business time).
-- collected: booked at capture; refunded: given back by refunds and chargebacks (a refund the
-- gateway refused is taken out again). net = collected - refunded is what the ledger's
-- tax:<jurisdiction>.<kind>:payable account owes for that day.
CREATE TABLE tax_collections (
  day          date   NOT NULL,
  jurisdiction text   NOT NULL,
  kind         text   NOT NULL,
  currency     text   NOT NULL,
  -- Ticket price the tax was computed on, less what refunds returned of it.
  taxable      bigint NOT NULL,
  collected    bigint NOT NULL,
  refunded     bigint NOT NULL,
  -- Captures that collected this tax.
  transactions bigint NOT NULL,
  PRIMARY KEY (day, jurisdiction, kind, currency)
);
CREATE INDEX ON tax_collections (jurisdiction, day);
