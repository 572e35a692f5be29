import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TesseraError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { idempotencyKey } from '../schemas.js';
import { idempotencyRecordId, requestFingerprint, type IdempotencyStore } from './idempotency-store.js';

/**
 * The HTTP side of idempotency for command routes (seed 003, "Idempotency"):
 * 1. before validation, the Idempotency-Key header must be a UUID (400 otherwise);
 * 2. before the handler, the key is claimed: a finished key replays its stored response, a key
 *    used with a different request is a 422, a key whose request is still running is a 409;
 * 3. while the handler runs, its lease is renewed;
 * 4. when the response is sent, it is stored (2xx for 24 h, 4xx for 1 h) or, after a 5xx, the key
 *    is released so the client can retry.
 */
export interface IdempotencyGateOptions {
  readonly store: IdempotencyStore;
  readonly leaseMs: number;
  readonly successTtlMs: number;
  readonly clientErrorTtlMs: number;
  readonly logger: Logger;
  readonly onOutcome: (outcome: IdempotencyOutcome) => void;
}

export type IdempotencyOutcome = 'executed' | 'taken_over' | 'replayed' | 'mismatch' | 'in_progress';

/** Per-request state, on `request.idempotency`. */
export interface IdempotencyState {
  readonly key: string;
  /** The request's fingerprint (method, route, params, query, body), once claimed. */
  fingerprint?: string;
  held?: { readonly id: string; readonly lease: string; readonly renewal: NodeJS.Timeout };
}

declare module 'fastify' {
  interface FastifyRequest {
    idempotency: IdempotencyState | undefined;
  }
}

export interface IdempotencyScope {
  readonly tenant: string;
  readonly caller: string;
}

export interface IdempotencyGate {
  /** Step 1: reads and checks the Idempotency-Key header. */
  requireKey(request: FastifyRequest): void;
  /** Step 2: claims the key; answers the reply when the request must not run. */
  claim(request: FastifyRequest, reply: FastifyReply, scope: IdempotencyScope): Promise<FastifyReply | undefined>;
  /** Step 4: records the response about to be sent. */
  record(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<void>;
  /** Lets go of a key still held when a response ends without passing `record`. */
  abandon(request: FastifyRequest): Promise<void>;
}

export function createIdempotencyGate(options: IdempotencyGateOptions): IdempotencyGate {
  const { store, leaseMs, logger } = options;

  const renewal = (id: string, lease: string) => {
    const timer = setInterval(() => {
      store.renew(id, lease, leaseMs).then(
        (renewed) => {
          if (!renewed) {
            logger.warn({ idempotencyRecord: id }, 'idempotency lease lost while the request ran; another attempt took the key over');
            clearInterval(timer);
          }
        },
        (error: unknown) => logger.warn({ err: error, idempotencyRecord: id }, 'could not renew an idempotency lease'),
      );
    }, Math.max(10, Math.floor(leaseMs / 3)));
    timer.unref();
    return timer;
  };

  const letGo = (request: FastifyRequest) => {
    const held = request.idempotency?.held;
    if (held) {
      clearInterval(held.renewal);
      request.idempotency!.held = undefined;
    }
    return held;
  };

  return {
    requireKey(request) {
      const header = request.headers['idempotency-key'];
      if (header === undefined || header === '') {
        throw new TesseraError('IDEMPOTENCY_KEY_MISSING', 'Idempotency-Key header is required');
      }
      const parsed = idempotencyKey.safeParse(header);
      if (!parsed.success) throw new TesseraError('IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key must be a UUID');
      request.idempotency = { key: parsed.data.toLowerCase() };
    },

    async claim(request, reply, scope) {
      const state = request.idempotency!;
      const id = idempotencyRecordId(scope.tenant, scope.caller, state.key);
      const fingerprint = requestFingerprint(request.method, request.routeOptions.url ?? request.url, {
        params: request.params,
        query: request.query,
        body: request.body,
      });
      state.fingerprint = fingerprint;
      const lease = randomUUID();
      let outcome;
      try {
        outcome = await store.claim({ id, fingerprint, lease, leaseMs, ttlMs: options.successTtlMs });
      } catch (error) {
        request.log.error({ err: error }, 'idempotency store unavailable');
        throw new TesseraError('SERVICE_UNAVAILABLE', 'Cannot check the Idempotency-Key right now; retry later');
      }
      switch (outcome.kind) {
        case 'acquired':
          options.onOutcome(outcome.attempt > 1 ? 'taken_over' : 'executed');
          if (outcome.attempt > 1) request.log.warn({ attempt: outcome.attempt }, 'took over an idempotency key whose lease ran out');
          state.held = { id, lease, renewal: renewal(id, lease) };
          return undefined;
        case 'replay':
          options.onOutcome('replayed');
          return reply
            .code(outcome.response.status)
            .header('idempotent-replayed', 'true')
            .type(outcome.response.contentType)
            .send(outcome.response.body);
        case 'mismatch':
          options.onOutcome('mismatch');
          throw new TesseraError('IDEMPOTENCY_KEY_REUSED', 'Idempotency-Key was already used with a different request; use a new key');
        case 'in_progress':
          options.onOutcome('in_progress');
          throw new TesseraError('DUPLICATE_IN_PROGRESS', 'A request with this Idempotency-Key is still in progress');
        default:
          return outcome satisfies never;
      }
    },

    async record(request, reply, payload) {
      const held = letGo(request);
      if (!held) return;
      const status = reply.statusCode;
      const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : undefined;
      try {
        if (status >= 500 || body === undefined) {
          await store.release(held.id, held.lease);
          return;
        }
        const contentType = String(reply.getHeader('content-type') ?? 'application/json; charset=utf-8');
        const ttlMs = status < 400 ? options.successTtlMs : options.clientErrorTtlMs;
        const stored = await store.complete(held.id, held.lease, { status, contentType, body }, ttlMs);
        if (!stored) request.log.warn('idempotency lease was lost before the response; it was not stored');
      } catch (error) {
        // The response still goes out. A retry re-runs the command, which is safe: event ids
        // derive from the key, so the event store writes nothing twice.
        request.log.error({ err: error }, 'could not record the idempotent response');
      }
    },

    async abandon(request) {
      const held = letGo(request);
      if (held) await store.release(held.id, held.lease).catch(() => false);
    },
  };
}
