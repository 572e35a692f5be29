import type { Redis, Result } from 'ioredis';
import { defineScripts } from '../../db/redis.js';
import type { ClaimOutcome, ClaimRequest, IdempotencyStore, StoredResponse } from './idempotency-store.js';

/**
 * Idempotency records in Redis, one hash per scoped key at `<prefix>idempotency:<id>` (the
 * seed's `idempotency:{tenantId}:{userId}:{key}`). Every operation is one Lua script, so it is
 * atomic against concurrent claims on any Redis deployment; times come from the Redis clock
 * (TIME), so API instances with skewed clocks agree on when a lease runs out. The hash's own
 * expiry (PEXPIRE) implements the record TTLs.
 */
const NOW_MS = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// ARGV: fingerprint, lease token, lease ms, record ttl ms
const CLAIM = `${NOW_MS}
local r = redis.call('HMGET', KEYS[1], 'fingerprint', 'state', 'lease_until', 'status', 'content_type', 'body')
local lease_until = string.format('%.0f', now + tonumber(ARGV[3]))
if not r[1] then
  redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1], 'state', 'running', 'attempts', 1, 'lease', ARGV[2], 'lease_until', lease_until)
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {'acquired', 1}
end
if r[1] ~= ARGV[1] then return {'mismatch'} end
if r[2] == 'completed' then return {'replay', r[4], r[5], r[6]} end
if tonumber(r[3]) > now then return {'in_progress'} end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'lease', ARGV[2], 'lease_until', lease_until)
return {'acquired', attempts}`;

// ARGV: lease token, lease ms
const RENEW = `${NOW_MS}
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'lease_until', string.format('%.0f', now + tonumber(ARGV[2])))
return 1`;

// ARGV: lease token, status, content type, body, ttl ms
const COMPLETE = `
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'completed', 'status', ARGV[2], 'content_type', ARGV[3], 'body', ARGV[4])
redis.call('HDEL', KEYS[1], 'lease', 'lease_until')
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

// ARGV: lease token
const RELEASE = `
if redis.call('HGET', KEYS[1], 'lease') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

type ClaimReply = ['acquired', number] | ['replay', string, string, string] | ['mismatch'] | ['in_progress'];

declare module 'ioredis' {
  interface RedisCommander<Context> {
    tesseraIdempotencyClaim(key: string, fingerprint: string, lease: string, leaseMs: number, ttlMs: number): Result<ClaimReply, Context>;
    tesseraIdempotencyRenew(key: string, lease: string, leaseMs: number): Result<number, Context>;
    tesseraIdempotencyComplete(
      key: string,
      lease: string,
      status: number,
      contentType: string,
      body: string,
      ttlMs: number,
    ): Result<number, Context>;
    tesseraIdempotencyRelease(key: string, lease: string): Result<number, Context>;
  }
}

const SCRIPTS = {
  tesseraIdempotencyClaim: CLAIM,
  tesseraIdempotencyRenew: RENEW,
  tesseraIdempotencyComplete: COMPLETE,
  tesseraIdempotencyRelease: RELEASE,
};

export function createRedisIdempotencyStore(redis: Redis, keyPrefix: string): IdempotencyStore {
  defineScripts(redis, SCRIPTS);
  const key = (id: string) => `${keyPrefix}idempotency:${id}`;
  return {
    kind: 'redis',
    async claim(request: ClaimRequest): Promise<ClaimOutcome> {
      const reply = await redis.tesseraIdempotencyClaim(
        key(request.id),
        request.fingerprint,
        request.lease,
        request.leaseMs,
        request.ttlMs,
      );
      switch (reply[0]) {
        case 'acquired':
          return { kind: 'acquired', lease: request.lease, attempt: reply[1] };
        case 'replay':
          return { kind: 'replay', response: { status: Number(reply[1]), contentType: reply[2], body: reply[3] } };
        case 'mismatch':
          return { kind: 'mismatch' };
        case 'in_progress':
          return { kind: 'in_progress' };
        default:
          return unexpected(reply);
      }
    },
    async renew(id, lease, leaseMs) {
      return (await redis.tesseraIdempotencyRenew(key(id), lease, leaseMs)) === 1;
    },
    async complete(id, lease, response: StoredResponse, ttlMs) {
      const done = await redis.tesseraIdempotencyComplete(key(id), lease, response.status, response.contentType, response.body, ttlMs);
      return done === 1;
    },
    async release(id, lease) {
      return (await redis.tesseraIdempotencyRelease(key(id), lease)) === 1;
    },
    // Redis expires records itself.
    purgeExpired: () => Promise.resolve(0),
  };
}

function unexpected(reply: never): never {
  throw new Error(`unexpected reply from the idempotency script: ${JSON.stringify(reply)}`);
}
