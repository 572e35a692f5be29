-- The payments read model folds each row from its own columns (src/projections/payment-rows.ts)
-- instead of from a stored copy of the Payment aggregate's whole state: the copy was most of the
-- table's bytes and of a rebuild's cost, and nothing but the fold read it. What the fold still
-- needs from the aggregate gets a column of its own, taken here from the stored state, so the
-- rows are right before the projection's new version rebuilds them.
ALTER TABLE payment_summaries
  -- When the buyer asked (the request's own time): processing time is measured from it.
  ADD COLUMN requested_at timestamptz,
  -- A dispute is open: the status stays `disputed` until it closes, whatever else happens.
  ADD COLUMN dispute_open boolean;

UPDATE payment_summaries
   SET requested_at = coalesce((state -> 'request' ->> 'requestedAt')::timestamptz, created_at),
       dispute_open = state ? 'dispute';

ALTER TABLE payment_summaries
  ALTER COLUMN requested_at SET NOT NULL,
  ALTER COLUMN dispute_open SET NOT NULL,
  DROP COLUMN state;
