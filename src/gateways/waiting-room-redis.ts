import { randomBytes } from 'node:crypto';
import type { Redis, Result } from 'ioredis';
import type { Admission, ConsumeOutcome, Lapse, MemberView, RevokeOutcome, RoomStats, TokenRecord, TokenState, WaitingRoomStore } from '../commands/waiting-room.js';
import {
  ACCESS_TOKEN_TTL_MS,
  MAX_ADMISSIONS_PER_CALL,
  buyerKeyOf,
  buyerOfKey,
  releaseBurst,
  roomIdOf,
  type AdmissionRules,
  type RoomKey,
} from '../domain/waiting-room.js';

/** How long a token's record outlives its expiry: a late retry of its purchase still finds it. */
const TOKEN_RETENTION_MS = 86_400_000;
/** A room's keys expire this long after its last call (a tick refreshes them). */
const ROOM_IDLE_MS = 7 * 86_400_000;

/**
 * Every script starts with this: the room's keys and the tick, the Lua twin of
 * src/domain/waiting-room.ts (admissionsNow, queueOrderKey), which the contract suite holds to
 * the SQL store's answers. A room is a venue's event; a buyer in it is named by their key,
 * buyerKeyOf: the JSON pair [tenant, user], never parsed here. Keys, under `<prefix>wr:`:
 *   <room>:q     zset, waiting buyers by order key (join sequence; a draw's early joiners below 0)
 *   <room>:m     hash, buyer -> w | a|<jti> | p|<jti> | x|<jti> | r|<jti> (waiting, admitted,
 *                purchased, expired, revoked)
 *   <room>:a     zset, active tokens by expiry (the capacity in use)
 *   <room>:c     zset, consumed tokens by expiry (tokens in use)
 *   <room>:r     zset, tokens issued in the last minute, by issue time
 *   <room>:b     hash, the release budget: tokens, at
 *   <room>:seq   the join sequence
 *   t:<jti>      hash, the token: room, venue, event, buyer (its key), exp, state, cmd
 *   rooms        set of the rooms with buyers in them at their last tick, each a JSON of its key
 *                (the timer's list; a room switched off is taken off it)
 * A room's keys expire a week after its last tick; a token's record a day after the token.
 * ARGV: prefix, room id, now (ms), the room's JSON, then the script's own. A call touches one
 * room and its tokens, so the store needs one Redis, not a cluster. Redis runs a script alone:
 * concurrent calls from any number of instances are serialized.
 */
const PRELUDE = `
local P, room, now, entry = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local R = P .. room .. ':'
local Q, M, A, C, RECENT, B = R .. 'q', R .. 'm', R .. 'a', R .. 'c', R .. 'r', R .. 'b'
local TTL, RETAIN, MAXN, IDLE = ${ACCESS_TOKEN_TTL_MS}, ${TOKEN_RETENTION_MS}, ${MAX_ADMISSIONS_PER_CALL}, ${ROOM_IDLE_MS}
local function tk(jti) return P .. 't:' .. jti end
local function num(x) return string.format('%.17g', x) end
-- Lapses tokens past expiry, then admits the next buyers in order as the budget and capacity allow.
local function tick(capacity, rate, burst, opensAt, seed)
  local lapsed, admitted = {}, {}
  for _, jti in ipairs(redis.call('ZRANGEBYSCORE', A, '-inf', now, 'LIMIT', 0, MAXN)) do
    local buyer = redis.call('HGET', tk(jti), 'buyer')
    redis.call('HSET', tk(jti), 'state', 'expired')
    redis.call('ZREM', A, jti)
    if buyer then
      if redis.call('HGET', M, buyer) == 'a|' .. jti then redis.call('HSET', M, buyer, 'x|' .. jti) end
      lapsed[#lapsed + 1] = {buyer, jti}
    end
  end
  redis.call('ZREMRANGEBYSCORE', C, '-inf', now)
  redis.call('ZREMRANGEBYSCORE', RECENT, '-inf', now - 60000)
  local active, waiting = redis.call('ZCARD', A), redis.call('ZCARD', Q)
  local b = redis.call('HMGET', B, 'tokens', 'at')
  local tokens, at = burst, now
  if b[1] and b[2] then
    local before = tonumber(b[2])
    local elapsed = now - before
    if elapsed < 0 then elapsed = 0 end
    tokens = math.min(burst, tonumber(b[1]) + elapsed * rate / 60000)
    at = math.max(before, now)
  end
  local n = 0
  if opensAt < 0 or now >= opensAt then
    n = math.max(0, math.min(math.floor(tokens), capacity - active, waiting, MAXN))
  end
  if n > 0 then
    local popped = redis.call('ZPOPMIN', Q, n)
    local exp = now + TTL
    local info = cjson.decode(entry)
    for i = 1, #popped, 2 do
      local buyer = popped[i]
      -- 128 bits of SHA-1 over a fresh 256-bit random seed from the caller and the admission's index.
      local jti = string.sub(redis.sha1hex(seed .. ':' .. i), 1, 32)
      redis.call('HSET', tk(jti), 'room', room, 'venue', info.venueId, 'event', info.eventId,
        'buyer', buyer, 'exp', exp, 'state', 'active')
      redis.call('PEXPIRE', tk(jti), TTL + RETAIN)
      redis.call('ZADD', A, exp, jti)
      redis.call('ZADD', RECENT, now, jti)
      redis.call('HSET', M, buyer, 'a|' .. jti)
      admitted[#admitted + 1] = {buyer, jti, exp}
    end
  end
  -- A tick that admits nobody leaves the budget as it was: refilling it later from there gives the same.
  if n > 0 then redis.call('HSET', B, 'tokens', num(tokens - n), 'at', num(at)) end
  if waiting - n == 0 and active + n == 0 then redis.call('SREM', P .. 'rooms', entry) else redis.call('SADD', P .. 'rooms', entry) end
  for _, key in ipairs({Q, M, A, C, RECENT, B, R .. 'seq', R .. 'j'}) do redis.call('PEXPIRE', key, IDLE) end
  return {admitted = admitted, lapsed = lapsed, queue = waiting - n, active = active + n}
end
local function member(buyer)
  local state = redis.call('HGET', M, buyer)
  if not state then return false end
  if state == 'w' then return {status = 'waiting', position = redis.call('ZRANK', Q, buyer) + 1, joinedAt = tonumber(redis.call('HGET', R .. 'j', buyer))} end
  local kind, jti = string.sub(state, 1, 1), string.sub(state, 3)
  if kind == 'a' then return {status = 'admitted', jti = jti, expiresAt = tonumber(redis.call('HGET', tk(jti), 'exp'))} end
  local names = {p = 'purchased', x = 'expired', r = 'revoked'}
  return {status = names[kind], jti = jti}
end
local function tickArgs(i) return tonumber(ARGV[i]), tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), ARGV[i + 4] end
`;

/** ARGV 5-9 the tick's (capacity, rate, burst, opensAt or -1, seed); 10 the buyer's key; 11 the order (first_come|draw); 12 the draw key. */
const JOIN = `${PRELUDE}
local buyer, order, drawKey = ARGV[10], ARGV[11], tonumber(ARGV[12])
local opensAt = tonumber(ARGV[8])
local state = redis.call('HGET', M, buyer)
local joined = false
if state ~= 'w' and (not state or string.sub(state, 1, 1) ~= 'a') then
  local seq = redis.call('INCR', R .. 'seq')
  local key = seq
  if order == 'draw' and opensAt >= 0 and now < opensAt then key = drawKey - 1 end
  redis.call('ZADD', Q, key, buyer)
  redis.call('HSET', M, buyer, 'w')
  redis.call('HSET', R .. 'j', buyer, now)
  joined = true
end
local t = tick(tickArgs(5))
return cjson.encode({admitted = t.admitted, lapsed = t.lapsed, joined = joined, member = member(buyer)})`;

/** ARGV 5-9 the tick's; 10 the buyer's key. */
const STATUS = `${PRELUDE}
local t = tick(tickArgs(5))
return cjson.encode({admitted = t.admitted, lapsed = t.lapsed, member = member(ARGV[10])})`;

const LEAVE = `${PRELUDE}
local buyer = ARGV[10]
local state = redis.call('HGET', M, buyer)
local left = false
if state == 'w' then
  redis.call('ZREM', Q, buyer)
  left = {from = 'waiting'}
elseif state and string.sub(state, 1, 1) == 'a' then
  local jti = string.sub(state, 3)
  redis.call('HSET', tk(jti), 'state', 'revoked')
  redis.call('ZREM', A, jti)
  left = {from = 'admitted', jti = jti}
end
if left then redis.call('HDEL', M, buyer) redis.call('HDEL', R .. 'j', buyer) end
local t = tick(tickArgs(5))
return cjson.encode({admitted = t.admitted, lapsed = t.lapsed, left = left})`;

const ADMIT = `${PRELUDE}
return cjson.encode(tick(tickArgs(5)))`;

/** ARGV 5 the jti. */
const REVOKE = `${PRELUDE}
local jti = ARGV[5]
local t = redis.call('HMGET', tk(jti), 'room', 'buyer', 'state')
if not t[1] or t[1] ~= room then return cjson.encode({outcome = 'not_found'}) end
if t[3] ~= 'active' then return cjson.encode({outcome = 'not_active', state = t[3]}) end
redis.call('HSET', tk(jti), 'state', 'revoked')
redis.call('ZREM', A, jti)
if redis.call('HGET', M, t[2]) == 'a|' .. jti then redis.call('HSET', M, t[2], 'r|' .. jti) end
return cjson.encode({outcome = 'revoked', buyer = t[2]})`;

/** Not room-scoped: a purchase names only the jti. ARGV: prefix, jti, command, now. */
const CONSUME = `
local P, jti, cmd, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local key = P .. 't:' .. jti
local t = redis.call('HMGET', key, 'room', 'buyer', 'exp', 'state', 'cmd', 'venue', 'event')
if not t[1] then return cjson.encode({outcome = 'refused', reason = 'unknown'}) end
local state = t[4]
if state == 'consumed' then
  if t[5] == cmd then return cjson.encode({outcome = 'again'}) end
  return cjson.encode({outcome = 'refused', reason = 'used'})
end
if state == 'revoked' then return cjson.encode({outcome = 'refused', reason = 'revoked'}) end
if state ~= 'active' or tonumber(t[3]) <= now then return cjson.encode({outcome = 'refused', reason = 'expired'}) end
local R = P .. t[1] .. ':'
redis.call('HSET', key, 'state', 'consumed', 'cmd', cmd)
redis.call('ZREM', R .. 'a', jti)
redis.call('ZADD', R .. 'c', t[3], jti)
if redis.call('HGET', R .. 'm', t[2]) == 'a|' .. jti then redis.call('HSET', R .. 'm', t[2], 'p|' .. jti) end
return cjson.encode({outcome = 'consumed', token = {jti = jti, roomId = t[1], venueId = t[6], eventId = t[7], buyer = t[2],
  expiresAt = tonumber(t[3]), state = 'consumed', commandId = cmd}})`;

const STATS = `${PRELUDE}
return {redis.call('ZCARD', Q), redis.call('ZCOUNT', A, '(' .. now, '+inf'), redis.call('ZCOUNT', C, '(' .. now, '+inf'), redis.call('ZCOUNT', RECENT, '(' .. (now - 60000), '+inf')}`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tesseraWaitingRoomJoin(...args: (string | number)[]): Result<string, Context>;
    tesseraWaitingRoomStatus(...args: (string | number)[]): Result<string, Context>;
    tesseraWaitingRoomLeave(...args: (string | number)[]): Result<string, Context>;
    tesseraWaitingRoomAdmit(...args: (string | number)[]): Result<string, Context>;
    tesseraWaitingRoomRevoke(...args: (string | number)[]): Result<string, Context>;
    tesseraWaitingRoomConsume(...args: (string | number)[]): Result<string, Context>;
    tesseraWaitingRoomStats(...args: (string | number)[]): Result<number[], Context>;
  }
}

type Pair = [string, string];
interface Ticked {
  readonly admitted: [string, string, number][] | Record<string, never>;
  readonly lapsed: Pair[] | Record<string, never>;
}

// cjson encodes an empty table as {}: an empty list.
const list = <T>(value: T[] | Record<string, never> | undefined): T[] => (Array.isArray(value) ? value : []);
const ticked = (t: Ticked): { admitted: Admission[]; lapsed: Lapse[] } => ({
  admitted: list(t.admitted).map(([buyer, jti, expiresAt]) => ({ ...buyerOfKey(buyer), jti, expiresAt })),
  lapsed: list(t.lapsed).map(([buyer, jti]) => ({ ...buyerOfKey(buyer), jti })),
});
interface ConsumedReply {
  readonly outcome: 'consumed';
  readonly token: Omit<TokenRecord, 'tenantId' | 'userId'> & { readonly buyer: string };
}
const memberOf = (m: MemberView | false): MemberView | undefined => (m === false ? undefined : m);

/** Waiting rooms in Redis (REDIS_URL set), shared by every API instance: one script per call. */
export function createRedisWaitingRoomStore(redis: Redis, keyPrefix: string): WaitingRoomStore {
  const prefix = `${keyPrefix}wr:`;
  const scripts = {
    tesseraWaitingRoomJoin: JOIN,
    tesseraWaitingRoomStatus: STATUS,
    tesseraWaitingRoomLeave: LEAVE,
    tesseraWaitingRoomAdmit: ADMIT,
    tesseraWaitingRoomRevoke: REVOKE,
    tesseraWaitingRoomConsume: CONSUME,
    tesseraWaitingRoomStats: STATS,
  };
  for (const [name, lua] of Object.entries(scripts)) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 0, lua });
  }
  // The room's entry in the timer's set: the same text for the same room, whatever fields `room` carries.
  const entryOf = (room: RoomKey) => JSON.stringify({ venueId: room.venueId, eventId: room.eventId });
  const head = (room: RoomKey, now: number) => [prefix, roomIdOf(room), now, entryOf(room)];
  // A fresh seed per call: the jtis of its admissions derive from it and it never leaves the call.
  const tick = (rules: AdmissionRules) => [rules.capacity, rules.releaseRate, releaseBurst(rules.releaseRate), rules.opensAt ?? -1, randomBytes(32).toString('hex')];

  return {
    kind: 'redis',
    async join(room, rules, buyer, now, drawKey) {
      const r = JSON.parse(await redis.tesseraWaitingRoomJoin(...head(room, now), ...tick(rules), buyerKeyOf(buyer), rules.order, drawKey)) as Ticked & { joined: boolean; member: MemberView };
      return { ...ticked(r), joined: r.joined, member: r.member };
    },
    async status(room, rules, buyer, now) {
      const r = JSON.parse(await redis.tesseraWaitingRoomStatus(...head(room, now), ...tick(rules), buyerKeyOf(buyer))) as Ticked & { member: MemberView | false };
      return { ...ticked(r), member: memberOf(r.member) };
    },
    async leave(room, rules, buyer, now) {
      const r = JSON.parse(await redis.tesseraWaitingRoomLeave(...head(room, now), ...tick(rules), buyerKeyOf(buyer))) as Ticked & { left: { from: 'waiting' | 'admitted'; jti?: string } | false };
      return { ...ticked(r), left: r.left === false ? undefined : r.left };
    },
    async admit(room, rules, now) {
      const r = JSON.parse(await redis.tesseraWaitingRoomAdmit(...head(room, now), ...tick(rules))) as Ticked & { queue: number; active: number };
      return { ...ticked(r), queueLength: r.queue, active: r.active };
    },
    async token(jti) {
      const [roomId, venueId, eventId, buyer, exp, state, cmd] = await redis.hmget(`${prefix}t:${jti}`, 'room', 'venue', 'event', 'buyer', 'exp', 'state', 'cmd');
      if (!roomId || !venueId || !eventId || !buyer || !exp || !state) return undefined;
      return { jti, roomId, ...buyerOfKey(buyer), venueId, eventId, expiresAt: Number(exp), state: state as TokenState, ...(cmd ? { commandId: cmd } : {}) } satisfies TokenRecord;
    },
    async consume(jti, commandId, now): Promise<ConsumeOutcome> {
      const r = JSON.parse(await redis.tesseraWaitingRoomConsume(prefix, jti, commandId, now)) as Exclude<ConsumeOutcome, { outcome: 'consumed' }> | ConsumedReply;
      if (r.outcome !== 'consumed') return r;
      const { buyer, ...token } = r.token;
      return { outcome: 'consumed', token: { ...token, ...buyerOfKey(buyer) } };
    },
    async revoke(room, jti, now): Promise<RevokeOutcome> {
      const r = JSON.parse(await redis.tesseraWaitingRoomRevoke(...head(room, now), jti)) as Exclude<RevokeOutcome, { outcome: 'revoked' }> | { outcome: 'revoked'; buyer: string };
      return r.outcome === 'revoked' ? { outcome: 'revoked', ...buyerOfKey(r.buyer) } : r;
    },
    async stats(room, now): Promise<RoomStats> {
      const [queueLength, active, consumed, recent] = await redis.tesseraWaitingRoomStats(...head(room, now));
      return { queueLength: queueLength!, active: active!, tokensInUse: active! + consumed!, admittedLastMinute: recent! };
    },
    async rooms() {
      const entries = await redis.smembers(`${prefix}rooms`);
      return entries.map((e) => JSON.parse(e) as RoomKey);
    },
    async forget(room) {
      await redis.srem(`${prefix}rooms`, entryOf(room));
    },
  };
}
