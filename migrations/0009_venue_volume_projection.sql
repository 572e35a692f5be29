-- Venue volume becomes a registered projection (src/projections/venue-volume.ts, `venue-volume`):
-- `tessera replay` rebuilds it and `tessera verify` compares it, as every read model a rule reads.
--
-- The engine rebuilds a table beside itself with CREATE TABLE ... LIKE and swaps the copy in,
-- where indexes take PostgreSQL's default names: the one index 0003 named gets its default name.
ALTER INDEX tessera_venue_volume_venue RENAME TO tessera_venue_volume_venue_id_occurred_at_idx;

-- A deployment that ran the old loose subscription keeps its rows, which go on answering the fee
-- tier, and its table is recorded as built by version 1 of the projection: the code declares a
-- newer one, so the first start rebuilds the table from the events beside the live one and swaps
-- it in (the old subscription had not counted group completions it passed before it learnt to).
-- A new database has nothing to carry over: its projection registers itself at its first start.
INSERT INTO tessera_projections (name, version)
SELECT 'venue-volume', 1
 WHERE EXISTS (SELECT 1 FROM tessera_checkpoints WHERE subscription = 'venue-volume')
    OR EXISTS (SELECT 1 FROM tessera_venue_volume)
    OR EXISTS (SELECT 1 FROM tessera_events)
ON CONFLICT (name) DO NOTHING;

-- The old subscription's checkpoint: the projection's is `projection:venue-volume`, set by the swap.
DELETE FROM tessera_checkpoints WHERE subscription = 'venue-volume';
