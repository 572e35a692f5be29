-- Fraud and risk (issue 20): the purchases the risk assessment counted, when no Redis is
-- configured (src/gateways/risk-features-sql.ts). One row per assessed purchase (its payment id).
-- Windows are fixed lengths (an hour is 60 minutes, a day 24 hours, a week 168, whatever the
-- session's time zone) and look back at most 30 days (720 hours), as do the distinct counts and
-- newDevice; a user's history (count, amount sum, first seen) and the per-event ticket cap read
-- every row the user has, and what tessera_risk_purge has folded into the two tables below.
CREATE TABLE tessera_risk_observations (
  id text PRIMARY KEY,
  at timestamptz NOT NULL,
  user_id text NOT NULL,
  ip text,
  card text NOT NULL,
  device text,
  event_id text NOT NULL,
  tickets integer NOT NULL,
  amount bigint NOT NULL,
  -- The payment ended unpaid: its tickets no longer count toward the per-event cap.
  tickets_released boolean NOT NULL DEFAULT false
);
CREATE INDEX tessera_risk_observations_at ON tessera_risk_observations (at);
CREATE INDEX tessera_risk_observations_user ON tessera_risk_observations (user_id, at);
CREATE INDEX tessera_risk_observations_ip ON tessera_risk_observations (ip, at) WHERE ip IS NOT NULL;
CREATE INDEX tessera_risk_observations_card ON tessera_risk_observations (card, at);
CREATE INDEX tessera_risk_observations_device ON tessera_risk_observations (device, at) WHERE device IS NOT NULL;
CREATE INDEX tessera_risk_observations_event ON tessera_risk_observations (event_id, at);
CREATE INDEX tessera_risk_observations_event_user ON tessera_risk_observations (event_id, user_id);

-- What purged rows leave behind: a user's history and a user's tickets per event, which look
-- back further than the rows are kept (an account's age, a cap for an on-sale that runs for
-- months), so a purge changes no count the store answers.
CREATE TABLE tessera_risk_user_history (
  user_id text PRIMARY KEY,
  purchases bigint NOT NULL,
  amount_sum bigint NOT NULL,
  first_seen timestamptz NOT NULL
);
CREATE TABLE tessera_risk_event_tickets (
  event_id text NOT NULL,
  user_id text NOT NULL,
  tickets bigint NOT NULL,
  PRIMARY KEY (event_id, user_id)
);

-- Counts one purchase's features and records it only if every velocity limit holds, in one
-- statement. Exact under concurrency: observers of the same user, card or address take the same
-- transaction-level advisory locks (in key order, so two never wait on each other in a circle)
-- before they count, so of 20 concurrent purchases by one user exactly the limit get in.
-- Idempotent by id: a retried purchase is counted once. p_limits: user hour, day, week; address
-- minute, hour; card day; users per card; tickets per event per user.
CREATE FUNCTION tessera_risk_observe(
  p_id text, p_at timestamptz, p_user text, p_ip text, p_card text, p_device text,
  p_event text, p_tickets integer, p_amount bigint, p_limits bigint[]
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  known boolean;
  c jsonb;
  within boolean;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(k, 0))
     FROM unnest(ARRAY['tessera:risk:u:' || p_user, 'tessera:risk:c:' || p_card] ||
                 CASE WHEN p_ip IS NULL THEN ARRAY[]::text[] ELSE ARRAY['tessera:risk:i:' || p_ip] END) AS k
    ORDER BY k;
  known := EXISTS (SELECT 1 FROM tessera_risk_observations WHERE id = p_id);
  -- NOT MATERIALIZED: each count below reads `others` through its own index (user, address,
  -- card, device, event); materialized, every purchase would read the whole last 30 days.
  WITH others AS NOT MATERIALIZED (SELECT * FROM tessera_risk_observations WHERE id <> p_id AND at > p_at - interval '720 hours'),
  mine AS NOT MATERIALIZED (SELECT * FROM tessera_risk_observations WHERE user_id = p_user AND id <> p_id),
  history AS (SELECT * FROM tessera_risk_user_history WHERE user_id = p_user)
  SELECT jsonb_build_object(
    'userHour', 1 + (SELECT count(*) FROM others WHERE user_id = p_user AND at > p_at - interval '1 hour'),
    'userDay', 1 + (SELECT count(*) FROM others WHERE user_id = p_user AND at > p_at - interval '24 hours'),
    'userWeek', 1 + (SELECT count(*) FROM others WHERE user_id = p_user AND at > p_at - interval '168 hours'),
    'ipMinute', CASE WHEN p_ip IS NULL THEN 0 ELSE 1 + (SELECT count(*) FROM others WHERE ip = p_ip AND at > p_at - interval '1 minute') END,
    'ipHour', CASE WHEN p_ip IS NULL THEN 0 ELSE 1 + (SELECT count(*) FROM others WHERE ip = p_ip AND at > p_at - interval '1 hour') END,
    'cardDay', 1 + (SELECT count(*) FROM others WHERE card = p_card AND at > p_at - interval '24 hours'),
    'cardUsers', 1 + (SELECT count(DISTINCT user_id) FROM others WHERE card = p_card AND user_id <> p_user),
    'eventTickets', p_tickets + (SELECT coalesce(sum(tickets), 0) FROM mine WHERE event_id = p_event AND NOT tickets_released)
                              + coalesce((SELECT tickets FROM tessera_risk_event_tickets WHERE event_id = p_event AND user_id = p_user), 0),
    'eventTenMinutes', 1 + (SELECT count(*) FROM others WHERE event_id = p_event AND at > p_at - interval '10 minutes'),
    'deviceUsers', CASE WHEN p_device IS NULL THEN 0 ELSE 1 + (SELECT count(DISTINCT user_id) FROM others WHERE device = p_device AND user_id <> p_user) END,
    'userDevices', (p_device IS NOT NULL)::int + (SELECT count(DISTINCT device) FROM others WHERE user_id = p_user AND device IS NOT NULL AND device IS DISTINCT FROM p_device),
    'newDevice', p_device IS NOT NULL AND NOT EXISTS (SELECT 1 FROM others WHERE user_id = p_user AND device = p_device),
    'userPurchases', (SELECT count(*) FROM mine) + coalesce((SELECT purchases FROM history), 0),
    'userAmountSum', (SELECT coalesce(sum(amount), 0) FROM mine) + coalesce((SELECT amount_sum FROM history), 0),
    'userFirstSeen', least((SELECT min(at) FROM mine), (SELECT first_seen FROM history))
  ) INTO c;
  within := (c->>'userHour')::bigint <= p_limits[1] AND (c->>'userDay')::bigint <= p_limits[2] AND (c->>'userWeek')::bigint <= p_limits[3]
        AND (c->>'ipMinute')::bigint <= p_limits[4] AND (c->>'ipHour')::bigint <= p_limits[5] AND (c->>'cardDay')::bigint <= p_limits[6]
        AND (c->>'cardUsers')::bigint <= p_limits[7] AND (c->>'eventTickets')::bigint <= p_limits[8];
  IF within AND NOT known THEN
    INSERT INTO tessera_risk_observations (id, at, user_id, ip, card, device, event_id, tickets, amount)
    VALUES (p_id, p_at, p_user, p_ip, p_card, p_device, p_event, p_tickets, p_amount)
    ON CONFLICT (id) DO NOTHING;
  END IF;
  RETURN c || jsonb_build_object('recorded', within OR known, 'known', known);
END $$;

-- Deletes the purchases before p_before and folds them into the user's history and the user's
-- tickets per event (released tickets stay released), in one statement: an observer sees them
-- either as rows or as history, never neither. With a cut-off more than 30 days back, no count
-- changes; forgetting or releasing a purged purchase does nothing. Answers how many rows went.
CREATE FUNCTION tessera_risk_purge(p_before timestamptz) RETURNS bigint LANGUAGE sql AS $$
  WITH gone AS (
    DELETE FROM tessera_risk_observations WHERE at < p_before
    RETURNING user_id, event_id, at, amount, tickets, tickets_released
  ),
  users AS (
    INSERT INTO tessera_risk_user_history AS h (user_id, purchases, amount_sum, first_seen)
    SELECT user_id, count(*), sum(amount), min(at) FROM gone GROUP BY user_id
    ON CONFLICT (user_id) DO UPDATE SET purchases = h.purchases + excluded.purchases,
                                        amount_sum = h.amount_sum + excluded.amount_sum,
                                        first_seen = least(h.first_seen, excluded.first_seen)
  ),
  tickets AS (
    INSERT INTO tessera_risk_event_tickets AS t (event_id, user_id, tickets)
    SELECT event_id, user_id, sum(tickets) FROM gone WHERE NOT tickets_released GROUP BY event_id, user_id
    ON CONFLICT (event_id, user_id) DO UPDATE SET tickets = t.tickets + excluded.tickets
  )
  SELECT count(*) FROM gone
$$;
