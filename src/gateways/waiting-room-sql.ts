import { randomUUID } from 'node:crypto';
import type {
  ActivityEntry,
  ActivityRow,
  Admission,
  Lapse,
  MemberView,
  RoomStats,
  TickOutcome,
  TokenRecord,
  TokenState,
  WaitingRoomActivityLog,
  WaitingRoomStore,
} from '../commands/waiting-room.js';
import { textArrayLiteral } from '../db/array-literal.js';
import type { SqlClient, SqlExecutor } from '../db/sql-client.js';
import { ACCESS_TOKEN_TTL_MS, admissionsNow, queueOrderKey, roomIdOf, type AdmissionRules, type Buyer, type RoomKey } from '../domain/waiting-room.js';

// bigint and double precision: strings from pg, numbers from PGlite.
type Num = string | number;

interface RoomRow {
  readonly next_seq: Num;
  readonly budget: Num | null;
  readonly budget_at: Num | null;
  readonly ticking: boolean;
}

interface MemberRow {
  readonly status: MemberView['status'];
  readonly order_key: Num;
  readonly joined_at: Num;
  readonly jti: string | null;
  readonly expires_at: Num | null;
}

/**
 * Waiting rooms in the SQL store (no Redis configured): a row per venue's event, its members and
 * tokens each a tenant's user (the same user id in two tenants is two buyers). Every call on a room runs in one
 * transaction that first locks the room's row, so calls on one room are serialized across every
 * instance (PostgreSQL) or connection (PGlite): a tick's admissions, a join's sequence number and
 * a buyer's place are exact. Consuming a token is one conditional UPDATE: of concurrent commands
 * exactly one finds it active.
 */
export function createSqlWaitingRoomStore(sql: SqlClient): WaitingRoomStore {
  /** Runs `work` holding the room's row lock; `create` makes the row first (a join). */
  const onRoom = <T>(room: RoomKey, create: boolean, work: (tx: SqlExecutor, id: string, row: RoomRow | undefined) => Promise<T>): Promise<T> =>
    sql.transaction(async (tx) => {
      const id = roomIdOf(room);
      if (create) {
        await tx.query('INSERT INTO tessera_waiting_rooms (room_id, venue_id, event_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [id, room.venueId, room.eventId]);
      }
      const { rows } = await tx.query<RoomRow>('SELECT next_seq, budget, budget_at, ticking FROM tessera_waiting_rooms WHERE room_id = $1 FOR UPDATE', [id]);
      return work(tx, id, rows[0]);
    });

  const tick = async (tx: SqlExecutor, id: string, row: RoomRow | undefined, rules: AdmissionRules, now: number): Promise<TickOutcome & { queueLength: number; active: number }> => {
    if (!row) return { admitted: [], lapsed: [], queueLength: 0, active: 0 };
    const { rows: lapsed } = await tx.query<{ jti: string; tenant_id: string; user_id: string }>(
      `WITH lapsed AS (
         UPDATE tessera_waiting_room_tokens SET state = 'expired'
          WHERE room_id = $1 AND state = 'active' AND expires_at <= $2 RETURNING jti, tenant_id, user_id, expires_at),
       moved AS (
         UPDATE tessera_waiting_room_members m SET status = 'expired' FROM lapsed l
          WHERE m.room_id = $1 AND m.tenant_id = l.tenant_id AND m.user_id = l.user_id AND m.jti = l.jti AND m.status = 'admitted')
       SELECT jti, tenant_id, user_id FROM lapsed ORDER BY expires_at, jti`,
      [id, now],
    );
    const { rows: counts } = await tx.query<{ active: Num; waiting: Num }>(
      `SELECT (SELECT count(*) FROM tessera_waiting_room_tokens WHERE room_id = $1 AND state = 'active') AS active,
              (SELECT count(*) FROM tessera_waiting_room_members WHERE room_id = $1 AND status = 'waiting') AS waiting`,
      [id],
    );
    const active = Number(counts[0]!.active);
    const waiting = Number(counts[0]!.waiting);
    const before = row.budget === null || row.budget_at === null ? undefined : { tokens: Number(row.budget), at: Number(row.budget_at) };
    const { count, budget } = admissionsNow(rules, { budget: before, active, waiting }, now);
    let admitted: Admission[] = [];
    if (count > 0) {
      const expiresAt = now + ACCESS_TOKEN_TTL_MS;
      // gen_random_uuid() draws from the server's cryptographic source: 122 random bits per jti.
      const { rows } = await tx.query<{ tenant_id: string; user_id: string; jti: string }>(
        `WITH next AS (
           SELECT tenant_id, user_id, order_key FROM tessera_waiting_room_members
            WHERE room_id = $1 AND status = 'waiting' ORDER BY order_key, tenant_id, user_id LIMIT $2),
         issued AS (
           INSERT INTO tessera_waiting_room_tokens (jti, room_id, tenant_id, user_id, issued_at, expires_at, state)
           SELECT replace(gen_random_uuid()::text, '-', ''), $1, tenant_id, user_id, $3, $4, 'active' FROM next
           RETURNING jti, tenant_id, user_id),
         moved AS (
           UPDATE tessera_waiting_room_members m SET status = 'admitted', jti = i.jti FROM issued i
            WHERE m.room_id = $1 AND m.tenant_id = i.tenant_id AND m.user_id = i.user_id)
         SELECT i.tenant_id, i.user_id, i.jti FROM issued i JOIN next n USING (tenant_id, user_id) ORDER BY n.order_key, i.tenant_id, i.user_id`,
        [id, count, now, expiresAt],
      );
      admitted = rows.map((r) => ({ tenantId: r.tenant_id, userId: r.user_id, jti: r.jti, expiresAt }));
    }
    // The row is written only when the tick changed it: a poll that admits nobody leaves the
    // budget as it was (refilling it later from there gives the same) and the timer's flag too.
    const ticking = waiting - count > 0 || active + count > 0;
    if (count > 0 || ticking !== row.ticking) {
      await tx.query('UPDATE tessera_waiting_rooms SET budget = $2, budget_at = $3, ticking = $4 WHERE room_id = $1', [
        id,
        count > 0 ? budget.tokens : row.budget,
        count > 0 ? budget.at : row.budget_at,
        ticking,
      ]);
    }
    const lapses: Lapse[] = lapsed.map((l) => ({ tenantId: l.tenant_id, userId: l.user_id, jti: l.jti }));
    return { admitted, lapsed: lapses, queueLength: waiting - admitted.length, active: active + admitted.length };
  };

  const memberOf = async (tx: SqlExecutor, id: string, buyer: Buyer): Promise<MemberView | undefined> => {
    const { rows } = await tx.query<MemberRow>(
      `SELECT m.status, m.order_key, m.joined_at, m.jti, t.expires_at
         FROM tessera_waiting_room_members m LEFT JOIN tessera_waiting_room_tokens t ON t.jti = m.jti
        WHERE m.room_id = $1 AND m.tenant_id = $2 AND m.user_id = $3`,
      [id, buyer.tenantId, buyer.userId],
    );
    const m = rows[0];
    if (!m) return undefined;
    if (m.status === 'waiting') {
      const { rows: ahead } = await tx.query<{ n: Num }>(
        `SELECT count(*) AS n FROM tessera_waiting_room_members
          WHERE room_id = $1 AND status = 'waiting' AND (order_key, tenant_id, user_id) < ($2::double precision, $3::text, $4::text)`,
        [id, Number(m.order_key), buyer.tenantId, buyer.userId],
      );
      return { status: 'waiting', position: Number(ahead[0]!.n) + 1, joinedAt: Number(m.joined_at) };
    }
    if (m.status === 'admitted') return { status: 'admitted', jti: m.jti!, expiresAt: Number(m.expires_at) };
    return { status: m.status, jti: m.jti! };
  };

  return {
    kind: 'sql',

    join: (room, rules, buyer, now, drawKey) =>
      onRoom(room, true, async (tx, id, row) => {
        const { rows } = await tx.query<{ status: string }>('SELECT status FROM tessera_waiting_room_members WHERE room_id = $1 AND tenant_id = $2 AND user_id = $3', [
          id,
          buyer.tenantId,
          buyer.userId,
        ]);
        const current = rows[0]?.status;
        const joined = current !== 'waiting' && current !== 'admitted';
        if (joined) {
          const seq = Number(row!.next_seq) + 1;
          await tx.query('UPDATE tessera_waiting_rooms SET next_seq = $2 WHERE room_id = $1', [id, seq]);
          await tx.query(
            `INSERT INTO tessera_waiting_room_members (room_id, tenant_id, user_id, status, order_key, joined_at)
             VALUES ($1, $2, $3, 'waiting', $4, $5)
             ON CONFLICT (room_id, tenant_id, user_id) DO UPDATE SET status = 'waiting', order_key = $4, joined_at = $5, jti = NULL`,
            [id, buyer.tenantId, buyer.userId, queueOrderKey(rules, seq, drawKey, now), now],
          );
        }
        const outcome = await tick(tx, id, row, rules, now);
        return { admitted: outcome.admitted, lapsed: outcome.lapsed, joined, member: (await memberOf(tx, id, buyer))! };
      }),

    status: (room, rules, buyer, now) =>
      onRoom(room, false, async (tx, id, row) => {
        const outcome = await tick(tx, id, row, rules, now);
        return { admitted: outcome.admitted, lapsed: outcome.lapsed, member: row ? await memberOf(tx, id, buyer) : undefined };
      }),

    leave: (room, rules, buyer, now) =>
      onRoom(room, false, async (tx, id, row) => {
        if (!row) return { admitted: [], lapsed: [], left: undefined };
        const { rows } = await tx.query<{ status: string; jti: string | null }>(
          `DELETE FROM tessera_waiting_room_members WHERE room_id = $1 AND tenant_id = $2 AND user_id = $3 AND status IN ('waiting', 'admitted') RETURNING status, jti`,
          [id, buyer.tenantId, buyer.userId],
        );
        const gone = rows[0];
        if (gone?.status === 'admitted') {
          await tx.query(`UPDATE tessera_waiting_room_tokens SET state = 'revoked' WHERE jti = $1 AND state = 'active'`, [gone.jti]);
        }
        const outcome = await tick(tx, id, row, rules, now);
        const left = gone ? { from: gone.status as 'waiting' | 'admitted', ...(gone.jti ? { jti: gone.jti } : {}) } : undefined;
        return { admitted: outcome.admitted, lapsed: outcome.lapsed, left };
      }),

    admit: (room, rules, now) => onRoom(room, false, (tx, id, row) => tick(tx, id, row, rules, now)),

    async token(jti) {
      const { rows } = await sql.query<TokenRow>(`${TOKEN_SELECT} WHERE t.jti = $1`, [jti], 'tessera_waiting_room_token');
      return rows[0] ? tokenOf(rows[0]) : undefined;
    },

    async consume(jti, commandId, now) {
      const { rows } = await sql.query<TokenRow>(
        `WITH used AS (
           UPDATE tessera_waiting_room_tokens SET state = 'consumed', command_id = $2
            WHERE jti = $1 AND state = 'active' AND expires_at > $3 RETURNING *),
         moved AS (
           UPDATE tessera_waiting_room_members m SET status = 'purchased' FROM used u
            WHERE m.room_id = u.room_id AND m.tenant_id = u.tenant_id AND m.user_id = u.user_id AND m.jti = u.jti AND m.status = 'admitted')
         SELECT t.jti, t.room_id, t.tenant_id, r.venue_id, r.event_id, t.user_id, t.expires_at, t.state, t.command_id
           FROM used t JOIN tessera_waiting_rooms r USING (room_id)`,
        [jti, commandId, now],
      );
      if (rows[0]) return { outcome: 'consumed', token: tokenOf(rows[0]) };
      const token = await this.token(jti);
      if (!token) return { outcome: 'refused', reason: 'unknown' };
      if (token.state === 'consumed') return token.commandId === commandId ? { outcome: 'again' } : { outcome: 'refused', reason: 'used' };
      return { outcome: 'refused', reason: token.state === 'revoked' ? 'revoked' : 'expired' };
    },

    revoke: (room, jti) =>
      onRoom(room, false, async (tx, id) => {
        const { rows } = await tx.query<{ state: TokenState; tenant_id: string; user_id: string }>(
          'SELECT state, tenant_id, user_id FROM tessera_waiting_room_tokens WHERE jti = $1 AND room_id = $2',
          [jti, id],
        );
        const token = rows[0];
        if (!token) return { outcome: 'not_found' };
        if (token.state !== 'active') return { outcome: 'not_active', state: token.state };
        await tx.query(`UPDATE tessera_waiting_room_tokens SET state = 'revoked' WHERE jti = $1`, [jti]);
        await tx.query(`UPDATE tessera_waiting_room_members SET status = 'revoked' WHERE room_id = $1 AND tenant_id = $2 AND user_id = $3 AND jti = $4`, [
          id,
          token.tenant_id,
          token.user_id,
          jti,
        ]);
        return { outcome: 'revoked', tenantId: token.tenant_id, userId: token.user_id };
      }),

    async stats(room, now): Promise<RoomStats> {
      const { rows } = await sql.query<{ queue: Num; active: Num; in_use: Num; recent: Num }>(
        `SELECT (SELECT count(*) FROM tessera_waiting_room_members WHERE room_id = $1 AND status = 'waiting') AS queue,
                (SELECT count(*) FROM tessera_waiting_room_tokens WHERE room_id = $1 AND state = 'active' AND expires_at > $2) AS active,
                (SELECT count(*) FROM tessera_waiting_room_tokens WHERE room_id = $1 AND state IN ('active', 'consumed') AND expires_at > $2) AS in_use,
                (SELECT count(*) FROM tessera_waiting_room_tokens WHERE room_id = $1 AND issued_at > $2 - 60000) AS recent`,
        [roomIdOf(room), now],
      );
      const r = rows[0]!;
      return { queueLength: Number(r.queue), active: Number(r.active), tokensInUse: Number(r.in_use), admittedLastMinute: Number(r.recent) };
    },

    async rooms() {
      const { rows } = await sql.query<{ venue_id: string; event_id: string }>('SELECT venue_id, event_id FROM tessera_waiting_rooms WHERE ticking');
      return rows.map((r) => ({ venueId: r.venue_id, eventId: r.event_id }));
    },

    async forget(room) {
      await sql.query('UPDATE tessera_waiting_rooms SET ticking = false WHERE room_id = $1 AND ticking', [roomIdOf(room)]);
    },
  };
}

interface TokenRow {
  readonly jti: string;
  readonly room_id: string;
  readonly tenant_id: string;
  readonly venue_id: string;
  readonly event_id: string;
  readonly user_id: string;
  readonly expires_at: Num;
  readonly state: TokenState;
  readonly command_id: string | null;
}

const TOKEN_SELECT = `SELECT t.jti, t.room_id, t.tenant_id, r.venue_id, r.event_id, t.user_id, t.expires_at, t.state, t.command_id
  FROM tessera_waiting_room_tokens t JOIN tessera_waiting_rooms r USING (room_id)`;

const tokenOf = (r: TokenRow): TokenRecord => ({
  jti: r.jti,
  roomId: r.room_id,
  tenantId: r.tenant_id,
  venueId: r.venue_id,
  eventId: r.event_id,
  userId: r.user_id,
  expiresAt: Number(r.expires_at),
  state: r.state,
  ...(r.command_id === null ? {} : { commandId: r.command_id }),
});

/** Rows per INSERT at most; a larger batch is written in several. */
const ACTIVITY_BATCH = 2_000;

/**
 * The activity log in SQL (both modes). Writes are group-committed: entries recorded while a
 * write is in flight go together in the next one, one INSERT of unnested arrays, and each caller
 * resolves once its entries are committed. So a burst of admissions costs a few statements, not
 * one per buyer, and nobody is answered before their row is durable.
 */
export function createSqlActivityLog(sql: SqlClient): WaitingRoomActivityLog {
  let queued: { entry: ActivityEntry; done: { resolve: () => void; reject: (error: unknown) => void } }[] = [];
  let writing = false;

  const write = async (entries: readonly ActivityEntry[]) => {
    await sql.query(
      `INSERT INTO waiting_room_activity (id, tenant_id, venue_id, event_id, user_id, action, metadata, "timestamp")
       SELECT * FROM unnest($1::text::uuid[], $2::text::text[], $3::text::text[], $4::text::text[], $5::text::text[], $6::text::text[], $7::text::jsonb[], $8::text::timestamptz[])`,
      [
        textArrayLiteral(entries.map(() => randomUUID())),
        textArrayLiteral(entries.map((e) => e.tenantId)),
        textArrayLiteral(entries.map((e) => e.venueId)),
        textArrayLiteral(entries.map((e) => e.eventId)),
        textArrayLiteral(entries.map((e) => e.userId)),
        textArrayLiteral(entries.map((e) => e.action)),
        textArrayLiteral(entries.map((e) => JSON.stringify(e.metadata))),
        textArrayLiteral(entries.map((e) => e.at.toISOString())),
      ],
    );
  };

  const drain = async () => {
    writing = true;
    while (queued.length > 0) {
      const batch = queued.slice(0, ACTIVITY_BATCH);
      queued = queued.slice(batch.length);
      try {
        await write(batch.map((q) => q.entry));
        for (const q of batch) q.done.resolve();
      } catch (error) {
        for (const q of batch) q.done.reject(error);
      }
    }
    writing = false;
  };

  return {
    record(entries) {
      if (entries.length === 0) return Promise.resolve();
      const all = entries.map(
        (entry) =>
          new Promise<void>((resolve, reject) => {
            queued.push({ entry, done: { resolve, reject } });
          }),
      );
      if (!writing) void drain();
      return Promise.all(all).then(() => undefined);
    },

    async list(room, page) {
      const { rows } = await sql.query<{
        id: string;
        seq: Num;
        tenant_id: string;
        user_id: string;
        action: ActivityEntry['action'];
        metadata: ActivityEntry['metadata'];
        timestamp: Date | string;
      }>(
        `SELECT id, seq, tenant_id, user_id, action, metadata, "timestamp" FROM waiting_room_activity
          WHERE venue_id = $1 AND event_id = $2 AND ($3::bigint IS NULL OR seq < $3::bigint)
          ORDER BY seq DESC LIMIT $4`,
        [room.venueId, room.eventId, page.before ?? null, page.limit],
      );
      return rows.map((r): ActivityRow => ({ venueId: room.venueId, eventId: room.eventId, id: r.id, seq: Number(r.seq), tenantId: r.tenant_id, userId: r.user_id, action: r.action, metadata: r.metadata, at: new Date(r.timestamp) }));
    },
  };
}
