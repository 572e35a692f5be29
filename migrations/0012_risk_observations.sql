-- Fraud and risk (issue 20): the purchases the risk assessment counted, when no Redis is
-- configured (src/gateways/risk-features-sql.ts). One row per assessed purchase (its payment id).
-- Windows and distinct counts look back at most 30 days; a user's history (count, average
-- amount, first seen) reads every row the user has.
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
CREATE INDEX tessera_risk_observations_user ON tessera_risk_observations (user_id, at);
CREATE INDEX tessera_risk_observations_ip ON tessera_risk_observations (ip, at) WHERE ip IS NOT NULL;
CREATE INDEX tessera_risk_observations_card ON tessera_risk_observations (card, at);
CREATE INDEX tessera_risk_observations_device ON tessera_risk_observations (device, at) WHERE device IS NOT NULL;
CREATE INDEX tessera_risk_observations_event ON tessera_risk_observations (event_id, at);
CREATE INDEX tessera_risk_observations_event_user ON tessera_risk_observations (event_id, user_id);

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
  WITH others AS (SELECT * FROM tessera_risk_observations WHERE id <> p_id AND at > p_at - interval '30 days')
  SELECT jsonb_build_object(
    'userHour', 1 + (SELECT count(*) FROM others WHERE user_id = p_user AND at > p_at - interval '1 hour'),
    'userDay', 1 + (SELECT count(*) FROM others WHERE user_id = p_user AND at > p_at - interval '1 day'),
    'userWeek', 1 + (SELECT count(*) FROM others WHERE user_id = p_user AND at > p_at - interval '7 days'),
    'ipMinute', CASE WHEN p_ip IS NULL THEN 0 ELSE 1 + (SELECT count(*) FROM others WHERE ip = p_ip AND at > p_at - interval '1 minute') END,
    'ipHour', CASE WHEN p_ip IS NULL THEN 0 ELSE 1 + (SELECT count(*) FROM others WHERE ip = p_ip AND at > p_at - interval '1 hour') END,
    'cardDay', 1 + (SELECT count(*) FROM others WHERE card = p_card AND at > p_at - interval '1 day'),
    'cardUsers', 1 + (SELECT count(DISTINCT user_id) FROM others WHERE card = p_card AND user_id <> p_user),
    'eventTickets', p_tickets + (SELECT coalesce(sum(tickets), 0) FROM tessera_risk_observations
                                  WHERE event_id = p_event AND user_id = p_user AND id <> p_id AND NOT tickets_released),
    'eventTenMinutes', 1 + (SELECT count(*) FROM others WHERE event_id = p_event AND at > p_at - interval '10 minutes'),
    'deviceUsers', CASE WHEN p_device IS NULL THEN 0 ELSE 1 + (SELECT count(DISTINCT user_id) FROM others WHERE device = p_device AND user_id <> p_user) END,
    'userDevices', (p_device IS NOT NULL)::int + (SELECT count(DISTINCT device) FROM others WHERE user_id = p_user AND device IS NOT NULL AND device IS DISTINCT FROM p_device),
    'newDevice', p_device IS NOT NULL AND NOT EXISTS (SELECT 1 FROM tessera_risk_observations WHERE user_id = p_user AND device = p_device AND id <> p_id),
    'userPurchases', (SELECT count(*) FROM tessera_risk_observations WHERE user_id = p_user AND id <> p_id),
    'userAmountSum', (SELECT coalesce(sum(amount), 0) FROM tessera_risk_observations WHERE user_id = p_user AND id <> p_id),
    'userFirstSeen', (SELECT min(at) FROM tessera_risk_observations WHERE user_id = p_user AND id <> p_id)
  ) INTO c;
  within := (c->>'userHour')::bigint <= p_limits[1] AND (c->>'userDay')::bigint <= p_limits[2] AND (c->>'userWeek')::bigint <= p_limits[3]
        AND (c->>'ipMinute')::bigint <= p_limits[4] AND (c->>'ipHour')::bigint <= p_limits[5] AND (c->>'cardDay')::bigint <= p_limits[6]
        AND (c->>'cardUsers')::bigint <= p_limits[7] AND (c->>'eventTickets')::bigint <= p_limits[8];
  IF within AND NOT known THEN
    INSERT INTO tessera_risk_observations (id, at, user_id, ip, card, device, event_id, tickets, amount)
    VALUES (p_id, p_at, p_user, p_ip, p_card, p_device, p_event, p_tickets, p_amount);
  END IF;
  RETURN c || jsonb_build_object('recorded', within OR known);
END $$;
