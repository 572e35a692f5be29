-- Deadline claims carry the claiming poll's token. A claim's lease is short (3 s) and renewed
-- while the poller works (src/processmanagers/runtime/deadlines.ts); with the token, only the
-- poll that holds a claim renews it or records the deadline fired, retried or parked, so a poller
-- that lost its claim (it stalled past the lease, another took the row) changes nothing of it.
ALTER TABLE tessera_deadlines ADD COLUMN claim_token uuid;
