-- The projection engine's own bookkeeping (src/projections/). A projection's checkpoint lives in
-- tessera_checkpoints under `projection:<name>`, written in the same transaction as its rows.
--
-- Which version of each projection built the live tables. When the code declares a newer
-- version, the engine rebuilds that projection beside the live tables and swaps it in; an older
-- instance (during a rolling deploy) leaves a newer projection alone.
CREATE TABLE tessera_projections (
  name          text        PRIMARY KEY,
  version       integer     NOT NULL CHECK (version > 0),
  registered_at timestamptz NOT NULL DEFAULT now(),
  rebuilt_at    timestamptz
);
