-- Resale and minting (issue 6, src/resale and src/minting).
--
-- resale_tickets is the tickets projection's table (ownership of paid tickets, rebuilt from the
-- events), so like every projection table it has no foreign keys, triggers or sequences.
CREATE TABLE resale_tickets (
  -- UUID v5 of (payment id, index): ticketIdFor in src/resale/tickets.ts.
  ticket_id      uuid        PRIMARY KEY,
  payment_id     uuid        NOT NULL,
  ticket_index   integer     NOT NULL CHECK (ticket_index >= 0),
  venue_id       text        NOT NULL,
  event_id       text        NOT NULL,
  ticket_type_id text        NOT NULL,
  owner_id       text        NOT NULL,
  -- What the first buyer paid for this ticket (its line's unit price), in minor units.
  face_value     bigint      NOT NULL CHECK (face_value >= 0),
  currency       text        NOT NULL,
  chain          text        NOT NULL,
  -- pending (requested, not paid), active (paid), void (the payment ended unpaid).
  status         text        NOT NULL,
  -- Ticket price refunded on the payment so far: any refund takes its tickets off the market.
  refunded       bigint      NOT NULL DEFAULT 0,
  -- How many times it was resold: names its next listing (listingIdFor).
  resales        integer     NOT NULL DEFAULT 0,
  updated_at     timestamptz NOT NULL
);
CREATE INDEX ON resale_tickets (payment_id);
CREATE INDEX ON resale_tickets (owner_id);

-- The minting queue (src/minting/mint-queue.ts): one row per paid ticket, written by the minting
-- process manager and worked by the mint worker. An operational table, not a projection.
CREATE TABLE nft_mint_queue (
  ticket_id       uuid        PRIMARY KEY,
  payment_id      uuid        NOT NULL,
  venue_id        text        NOT NULL,
  event_id        text        NOT NULL,
  owner_id        text        NOT NULL,
  chain           text        NOT NULL,
  priority        text        NOT NULL CHECK (priority IN ('urgent', 'high', 'standard')),
  -- 0 urgent, 1 high, 2 standard: batches take the lowest first.
  priority_rank   smallint    NOT NULL,
  -- queued, submitting, submitted, minted, cancelled (refunded before minting),
  -- burn_requested (refunded after), parked (out of attempts).
  status          text        NOT NULL DEFAULT 'queued',
  refunded        boolean     NOT NULL DEFAULT false,
  batch_id        uuid,
  attempts        integer     NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  last_error      text,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL
);
CREATE INDEX ON nft_mint_queue (chain, status, priority_rank, created_at);
CREATE INDEX ON nft_mint_queue (payment_id);
CREATE INDEX ON nft_mint_queue (batch_id);

CREATE TABLE nft_mint_batches (
  batch_id      uuid        PRIMARY KEY,
  chain         text        NOT NULL,
  ticket_count  integer     NOT NULL CHECK (ticket_count > 0),
  -- submitting, submitted, confirmed, failed (reverted: its tickets are queued again), parked
  status        text        NOT NULL,
  -- Submissions tried: a lost answer is retried with the same key, never as a new batch.
  attempts      integer     NOT NULL DEFAULT 0,
  last_error    text,
  tx_hash       text,
  gas_fee       bigint,
  claimed_until timestamptz,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL
);
CREATE INDEX ON nft_mint_batches (status);

-- The sandbox chain's own books (src/minting/sandbox-chain.ts): each transaction once per key.
CREATE TABLE sandbox_chain_transactions (
  tx_hash         text        PRIMARY KEY,
  idempotency_key text        NOT NULL UNIQUE,
  kind            text        NOT NULL,
  chain           text        NOT NULL,
  ticket_ids      text[]      NOT NULL,
  gas_fee         bigint      NOT NULL,
  -- pending until the confirmation delay has passed; reverted ones never confirm.
  reverted        boolean     NOT NULL DEFAULT false,
  calls           integer     NOT NULL DEFAULT 1,
  submitted_at    timestamptz NOT NULL
);
