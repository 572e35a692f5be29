import type { FastifyReply, FastifyRequest } from 'fastify';
import { TesseraError } from '../errors.js';
import type { Authenticator } from './auth/authenticator.js';
import type { IdempotencyGate } from './idempotency/idempotency-gate.js';
import type { LimitedCall, RateLimiter } from './rate-limit/rate-limiter.js';
import type { RouteAuth } from './route.js';

/** The edge's machinery that route hooks use. */
export interface EdgeGuards {
  readonly authenticator: Authenticator;
  readonly limiter: RateLimiter;
  readonly idempotency: IdempotencyGate;
  readonly defaultRouteMax: number;
}

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
type SendHook = (request: FastifyRequest, reply: FastifyReply, payload: unknown) => Promise<unknown>;

/**
 * The request lifecycle of a route:
 * onRequest (bearer auth, limits) -> body parsing -> preValidation (internal HMAC auth over the
 * raw body, limits; Idempotency-Key check) -> zod validation -> preHandler (idempotency claim)
 * -> handler -> onSend (store the idempotent response).
 */
export function hooksFor(
  auth: RouteAuth,
  idempotent: boolean,
  limits: { route: LimitedCall['route'] } | undefined,
  guards: EdgeGuards,
): { onRequest?: Hook[]; preValidation?: Hook[]; preHandler?: Hook[]; onSend?: SendHook[]; onResponse?: Hook[] } {
  const onRequest: Hook[] = [];
  const preValidation: Hook[] = [];
  const limit = async (request: FastifyRequest, reply: FastifyReply, call: Omit<LimitedCall, 'ip' | 'route'>) => {
    if (limits) await applyLimits(guards.limiter, reply, { ...call, ip: request.ip, ...(limits.route ? { route: limits.route } : {}) });
  };

  if (auth === 'public') {
    if (limits) onRequest.push((request, reply) => limit(request, reply, { perAddress: true }));
  } else if (auth === 'internal') {
    preValidation.push(async (request, reply) => {
      const service = guards.authenticator.internal(request.headers, request.rawBody ?? '');
      request.internalService = service;
      await limit(request, reply, { perAddress: false, caller: `service:${service}` });
    });
  } else {
    onRequest.push(async (request, reply) => {
      const principal = await authenticateBearer(request, reply, guards, limits !== undefined);
      request.principal = principal;
      await limit(request, reply, { perAddress: true, caller: `${principal.tenantId}:${principal.userId}` });
      if (typeof auth === 'object' && !auth.roles.includes(principal.role)) {
        throw new TesseraError('FORBIDDEN', 'Insufficient permissions for this route');
      }
    });
  }
  if (!idempotent) return { onRequest, preValidation };

  preValidation.push((request) => Promise.resolve(guards.idempotency.requireKey(request)));
  return {
    onRequest,
    preValidation,
    preHandler: [(request, reply) => guards.idempotency.claim(request, reply, scopeOf(request))],
    onSend: [
      async (request, reply, payload) => {
        await guards.idempotency.record(request, reply, payload);
        return payload;
      },
    ],
    onResponse: [(request) => guards.idempotency.abandon(request)],
  };
}

/** A failed login still counts against the address's limit, so tokens cannot be guessed at speed. */
async function authenticateBearer(request: FastifyRequest, reply: FastifyReply, guards: EdgeGuards, limited: boolean) {
  try {
    return await guards.authenticator.bearer(request.headers.authorization);
  } catch (error) {
    void reply.header('www-authenticate', 'Bearer');
    if (limited) await applyLimits(guards.limiter, reply, { ip: request.ip, perAddress: true });
    throw error;
  }
}

const scopeOf = (request: FastifyRequest) =>
  request.principal
    ? { tenant: request.principal.tenantId, caller: `user:${request.principal.userId}` }
    : { tenant: 'internal', caller: `service:${request.internalService}` };

/** Counts the call and sets the x-ratelimit-* headers; a refused call throws RATE_LIMIT_EXCEEDED. */
export async function applyLimits(limiter: RateLimiter, reply: FastifyReply, call: LimitedCall): Promise<void> {
  const verdict = await limiter.check(call);
  if (!verdict) return;
  const resetSeconds = Math.max(1, Math.ceil(verdict.resetInMs / 1000));
  void reply.headers({
    'x-ratelimit-limit': verdict.limit,
    'x-ratelimit-remaining': verdict.remaining,
    'x-ratelimit-reset': resetSeconds,
  });
  if (verdict.refusedBy) {
    void reply.header('retry-after', resetSeconds);
    throw new TesseraError('RATE_LIMIT_EXCEEDED', `Rate limit exceeded (${verdict.refusedBy}); retry in ${resetSeconds} s`);
  }
}
