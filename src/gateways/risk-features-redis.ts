import type { Redis, Result } from 'ioredis';
import type { ObservedCounts, RiskFeatureStore, RiskObservation, VelocityLimits } from '../commands/risk.js';
import { limitArray } from './risk-features-sql.js';

const DAY = 86_400_000;

/**
 * One script counts a purchase's features and records it only if every velocity limit holds, so
 * of 20 concurrent purchases by one user exactly the limit get in (Redis runs a script alone).
 * Keys (under the prefix): u:<user> (the user's purchases by time, 30 days), us:<user> (count,
 * amount sum, first seen), ud:<user> (devices by last use), i:<ip> (1 hour), c:<card> (1 day),
 * cu:<card> and du:<device> (users by last use, 30 days), e:<event> (10 minutes),
 * et:<event>:<user> (tickets per purchase), seen:<id> (what a recorded purchase wrote, to forget
 * or release it). Idempotent by id. The keys of one purchase span users, cards and devices, so
 * the store needs one Redis, not a cluster.
 */
const OBSERVE = `
local p = ARGV[1]
local id, now, user, ip, card, device, event = ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local tickets, amount = tonumber(ARGV[9]), tonumber(ARGV[10])
local limits = {}
for i = 11, 18 do limits[#limits + 1] = tonumber(ARGV[i]) end
local day, month = ${DAY}, ${30 * DAY}
local known = redis.call('EXISTS', p .. 'seen:' .. id) == 1
local function others(key, since)
  local n = redis.call('ZCOUNT', key, '(' .. since, '+inf')
  if redis.call('ZSCORE', key, id) and tonumber(redis.call('ZSCORE', key, id)) > since then n = n - 1 end
  return n
end
local function distinct(key, member)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - month)
  local n = redis.call('ZCARD', key)
  if redis.call('ZSCORE', key, member) then n = n - 1 end
  return n + 1
end
local u, i, c, e = p .. 'u:' .. user, p .. 'i:' .. ip, p .. 'c:' .. card, p .. 'e:' .. event
local et = p .. 'et:' .. event .. ':' .. user
redis.call('ZREMRANGEBYSCORE', u, '-inf', now - month)
local r = {}
r.userHour = 1 + others(u, now - 3600000)
r.userDay = 1 + others(u, now - day)
r.userWeek = 1 + others(u, now - 7 * day)
if ip == '' then r.ipMinute, r.ipHour = 0, 0 else
  redis.call('ZREMRANGEBYSCORE', i, '-inf', now - 3600000)
  r.ipMinute = 1 + others(i, now - 60000)
  r.ipHour = 1 + others(i, now - 3600000)
end
redis.call('ZREMRANGEBYSCORE', c, '-inf', now - day)
r.cardDay = 1 + others(c, now - day)
r.cardUsers = distinct(p .. 'cu:' .. card, user)
local held = 0
local entries = redis.call('HGETALL', et)
for k = 1, #entries, 2 do if entries[k] ~= id then held = held + tonumber(entries[k + 1]) end end
r.eventTickets = tickets + held
redis.call('ZREMRANGEBYSCORE', e, '-inf', now - 600000)
r.eventTenMinutes = 1 + others(e, now - 600000)
if device == '' then r.deviceUsers, r.newDevice = 0, false
  r.userDevices = redis.call('ZCARD', p .. 'ud:' .. user)
else
  r.deviceUsers = distinct(p .. 'du:' .. device, user)
  r.newDevice = redis.call('ZSCORE', p .. 'ud:' .. user, device) == false
  r.userDevices = distinct(p .. 'ud:' .. user, device)
end
local us = p .. 'us:' .. user
local stats = redis.call('HMGET', us, 'n', 'sum', 'first')
r.userPurchases, r.userAmountSum, r.userFirstSeen = tonumber(stats[1] or '0'), tonumber(stats[2] or '0'), stats[3] and tonumber(stats[3]) or false
if known then
  r.userPurchases = r.userPurchases - 1
  r.userAmountSum = r.userAmountSum - amount
end
local within = true
local seen = {r.userHour, r.userDay, r.userWeek, r.ipMinute, r.ipHour, r.cardDay, r.cardUsers, r.eventTickets}
for k = 1, 8 do if seen[k] > limits[k] then within = false end end
if within and not known then
  redis.call('ZADD', u, now, id)
  redis.call('PEXPIRE', u, month)
  if ip ~= '' then redis.call('ZADD', i, now, id) redis.call('PEXPIRE', i, 3600000) end
  redis.call('ZADD', c, now, id) redis.call('PEXPIRE', c, day)
  redis.call('ZADD', p .. 'cu:' .. card, now, user) redis.call('PEXPIRE', p .. 'cu:' .. card, month)
  redis.call('HSET', et, id, tickets) redis.call('PEXPIRE', et, 365 * day)
  redis.call('ZADD', e, now, id) redis.call('PEXPIRE', e, 600000)
  if device ~= '' then
    redis.call('ZADD', p .. 'du:' .. device, now, user) redis.call('PEXPIRE', p .. 'du:' .. device, month)
    redis.call('ZADD', p .. 'ud:' .. user, now, device) redis.call('PEXPIRE', p .. 'ud:' .. user, month)
  end
  redis.call('HINCRBY', us, 'n', 1)
  redis.call('HINCRBY', us, 'sum', amount)
  redis.call('HSETNX', us, 'first', now)
  redis.call('PEXPIRE', us, 365 * day)
  redis.call('SET', p .. 'seen:' .. id, cjson.encode({user = user, ip = ip, card = card, event = event, amount = amount}), 'PX', 31 * day)
end
r.recorded = within or known
return cjson.encode(r)`;

/** Takes a recorded purchase back out of every count (its velocity, its tickets, its amount). */
const FORGET = `
local p, id = ARGV[1], ARGV[2]
local raw = redis.call('GET', p .. 'seen:' .. id)
if not raw then return 0 end
local s = cjson.decode(raw)
redis.call('ZREM', p .. 'u:' .. s.user, id)
if s.ip ~= '' then redis.call('ZREM', p .. 'i:' .. s.ip, id) end
redis.call('ZREM', p .. 'c:' .. s.card, id)
redis.call('ZREM', p .. 'e:' .. s.event, id)
redis.call('HDEL', p .. 'et:' .. s.event .. ':' .. s.user, id)
redis.call('HINCRBY', p .. 'us:' .. s.user, 'n', -1)
redis.call('HINCRBY', p .. 'us:' .. s.user, 'sum', -s.amount)
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

type Decoded = Omit<ObservedCounts, 'userFirstSeen'> & { readonly userFirstSeen: number | false; readonly recorded: boolean };

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
      const { recorded, userFirstSeen, ...counts } = JSON.parse(await redis.tesseraRiskObserve(...args)) as Decoded;
      return { recorded, counts: { ...counts, userFirstSeen: userFirstSeen === false ? null : new Date(userFirstSeen) } };
    },
    async forget(id) {
      await redis.tesseraRiskForget(prefix, id);
    },
    async releaseTickets(id) {
      await redis.tesseraRiskRelease(prefix, id);
    },
  };
}
