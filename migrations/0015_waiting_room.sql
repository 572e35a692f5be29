-- Waiting rooms (issue 21) when no Redis is configured (src/gateways/waiting-room-sql.ts): one
-- row per room (a venue's event: every tenant selling it shares its capacity and release rate),
-- locked by every call on the room so admissions from any number of instances are serialized; a
-- buyer's place (a tenant's user); the tokens issued. The activity log (seed 003's
-- waiting_room_activity, with tenant and venue) is written in both modes.
CREATE TABLE tessera_waiting_rooms (
  room_id text PRIMARY KEY,
  venue_id text NOT NULL,
  event_id text NOT NULL,
  -- The join sequence: first come, first admitted.
  next_seq bigint NOT NULL DEFAULT 0,
  -- The release budget (src/domain/waiting-room.ts); NULL: never spent, full.
  budget double precision,
  budget_at bigint,
  -- On the admission timer's list: buyers were waiting or admitted at the last tick, and the
  -- room was not switched off since.
  ticking boolean NOT NULL DEFAULT false
);
CREATE INDEX tessera_waiting_rooms_ticking ON tessera_waiting_rooms (room_id) WHERE ticking;

-- status: waiting, admitted (jti: its token), purchased, expired, revoked (the last token's fate).
CREATE TABLE tessera_waiting_room_members (
  room_id text NOT NULL REFERENCES tessera_waiting_rooms (room_id),
  tenant_id text NOT NULL,
  user_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('waiting', 'admitted', 'purchased', 'expired', 'revoked')),
  order_key double precision NOT NULL,
  joined_at bigint NOT NULL,
  jti text,
  PRIMARY KEY (room_id, tenant_id, user_id)
);
CREATE INDEX tessera_waiting_room_queue ON tessera_waiting_room_members (room_id, order_key, tenant_id, user_id) WHERE status = 'waiting';

-- Times are epoch milliseconds, as the callers' clocks give them.
CREATE TABLE tessera_waiting_room_tokens (
  jti text PRIMARY KEY,
  room_id text NOT NULL REFERENCES tessera_waiting_rooms (room_id),
  tenant_id text NOT NULL,
  user_id text NOT NULL,
  issued_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  state text NOT NULL CHECK (state IN ('active', 'consumed', 'revoked', 'expired')),
  command_id text
);
CREATE INDEX tessera_waiting_room_tokens_active ON tessera_waiting_room_tokens (room_id, expires_at) WHERE state = 'active';
CREATE INDEX tessera_waiting_room_tokens_issued ON tessera_waiting_room_tokens (room_id, issued_at);

CREATE TABLE waiting_room_activity (
  id uuid PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  tenant_id text NOT NULL,
  venue_id text NOT NULL,
  event_id text NOT NULL,
  user_id text NOT NULL,
  action text NOT NULL CHECK (action IN ('joined', 'admitted', 'abandoned', 'purchased')),
  metadata jsonb NOT NULL DEFAULT '{}',
  "timestamp" timestamptz NOT NULL
);
-- A room's activity is read for the venue: every tenant's buyers in it.
CREATE INDEX waiting_room_activity_room ON waiting_room_activity (venue_id, event_id, seq DESC);
