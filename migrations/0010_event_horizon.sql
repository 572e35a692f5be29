-- Only Tessera's own writers hold "$all" back.
--
-- 0001 let a reader pass events below the oldest transaction still running anywhere on the server
-- (pg_snapshot_xmin). That is safe but blind: a transaction in another database, or one of ours
-- that writes only other tables (a projection's batch, an idempotency key, a migration elsewhere)
-- held every subscription back for as long as it stayed open. tessera_events_horizon() answers the
-- first transaction id a reader may not pass: the oldest transaction that was running when the
-- reader's snapshot was taken and that may still add an event. Readers pass events whose
-- transaction_id is below it (and visible in the same snapshot, which it always is below it).
--
-- Why a reader can never skip an event (the argument the contract tests check):
--
-- 1. Every append takes its lock on tessera_events before its transaction has an id. An append
--    made on its own (autocommit, as the event store makes every one today) locks the table when
--    the INSERT opens it and gets its id when it writes the first row. A transaction that appends
--    among other writes must begin with `LOCK TABLE tessera_events IN ROW EXCLUSIVE MODE` at its
--    top level (not in a savepoint, which would give the lock back if rolled back).
--    So a transaction that may still add events, and that has an id, holds a lock on the table
--    stronger than the read locks (AccessShare, RowShare), until it ends.
-- 2. The reader takes its snapshot S. Events it can see were committed before S; their ids are
--    below S's xmax. A transaction that gets its id after S gets one at or above xmax, so it can
--    never add an event that sorts before one the reader sees.
-- 3. A transaction running at S is in S's xip list. The function then reads pg_locks once, later
--    than S, and after that asks which transactions still run (pg_xact_status). A transaction of
--    xip is skipped over (does not bound the horizon) only if, in that read, it held its own id's
--    lock and no write-strength lock on this database's tessera_events, and it still ran after the
--    read. A transaction lets go of its locks only after it has left the running set, so one that
--    still ran after the read held every lock it ever took during the read: it had not appended,
--    and having an id already, by (1) it never will. Every other transaction of xip bounds the
--    horizon: one that holds the table, one that ended meanwhile (it may have dropped its table
--    lock before its id's lock), one in two-phase commit that holds the table (its locks and its
--    id share a virtual transaction, which is what the two are matched by).
-- 4. So every event with transaction_id below the horizon was committed before S (it is visible)
--    or belongs to no transaction at all, and nothing can later appear below the horizon: the
--    reader's position only passes events that can have no earlier neighbour still to come.
--
-- A long transaction in another database, or one of ours writing other tables, holds no lock on
-- this tessera_events and no longer delays anybody. A transaction that appended (or locked the
-- table) and stays open still holds readers back, as it must. pg_locks is read only when some
-- transaction was running at S; on an idle server the answer is the snapshot's xmax.

CREATE FUNCTION tessera_events_horizon() RETURNS xid8
LANGUAGE plpgsql STABLE AS $$
DECLARE
  snapshot pg_snapshot := pg_current_snapshot();
  running xid8[];
  unlocked xid[];
  harmless xid8[];
BEGIN
  running := ARRAY(SELECT pg_snapshot_xip(snapshot));
  IF cardinality(running) = 0 THEN
    RETURN pg_snapshot_xmax(snapshot);
  END IF;
  -- One look at the lock table (read once: two reads could each see a transaction moving its
  -- locks to a prepared transaction's holder): transactions that have an id and no write lock on
  -- our table.
  WITH held AS MATERIALIZED (
    SELECT l.locktype, l.transactionid, l.virtualtransaction, l.database, l.relation, l.mode
      FROM pg_locks l WHERE l.granted AND l.locktype IN ('transactionid', 'relation')
  )
  SELECT array_agg(own.transactionid) INTO unlocked
    FROM held own
   WHERE own.locktype = 'transactionid' AND own.mode = 'ExclusiveLock'
     AND NOT EXISTS (
       SELECT 1 FROM held w
        WHERE w.locktype = 'relation'
          AND w.virtualtransaction = own.virtualtransaction
          AND w.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
          AND w.relation = 'tessera_events'::regclass
          AND w.mode NOT IN ('AccessShareLock', 'RowShareLock'))
     -- A prepared transaction always counts: its locks change hands while it is prepared.
     AND NOT EXISTS (SELECT 1 FROM pg_prepared_xacts p WHERE p.transaction = own.transactionid);
  -- Then, and only then, which of them still run. A transaction releases its locks only after it
  -- has left the running set, so one still running now held, when the locks were read, every lock
  -- it ever took; one that ended meanwhile may have let go of its table lock first, and bounds.
  harmless := ARRAY(
    SELECT r FROM unnest(running) AS r
     WHERE xid(r) = ANY (coalesce(unlocked, '{}')) AND pg_xact_status(r) = 'in progress');
  RETURN coalesce(
    (SELECT min(r) FROM unnest(running) AS r WHERE NOT (r = ANY (harmless))),
    pg_snapshot_xmax(snapshot));
END
$$;
