-- The journal's hash chain (issue 23, docs/ledger.md "The hash chain"): each entry carries its
-- place in the chain, the hash of the entry before it, and the SHA-256 of its own canonical form
-- (src/projections/ledger/hash-chain.ts), which covers every column of the entry and of its
-- postings and that previous hash. `tessera verify` walks the chain and names the first entry
-- that breaks it.
--
-- Existing entries get no hashes here: the canonical form is computed in TypeScript only, so it
-- has one definition. Ledger version 4, which books the chain, rebuilds the journal beside the
-- live tables at its first start and swaps it in (as every ledger version bump does); until then
-- the columns are NULL, and a NULL is never written afterwards. They stay nullable, as a NOT
-- NULL column cannot be added to rows that have no value for it.
ALTER TABLE ledger_entries
  -- 1 for the first entry, then one more for each entry booked after it (in event order).
  ADD COLUMN chain_seq bigint CHECK (chain_seq > 0),
  -- Lowercase hex SHA-256; the first entry's prev_hash is 64 zeros.
  ADD COLUMN prev_hash text CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  ADD COLUMN hash      text CHECK (hash ~ '^[0-9a-f]{64}$');

-- The chain's order: the projection reads its last entry by it, verify walks it in pages.
CREATE UNIQUE INDEX ON ledger_entries (chain_seq);
