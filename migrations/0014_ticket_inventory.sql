-- On-sales that hold (issue 21): every ticket a purchase or a group takes, counted where all API
-- instances see it, so capacity and purchase limits hold under any concurrency
-- (src/gateways/ticket-inventory-sql.ts). Counts are kept per event at a venue (`scope`) for each
-- ticket type, and for each user, payment method and address that bought there; a hold is one
-- purchase's share of them, reserved, sold, or released (failed, expired, cancelled, refunded).
CREATE TABLE tessera_inventory_counts (
  scope text NOT NULL,
  -- 'ticket_type' | 'user' | 'payment_method' | 'address'
  kind text NOT NULL,
  key text NOT NULL,
  held integer NOT NULL DEFAULT 0 CHECK (held >= 0),
  sold integer NOT NULL DEFAULT 0 CHECK (sold >= 0),
  PRIMARY KEY (scope, kind, key)
);

CREATE TABLE tessera_inventory_holds (
  -- The payment's or the group's id: reserving is idempotent by it.
  id text PRIMARY KEY,
  scope text NOT NULL,
  -- The stream the purchase is written to: a hold whose stream never appeared (the process died
  -- between reserving and writing) is released by the sweep.
  stream_id text NOT NULL,
  -- [{ kind, key, quantity }]
  items jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('held', 'sold', 'released')),
  -- The sweep found the stream: the purchase's own events release or sell it from then on.
  confirmed boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE INDEX tessera_inventory_holds_unconfirmed ON tessera_inventory_holds (created_at) WHERE NOT confirmed AND status <> 'released';

-- Locks a hold's counters in one order (kind, key), so concurrent holds never deadlock.
CREATE FUNCTION tessera_inventory_lock(p_scope text, p_items jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1
  FROM tessera_inventory_counts c
  JOIN jsonb_array_elements(p_items) i ON c.scope = p_scope AND c.kind = i->>'kind' AND c.key = i->>'key'
  ORDER BY c.kind, c.key
  FOR UPDATE OF c;
END $$;

-- Reserves a purchase's tickets: p_items is [{ kind, key, quantity, max }] (max null: unbounded),
-- p_order_max the tickets one order may take (null: unbounded). Answers
-- { status: 'reserved' } | { status: 'known' } (a hold with this id is held or sold: a retry) |
-- { status: 'refused', kind, key, max, taken } (nothing recorded). Counted as held + sold, so a
-- limit or a capacity holds across pending and paid purchases alike. A released hold is reserved
-- afresh, checked like a new one: a request retried after its first attempt failed (and gave its
-- tickets back) must not be written uncounted.
CREATE FUNCTION tessera_inventory_reserve(p_id text, p_scope text, p_stream text, p_items jsonb, p_order_max integer, p_now timestamptz)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
  r record;
  v_status text;
  v_new boolean := false;
  v_inserted integer;
  v_order integer;
BEGIN
  SELECT status INTO v_status FROM tessera_inventory_holds WHERE id = p_id FOR UPDATE;
  IF FOUND AND v_status <> 'released' THEN
    RETURN jsonb_build_object('status', 'known');
  END IF;
  IF NOT FOUND THEN
    INSERT INTO tessera_inventory_holds (id, scope, stream_id, items, status, created_at, updated_at)
    VALUES (p_id, p_scope, p_stream, p_items, 'held', p_now, p_now)
    ON CONFLICT (id) DO NOTHING;
    GET DIAGNOSTICS v_inserted = ROW_COUNT;
    -- Another call with this id got here first: whatever it decided stands.
    IF v_inserted = 0 THEN
      RETURN jsonb_build_object('status', 'known');
    END IF;
    v_new := true;
  END IF;
  SELECT coalesce(sum((i->>'quantity')::integer), 0) INTO v_order
  FROM jsonb_array_elements(p_items) i WHERE i->>'kind' = 'ticket_type';
  IF p_order_max IS NOT NULL AND v_order > p_order_max THEN
    IF v_new THEN DELETE FROM tessera_inventory_holds WHERE id = p_id; END IF;
    RETURN jsonb_build_object('status', 'refused', 'kind', 'order', 'key', p_id, 'max', p_order_max, 'taken', 0);
  END IF;
  -- Counter rows are created in the lock's order too, so two first orders cannot deadlock.
  INSERT INTO tessera_inventory_counts (scope, kind, key)
  SELECT p_scope, i->>'kind', i->>'key' FROM jsonb_array_elements(p_items) i
  ORDER BY i->>'kind', i->>'key'
  ON CONFLICT DO NOTHING;
  PERFORM tessera_inventory_lock(p_scope, p_items);
  FOR r IN
    SELECT c.kind, c.key, c.held + c.sold AS taken, (i->>'quantity')::integer AS quantity, (i->>'max')::integer AS max
    FROM tessera_inventory_counts c
    JOIN jsonb_array_elements(p_items) i ON c.scope = p_scope AND c.kind = i->>'kind' AND c.key = i->>'key'
    -- Several refusing at once, the buyer's own limits are named before the ticket type's capacity.
    ORDER BY CASE c.kind WHEN 'user' THEN 0 WHEN 'payment_method' THEN 1 WHEN 'address' THEN 2 ELSE 3 END, c.key
  LOOP
    IF r.max IS NOT NULL AND r.taken + r.quantity > r.max THEN
      IF v_new THEN DELETE FROM tessera_inventory_holds WHERE id = p_id; END IF;
      RETURN jsonb_build_object('status', 'refused', 'kind', r.kind, 'key', r.key, 'max', r.max, 'taken', r.taken);
    END IF;
  END LOOP;
  UPDATE tessera_inventory_counts c SET held = c.held + (i->>'quantity')::integer
  FROM jsonb_array_elements(p_items) i
  WHERE c.scope = p_scope AND c.kind = i->>'kind' AND c.key = i->>'key';
  IF NOT v_new THEN
    UPDATE tessera_inventory_holds
    SET scope = p_scope, stream_id = p_stream, items = p_items, status = 'held', confirmed = false, created_at = p_now, updated_at = p_now
    WHERE id = p_id;
  END IF;
  RETURN jsonb_build_object('status', 'reserved');
END $$;

-- Moves a hold to p_status ('sold' or 'released') and its tickets with it: held -> sold, or back
-- out of the counts. Idempotent: a released hold stays released, a sold one is not sold again.
-- Answers 'changed', 'unchanged', or 'recounted': a released hold sold after all (its purchase was
-- slower to be written than the sweep waits) is counted as sold again, capacity or not, so the
-- counts stay true to what was sold.
CREATE FUNCTION tessera_inventory_settle(p_id text, p_status text, p_now timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  v_scope text;
  v_status text;
  v_items jsonb;
BEGIN
  SELECT scope, status, items INTO v_scope, v_status, v_items FROM tessera_inventory_holds WHERE id = p_id FOR UPDATE;
  IF NOT FOUND OR v_status = p_status OR (v_status = 'released' AND p_status <> 'sold') THEN
    RETURN 'unchanged';
  END IF;
  PERFORM tessera_inventory_lock(v_scope, v_items);
  UPDATE tessera_inventory_counts c
  SET held = c.held - CASE WHEN v_status = 'held' THEN (i->>'quantity')::integer ELSE 0 END,
      sold = c.sold - CASE WHEN v_status = 'sold' THEN (i->>'quantity')::integer ELSE 0 END
                    + CASE WHEN p_status = 'sold' THEN (i->>'quantity')::integer ELSE 0 END
  FROM jsonb_array_elements(v_items) i
  WHERE c.scope = v_scope AND c.kind = i->>'kind' AND c.key = i->>'key';
  UPDATE tessera_inventory_holds SET status = p_status, confirmed = true, updated_at = p_now WHERE id = p_id;
  RETURN CASE WHEN v_status = 'released' THEN 'recounted' ELSE 'changed' END;
END $$;
