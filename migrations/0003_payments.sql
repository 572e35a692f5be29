-- Payments write side (issue 4): durable deadlines, parked process-manager work, the venue
-- volume behind fee tiers, the Stripe webhook inbox, and the sandbox gateway's own records.

-- Deadlines: scheduled once by id, claimed by one poller at a time (a lease that runs out if
-- the poller dies), fired once. A deadline whose handler keeps failing is parked.
CREATE TABLE tessera_deadlines (
  id            text        PRIMARY KEY,
  kind          text        NOT NULL,
  due_at        timestamptz NOT NULL,
  payload       jsonb       NOT NULL,
  attempts      integer     NOT NULL DEFAULT 0,
  claimed_until timestamptz,
  last_error    text,
  fired_at      timestamptz,
  parked_at     timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tessera_deadlines_due ON tessera_deadlines (due_at) WHERE fired_at IS NULL AND parked_at IS NULL;

-- Work a process manager gave up on after its retries, with the error, until an operator
-- retries it. `id` is `<source>:<item>` so parking the same item twice keeps one row.
CREATE TABLE tessera_parked_work (
  id          text        PRIMARY KEY,
  source      text        NOT NULL,
  item        jsonb       NOT NULL,
  error       text        NOT NULL,
  attempts    integer     NOT NULL,
  parked_at   timestamptz NOT NULL,
  retried_at  timestamptz,
  resolved_at timestamptz
);
CREATE INDEX tessera_parked_work_open ON tessera_parked_work (parked_at) WHERE resolved_at IS NULL;

-- Captured ticket sales and refunded ticket price per venue, from the events (one row per
-- event, so replaying an event changes nothing); the fee tier reads the trailing 30 days.
CREATE TABLE tessera_venue_volume (
  source_event_id uuid        PRIMARY KEY,
  venue_id        text        NOT NULL,
  currency        text        NOT NULL,
  occurred_at     timestamptz NOT NULL,
  amount          bigint      NOT NULL
);
CREATE INDEX tessera_venue_volume_venue ON tessera_venue_volume (venue_id, occurred_at);

-- Stripe webhook events by Stripe's event id: a redelivery finds its row and changes nothing.
CREATE TABLE tessera_stripe_webhooks (
  stripe_event_id text        PRIMARY KEY,
  event_type      text        NOT NULL,
  payload         jsonb       NOT NULL,
  status          text        NOT NULL,
  attempts        integer     NOT NULL DEFAULT 0,
  last_error      text,
  received_at     timestamptz NOT NULL DEFAULT now(),
  processed_at    timestamptz
);

-- The sandbox gateway (the embedded default, like Stripe's test mode) keeps its own books:
-- one row per idempotency key with the first call's result, and its payment intents.
CREATE TABLE sandbox_gateway_operations (
  idempotency_key text        PRIMARY KEY,
  operation       text        NOT NULL,
  request_hash    text        NOT NULL,
  result          jsonb,
  calls           integer     NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL DEFAULT now(),
  last_called_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sandbox_gateway_intents (
  reference      text        PRIMARY KEY,
  payment_method text        NOT NULL,
  currency       text        NOT NULL,
  amount         bigint      NOT NULL,
  authorized     bigint      NOT NULL DEFAULT 0,
  captured       bigint      NOT NULL DEFAULT 0,
  refunded       bigint      NOT NULL DEFAULT 0,
  status         text        NOT NULL,
  metadata       jsonb       NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sandbox_gateway_intents_payment ON sandbox_gateway_intents ((metadata->>'paymentId'));

-- Which payment a gateway reference (a Stripe PaymentIntent id) belongs to, written by the
-- purchase process manager as soon as the gateway names it, so webhooks that carry only the
-- gateway's ids (disputes, refunds made in the dashboard) find our payment.
CREATE TABLE tessera_gateway_references (
  gateway    text NOT NULL,
  reference  text NOT NULL,
  payment_id uuid NOT NULL,
  PRIMARY KEY (gateway, reference)
);
