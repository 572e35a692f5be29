-- The event store: events and subscription checkpoints.
--
-- Global order. Every event row records the id of the transaction that wrote it (xid8). A reader
-- of "$all" returns only events whose transaction id is below the oldest transaction still
-- running (pg_snapshot_xmin of its snapshot), in (transaction_id, position) order. Every
-- transaction below that horizon has finished, so nothing can later appear before what the
-- reader has passed: a late-committing writer is waited for, never skipped. This is the approach
-- Emmett's PostgreSQL store takes; it needs no gap timeouts (Marten's high-water mark does).

CREATE TABLE tessera_events (
  transaction_id xid8        NOT NULL DEFAULT pg_current_xact_id(),
  position       bigint      GENERATED ALWAYS AS IDENTITY,
  stream_id      text        NOT NULL,
  revision       bigint      NOT NULL,
  event_id       uuid        NOT NULL,
  event_type     text        NOT NULL,
  data           jsonb       NOT NULL,
  metadata       jsonb       NOT NULL,
  recorded_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT tessera_events_global_order PRIMARY KEY (transaction_id, position),
  -- Optimistic concurrency: two writers expecting the same revision insert the same next
  -- revision, and this index lets exactly one of them commit (see sql-event-store.ts).
  CONSTRAINT tessera_events_stream_revision UNIQUE (stream_id, revision),
  -- An event id is stored once; a retried append is recognised by it (idempotent append).
  CONSTRAINT tessera_events_event_id UNIQUE (event_id)
);

CREATE TABLE tessera_checkpoints (
  subscription text        PRIMARY KEY,
  commit_pos   bigint      NOT NULL,
  prepare_pos  bigint      NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);
