-- The double-entry ledger (src/ledger/, docs/ledger.md): journal entries, their postings, and the
-- balance of every (account, currency), all written by the ledger projection in one transaction
-- per batch of events.
--
-- Sign convention: a posting's amount is in minor units, debit positive and credit negative, so
-- every entry sums to zero per currency and so does the whole ledger (the trial balance).
--
-- The projection engine rebuilds these tables beside the live ones (CREATE TABLE ... LIKE) and
-- swaps them in, so they carry no foreign keys, triggers or sequences, and their indexes keep
-- PostgreSQL's default names. Account paths sort bytewise (COLLATE "C") so a prefix such as
-- `venue:<id>:` is a range scan of the index.

CREATE TABLE ledger_entries (
  -- UUID v5 of (source event id, entry index): a replayed or retried event books the same id.
  entry_id        uuid        PRIMARY KEY,
  source_event_id uuid        NOT NULL,
  -- The n-th entry the source event books (most events book one).
  entry_index     integer     NOT NULL CHECK (entry_index >= 0),
  stream_id       text        NOT NULL,
  stream_revision bigint      NOT NULL,
  commit_pos      bigint      NOT NULL,
  prepare_pos     bigint      NOT NULL,
  entry_type      text        NOT NULL,
  -- Business time (the event's metadata.occurredAt): asOf balances are taken on it.
  occurred_at     timestamptz NOT NULL,
  -- When the event store committed the event.
  recorded_at     timestamptz NOT NULL,
  description     text        NOT NULL,
  -- The event's correlation, causation, tenant and actor, plus what the posting rule recorded.
  metadata        jsonb       NOT NULL
);
CREATE INDEX ON ledger_entries (stream_id, stream_revision);

CREATE TABLE ledger_postings (
  entry_id      uuid                 NOT NULL,
  posting_index integer              NOT NULL CHECK (posting_index >= 0),
  account       text COLLATE "C"     NOT NULL,
  -- Checked where it is summed into ledger_balances (same statement), not once per posting.
  currency      text                 NOT NULL,
  -- Debit positive, credit negative; never zero.
  amount        bigint               NOT NULL CHECK (amount <> 0),
  -- The entry's occurred_at, repeated so an asOf balance reads one index.
  occurred_at   timestamptz          NOT NULL,
  PRIMARY KEY (entry_id, posting_index)
);
CREATE INDEX ON ledger_postings (account, occurred_at, entry_id);

-- Kept in step with the postings in the same transaction; `verify` recomputes it.
CREATE TABLE ledger_balances (
  account  text COLLATE "C" NOT NULL,
  currency text             NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- Sum of the account's postings: positive is a debit balance, negative a credit balance.
  balance  bigint           NOT NULL,
  -- Totals debited and credited (both positive), and how many postings made them.
  debits   bigint           NOT NULL CHECK (debits >= 0),
  credits  bigint           NOT NULL CHECK (credits >= 0),
  postings bigint           NOT NULL CHECK (postings > 0),
  PRIMARY KEY (account, currency),
  CHECK (balance = debits - credits)
);
