import type { Redis, Result } from 'ioredis';
import type { ObservedCounts, RiskFeatureStore, RiskObservation, VelocityLimits } from '../commands/risk.js';
import { limitArray } from './risk-features-sql.js';

const DAY = 86_400_000;

/**
 * One script counts a purchase's features and records it only if every velocity limit holds, so
 * of 20 concurrent purchases by one user exactly the limit get in (Redis runs a script alone).
 * Keys (under the prefix), sorted sets scored by purchase time unless said otherwise:
 * u:<user> (the user's purchases), i:<ip>, c:<card>, e:<event> (purchases from the address, on
 * the card, for the event); cp:<card>:<user> and dp:<device>:<user> (the purchases of one pair,
 * so a forgotten purchase leaves the pair while another is left); cu:<card>, du:<device> (users)
 * and ud:<user> (devices), each member scored by the pair's latest purchase; us:<user> (a hash:
 * count, amount sum, first seen and its id, a year after the last purchase); et:<event>:<user>
 * (a hash: tickets per purchase, a year); seen:<id> (what a recorded purchase wrote, to know a
 * retry and to forget or release it, 31 days). Sets keep their window plus an hour (the slack),
 * so a purchase whose time is a little older than one already counted still finds what its
 * windows hold. Counts, windows and their edges are the port's (RiskFeatureStore), the same as
 * the SQL store's. The keys of one purchase span users, cards and devices, so the store needs one
 * Redis, not a cluster.
 */
const OBSERVE = `
local p = ARGV[1]
local id, now, user, ip, card, device, event = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local tickets, amount = tonumber(ARGV[9]), tonumber(ARGV[10])
local limits = {}
for i = 11, 18 do limits[#limits + 1] = tonumber(ARGV[i]) end
local minute, hour, day = 60000, 3600000, ${DAY}
local month, slack = 30 * day, hour
local seen = redis.call('GET', p .. 'seen:' .. id)
local known = seen ~= false
-- Drops what no window needs any more.
local function trim(key, window) redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window - slack) end
-- Purchases in key less than window before now (later ones too), this one left out.
local function others(key, window)
  local since = now - window
  local n = redis.call('ZCOUNT', key, '(' .. since, '+inf')
  local own = redis.call('ZSCORE', key, id)
  if own and tonumber(own) > since then n = n - 1 end
  return n
end
-- Distinct members of key (users, devices) with a purchase in the last 30 days, this purchase's member once.
local function distinct(key, member)
  trim(key, month)
  local since = now - month
  local n = redis.call('ZCOUNT', key, '(' .. since, '+inf')
  local last = redis.call('ZSCORE', key, member)
  if last and tonumber(last) > since then n = n - 1 end
  return n + 1
end
local u, i, c, e = p .. 'u:' .. user, p .. 'i:' .. ip, p .. 'c:' .. card, p .. 'e:' .. event
local cu, cp = p .. 'cu:' .. card, p .. 'cp:' .. card .. ':' .. user
local du, ud, dp = p .. 'du:' .. device, p .. 'ud:' .. user, p .. 'dp:' .. device .. ':' .. user
local et, us = p .. 'et:' .. event .. ':' .. user, p .. 'us:' .. user
trim(u, month)
local r = {}
r.userHour = 1 + others(u, hour)
r.userDay = 1 + others(u, day)
r.userWeek = 1 + others(u, 7 * day)
if ip == '' then r.ipMinute, r.ipHour = 0, 0 else
  trim(i, hour)
  r.ipMinute = 1 + others(i, minute)
  r.ipHour = 1 + others(i, hour)
end
trim(c, day)
r.cardDay = 1 + others(c, day)
r.cardUsers = distinct(cu, user)
local held = 0
local entries = redis.call('HGETALL', et)
for k = 1, #entries, 2 do if entries[k] ~= id then held = held + tonumber(entries[k + 1]) end end
r.eventTickets = tickets + held
trim(e, 10 * minute)
r.eventTenMinutes = 1 + others(e, 10 * minute)
if device == '' then
  r.deviceUsers, r.newDevice = 0, false
  trim(ud, month)
  r.userDevices = redis.call('ZCOUNT', ud, '(' .. (now - month), '+inf')
else
  r.deviceUsers = distinct(du, user)
  trim(dp, month)
  r.newDevice = others(dp, month) == 0
  r.userDevices = distinct(ud, device)
end
local stats = redis.call('HMGET', us, 'n', 'sum', 'first', 'firstId')
r.userPurchases, r.userAmountSum = tonumber(stats[1] or '0'), tonumber(stats[2] or '0')
local first = stats[3] and tonumber(stats[3]) or false
if known then
  -- A retry: the history as it was before this purchase.
  r.userPurchases = r.userPurchases - 1
  r.userAmountSum = r.userAmountSum - cjson.decode(seen).amount
  if stats[4] == id then
    local earliest = redis.call('ZRANGE', u, 0, 1, 'WITHSCORES')
    if earliest[1] and earliest[1] ~= id then first = tonumber(earliest[2])
    elseif earliest[3] then first = tonumber(earliest[4])
    else first = false end
  end
end
r.userFirstSeen = first
local within = true
local counted = {r.userHour, r.userDay, r.userWeek, r.ipMinute, r.ipHour, r.cardDay, r.cardUsers, r.eventTickets}
for k = 1, 8 do if counted[k] > limits[k] then within = false end end
if within and not known then
  -- A member's time only moves forward: a purchase recorded out of order leaves the latest.
  local function add(key, member, ttl)
    local score = redis.call('ZSCORE', key, member)
    if not score or tonumber(score) < now then redis.call('ZADD', key, now, member) end
    redis.call('PEXPIRE', key, ttl)
  end
  add(u, id, month + slack)
  if ip ~= '' then add(i, id, hour + slack) end
  add(c, id, day + slack)
  add(e, id, 10 * minute + slack)
  add(cp, id, month + slack)
  add(cu, user, month + slack)
  if device ~= '' then
    add(dp, id, month + slack)
    add(du, user, month + slack)
    add(ud, device, month + slack)
  end
  redis.call('HSET', et, id, tickets) redis.call('PEXPIRE', et, 365 * day)
  redis.call('HINCRBY', us, 'n', 1)
  redis.call('HINCRBY', us, 'sum', amount)
  if not first or now < first then redis.call('HSET', us, 'first', now, 'firstId', id) end
  redis.call('PEXPIRE', us, 365 * day)
  redis.call('SET', p .. 'seen:' .. id, cjson.encode({user = user, ip = ip, card = card, device = device, event = event, amount = amount}), 'PX', 31 * day)
end
r.recorded = within or known
r.known = known
return cjson.encode(r)`;

/**
 * Takes a recorded purchase back out of every count: its windows, its tickets, its amount, the
 * card's and the device's users and the user's devices (while no other purchase of the pair is
 * left), and the user's first seen (the earliest purchase left, when it was the first).
 */
const FORGET = `
local p, id = ARGV[1], ARGV[2]
local raw = redis.call('GET', p .. 'seen:' .. id)
if not raw then return 0 end
local s = cjson.decode(raw)
local user, device, ttl = s.user, s.device or '', ${30 * DAY + 3_600_000}
local u = p .. 'u:' .. user
redis.call('ZREM', u, id)
if s.ip ~= '' then redis.call('ZREM', p .. 'i:' .. s.ip, id) end
redis.call('ZREM', p .. 'c:' .. s.card, id)
redis.call('ZREM', p .. 'e:' .. s.event, id)
redis.call('HDEL', p .. 'et:' .. s.event .. ':' .. user, id)
local function unpair(pair, key, member)
  redis.call('ZREM', pair, id)
  local last = redis.call('ZREVRANGE', pair, 0, 0, 'WITHSCORES')
  if #last == 0 then redis.call('ZREM', key, member)
  else redis.call('ZADD', key, last[2], member) redis.call('PEXPIRE', key, ttl) end
end
unpair(p .. 'cp:' .. s.card .. ':' .. user, p .. 'cu:' .. s.card, user)
if device ~= '' then
  local dp = p .. 'dp:' .. device .. ':' .. user
  unpair(dp, p .. 'du:' .. device, user)
  unpair(dp, p .. 'ud:' .. user, device)
end
local us = p .. 'us:' .. user
if redis.call('EXISTS', us) == 1 then
  redis.call('HINCRBY', us, 'n', -1)
  redis.call('HINCRBY', us, 'sum', -s.amount)
  if redis.call('HGET', us, 'firstId') == id then
    local earliest = redis.call('ZRANGE', u, 0, 0, 'WITHSCORES')
    if #earliest == 0 then redis.call('HDEL', us, 'first', 'firstId')
    else redis.call('HSET', us, 'first', earliest[2], 'firstId', earliest[1]) end
  end
end
redis.call('DEL', p .. 'seen:' .. id)
return 1`;

/** The purchase's tickets stop counting toward the per-event cap (it ended unpaid). */
const RELEASE = `
local p, id = ARGV[1], ARGV[2]
local raw = redis.call('GET', p .. 'seen:' .. id)
if not raw then return 0 end
local s = cjson.decode(raw)
return redis.call('HDEL', p .. 'et:' .. s.event .. ':' .. s.user, id)`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tesseraRiskObserve(...args: (string | number)[]): Result<string, Context>;
    tesseraRiskForget(prefix: string, id: string): Result<number, Context>;
    tesseraRiskRelease(prefix: string, id: string): Result<number, Context>;
  }
}

type Decoded = Omit<ObservedCounts, 'userFirstSeen'> & { readonly userFirstSeen: number | false; readonly recorded: boolean; readonly known: boolean };

/** The risk features in Redis (REDIS_URL set), shared by every API instance. */
export function createRedisRiskFeatureStore(redis: Redis, keyPrefix: string): RiskFeatureStore {
  const prefix = `${keyPrefix}risk:`;
  for (const [name, lua] of Object.entries({ tesseraRiskObserve: OBSERVE, tesseraRiskForget: FORGET, tesseraRiskRelease: RELEASE })) {
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys: 0, lua });
  }
  return {
    kind: 'redis',
    async observe(o: RiskObservation, limits: VelocityLimits) {
      const args = [prefix, o.id, o.at.getTime(), o.userId, o.ip ?? '', o.card, o.device ?? '', o.eventId, o.tickets, o.amount, ...limitArray(limits)];
      const { recorded, known, userFirstSeen, ...counts } = JSON.parse(await redis.tesseraRiskObserve(...args)) as Decoded;
      return { recorded, known, counts: { ...counts, userFirstSeen: userFirstSeen === false ? null : new Date(userFirstSeen) } };
    },
    async forget(id) {
      await redis.tesseraRiskForget(prefix, id);
    },
    async releaseTickets(id) {
      await redis.tesseraRiskRelease(prefix, id);
    },
    // Nothing to purge: every key expires by itself (see OBSERVE).
    purge: () => Promise.resolve(0),
  };
}
