import type { FastifyReply, FastifyRequest } from 'fastify';
import { TesseraError } from '../errors.js';
import type { Authenticator } from './auth/authenticator.js';
import type { IdempotencyGate } from './idempotency/idempotency-gate.js';
import type { InFlightRequests } from './in-flight.js';
import { requireStorableText } from './input-rules.js';
import type { LimitedCall, RateLimiter } from './rate-limit/rate-limiter.js';
import type { Role } from '../domain/access.js';
import type { RouteAuth, SignatureCheck } from './route.js';

/** The edge's machinery that route hooks use. */
export interface EdgeGuards {
  readonly authenticator: Authenticator;
  readonly limiter: RateLimiter;
  readonly idempotency: IdempotencyGate;
  readonly defaultRouteMax: number;
  readonly inFlight: InFlightRequests;
}

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
type SendHook = (request: FastifyRequest, reply: FastifyReply, payload: unknown) => Promise<unknown>;

/**
 * The request lifecycle of a route:
 * onRequest (bearer auth, limits) -> body parsing (UTF-8, depth) -> preValidation (internal HMAC
 * over the method, URL and raw body with its nonce claimed, or webhook signature; limits; text
 * PostgreSQL cannot store; Idempotency-Key check) -> zod validation -> preHandler (idempotency
 * claim) -> handler -> onSend (store the idempotent response). Each request counts as in flight
 * from its first hook to its last onSend, which runs even when the client has gone.
 */
export function hooksFor(
  auth: RouteAuth,
  idempotent: boolean,
  limits: { route: LimitedCall['route'] } | undefined,
  guards: EdgeGuards,
): { onRequest?: Hook[]; preValidation?: Hook[]; preHandler?: Hook[]; onSend?: SendHook[]; onResponse?: Hook[] } {
  const onRequest: Hook[] = [(request) => Promise.resolve(guards.inFlight.enter(request))];
  const preValidation: Hook[] = [];
  const done: SendHook = (request, _reply, payload) => {
    guards.inFlight.leave(request);
    return Promise.resolve(payload);
  };
  const limit = async (request: FastifyRequest, reply: FastifyReply, call: Omit<LimitedCall, 'ip' | 'route'>) => {
    if (limits) await applyLimits(guards.limiter, reply, { ...call, ip: request.ip, ...(limits.route ? { route: limits.route } : {}) });
  };

  const internalCall = async (request: FastifyRequest, reply: FastifyReply, services?: readonly string[]) => {
    let service: string;
    try {
      service = await guards.authenticator.internal({ method: request.method, url: request.url, headers: request.headers, rawBody: request.rawBody ?? '' });
    } catch (error) {
      // As a failed login does: forged or replayed signatures cannot be tried at speed.
      if (limits) await applyLimits(guards.limiter, reply, { ip: request.ip, perAddress: true });
      throw error;
    }
    if (services && !services.includes(service)) throw new TesseraError('FORBIDDEN', `Service ${service} may not call this route`);
    request.internalService = service;
    await limit(request, reply, { perAddress: false, caller: `service:${service}` });
  };
  const bearerCall = async (request: FastifyRequest, reply: FastifyReply, roles?: readonly Role[]) => {
    const principal = await authenticateBearer(request, reply, guards, limits !== undefined);
    request.principal = principal;
    await limit(request, reply, { perAddress: true, caller: `${principal.tenantId}:${principal.userId}` });
    if (roles && !roles.includes(principal.role)) throw new TesseraError('FORBIDDEN', 'Insufficient permissions for this route');
  };

  if (auth === 'public') {
    if (limits) onRequest.push((request, reply) => limit(request, reply, { perAddress: true }));
  } else if (auth === 'internal') {
    preValidation.push((request, reply) => internalCall(request, reply));
  } else if (auth === 'user') {
    onRequest.push((request, reply) => bearerCall(request, reply));
  } else if ('signature' in auth) {
    preValidation.push((request, reply) => signedCall(request, reply, auth.signature, limits, guards));
  } else {
    // A service call is recognised by its header, and checked once the raw body is read.
    const { roles, services } = auth;
    const fromService = (request: FastifyRequest) => services !== undefined && request.headers['x-internal-service'] !== undefined;
    onRequest.push((request, reply) => (fromService(request) ? Promise.resolve() : bearerCall(request, reply, roles)));
    if (services) preValidation.push((request, reply) => (fromService(request) ? internalCall(request, reply, services) : Promise.resolve()));
  }
  // Every route, after its caller is known: one rule for all input text, whatever the schemas say.
  preValidation.push((request) => Promise.resolve(requireStorableText(request)));
  if (!idempotent) return { onRequest, preValidation, onSend: [done] };

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
      done,
    ],
    onResponse: [(request) => guards.idempotency.abandon(request)],
  };
}

/**
 * A signed call (a webhook): verified over the raw body. Only a failed check counts against the
 * address, so forgeries cannot be tried at speed while the signer's own bursts pass.
 */
async function signedCall(
  request: FastifyRequest,
  reply: FastifyReply,
  check: SignatureCheck<unknown>,
  limits: { route: LimitedCall['route'] } | undefined,
  guards: EdgeGuards,
): Promise<void> {
  try {
    request.signed = check.verify(request.headers, request.rawBody ?? '');
  } catch (error) {
    if (limits) await applyLimits(guards.limiter, reply, { ip: request.ip, perAddress: true });
    throw error;
  }
  if (limits?.route) await applyLimits(guards.limiter, reply, { ip: request.ip, perAddress: false, caller: `service:${check.signer}`, route: limits.route });
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
