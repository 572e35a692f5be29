import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import type { z } from 'zod';
import type { Config } from '../config.js';
import { commandKeyFor } from '../domain/ids.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../runtime.js';
import type { Caller, Principal, Role } from '../domain/access.js';
import { hooksFor, type EdgeGuards } from './route-hooks.js';
import { errorBody } from './schemas.js';
import type { AppServices } from './services.js';

/**
 * How routes are declared. A route module (src/api/routes/<area>.ts) registers its routes with
 * `api.route({...})`: the zod schemas of its input and response, who may call it, whether it is
 * an idempotent command, and an optional rate limit. The helper wires authentication, limits,
 * idempotency, validation and OpenAPI the same way for every route, and the handler receives
 * typed, parsed input plus the caller and the correlation id.
 */

/**
 * Who may call a route:
 * - `'public'`: anyone;
 * - `'user'`: any caller with a valid bearer token (any role);
 * - `{ roles: [...] }`: a bearer token with one of these roles;
 * - `{ roles: [...], services: [...] }`: that, or one of these services by the HMAC signature
 *   headers (a request carrying `x-internal-service` is checked as a service call);
 * - `'internal'`: another service, by the HMAC signature headers (src/api/auth/internal-signature.ts);
 * - `{ signature }`: an outside party that signs the raw body (a webhook), checked by `verify`.
 */
export type RouteAuth =
  | 'public'
  | 'user'
  | 'internal'
  | { readonly roles: readonly [Role, ...Role[]]; readonly services?: readonly [string, ...string[]] }
  | { readonly signature: SignatureCheck<unknown> };

/**
 * How a signed route checks its caller: `verify` gets the headers and the raw body exactly as
 * sent, answers what the signature vouches for (the handler's `signed`), or throws a
 * TesseraError. Verified calls skip the address and user limits (the signer delivers at its own
 * pace and retries refusals); a failed check counts against the address, as a failed login does.
 */
export interface SignatureCheck<Signed> {
  /** Who signs, for logs and limits: e.g. `stripe`. */
  readonly signer: string;
  /** The OpenAPI security scheme describing the header (registered in src/api/docs.ts). */
  readonly securityScheme: string;
  verify(headers: Readonly<Record<string, string | string[] | undefined>>, rawBody: string): Signed;
}

export type { Caller } from '../domain/access.js';

type Schema = z.ZodType | undefined;
type Parsed<S extends Schema> = S extends z.ZodType ? z.output<S> : undefined;

type CallerOf<A extends RouteAuth> = A extends 'public'
  ? Record<never, never>
  : A extends 'internal'
    ? { /** The calling service (x-internal-service). */ readonly service: string }
    : A extends { readonly signature: SignatureCheck<infer Signed> }
      ? { /** What the verified signature vouches for (e.g. the Stripe event). */ readonly signed: Signed }
      : A extends { readonly services: readonly string[] }
        ? { readonly caller: Caller }
        : { readonly principal: Principal };

export type RouteInput<B extends Schema, P extends Schema, Q extends Schema, A extends RouteAuth, I extends boolean> = {
  readonly body: Parsed<B>;
  readonly params: Parsed<P>;
  readonly query: Parsed<Q>;
  /** The request id (also the x-request-id header): use it as the events' correlationId. */
  readonly correlationId: string;
  /** The caller's address (the proxy's client address when TRUST_PROXY is on). */
  readonly ip: string;
  /** A request header's value (the first, when sent more than once); undefined when absent or empty. */
  readonly header: (name: string) => string | undefined;
  /** The request's logger (carries the request id). */
  readonly log: FastifyBaseLogger;
  /** Answers with one of the route's `otherStatuses` instead of `status` (readiness: 503). */
  readonly setStatus: (status: number) => void;
} & CallerOf<A> &
  (I extends true
    ? {
        /**
         * The command's key: the client's Idempotency-Key bound to this request's fingerprint
         * (commandKeyFor). Derive the command id from it (userCommandContext), so a retry cannot
         * write twice and the same key on another route, resource or body is another command.
         */
        readonly commandKey: string;
      }
    : Record<never, never>);

export interface RouteDefinition<
  B extends Schema,
  P extends Schema,
  Q extends Schema,
  R extends z.ZodType,
  A extends RouteAuth,
  I extends boolean,
> {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: string;
  /** One line for the OpenAPI document. */
  readonly summary: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly auth: A;
  /**
   * A command route says `idempotent: true` (Idempotency-Key required, responses replayed) or,
   * rarely, `false` with a reason in `description`. Required on every route but GET.
   */
  readonly idempotent?: I;
  /**
   * Requests per RATE_LIMIT_WINDOW_MS per caller on this route; idempotent routes default to
   * RATE_LIMIT_ROUTE_MAX. `false` exempts the route from every limit (probes, metrics).
   */
  readonly rateLimit?: { readonly max: number } | false;
  readonly body?: B;
  readonly params?: P;
  readonly query?: Q;
  /** The success response; error responses are the seed's error body, added for you. */
  readonly response: R;
  /** The success status (default 200). */
  readonly status?: 200 | 201 | 202;
  /** Further statuses answered with the same response schema, chosen by `input.setStatus`. */
  readonly otherStatuses?: readonly number[];
  /** For a text response (the schema a z.string()): its media type. JSON otherwise. */
  readonly contentType?: string;
  readonly handler: (input: RouteInput<B, P, Q, A, I>) => Promise<z.output<R>> | z.output<R>;
}

/** What a route module gets to register its routes with. */
export interface RouteApi {
  readonly config: Config;
  readonly logger: Logger;
  readonly storage: Storage;
  readonly services: AppServices;
  /** The app's Prometheus registry: register module metrics here (see src/api/metrics.ts). */
  readonly metrics: Registry;
  /** Which stores the edge uses, for /info. */
  readonly edge: { readonly idempotency: 'sql' | 'redis'; readonly rateLimits: 'memory' | 'redis' };
  /** Every module's features merged over the base list, for /info. */
  readonly features: Readonly<Record<string, boolean>>;
  route<
    R extends z.ZodType,
    A extends RouteAuth,
    B extends Schema = undefined,
    P extends Schema = undefined,
    Q extends Schema = undefined,
    I extends boolean = false,
  >(definition: RouteDefinition<B, P, Q, R, A, I>): void;
}

export interface RouteModule {
  readonly name: string;
  /**
   * Capabilities this module adds, reported by /info (e.g. `{ webhooks: true }`), or a function
   * of the config when a capability depends on it (Stripe only when GATEWAY=stripe).
   */
  readonly features?: Readonly<Record<string, boolean>> | ((config: Config) => Readonly<Record<string, boolean>>);
  register(api: RouteApi): void;
}

/** What the edge knows about a route, on `routeOptions.config.tessera` (the docs read it). */
export interface RouteMeta {
  readonly idempotent: boolean;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    tessera?: RouteMeta;
  }
  interface FastifyRequest {
    principal: Principal | undefined;
    internalService: string | undefined;
    rawBody: string | undefined;
    /** What a signed route's SignatureCheck verified. */
    signed: unknown;
  }
}

export function createRouteApi(
  app: FastifyInstance,
  guards: EdgeGuards,
  context: Omit<RouteApi, 'route'>,
): RouteApi {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  return {
    ...context,
    route(definition) {
      checkDefinition(definition);
      const idempotent = definition.idempotent === true;
      const limits = limitsOf(definition, guards.defaultRouteMax);
      const hooks = hooksFor(definition.auth, idempotent, limits, guards);
      const status = definition.status ?? 200;
      typed.route({
        method: definition.method,
        url: definition.url,
        config: { tessera: { idempotent } },
        schema: {
          summary: definition.summary,
          ...(definition.description ? { description: definition.description } : {}),
          ...(definition.tags ? { tags: [...definition.tags] } : {}),
          ...securityOf(definition.auth),
          ...(definition.body ? { body: definition.body } : {}),
          ...(definition.params ? { params: definition.params } : {}),
          ...(definition.query ? { querystring: definition.query } : {}),
          response: { ...errorResponses(definition, idempotent), ...successResponses(definition, status) },
        },
        ...hooks,
        handler: async (request, reply) => {
          let answered: number = status;
          const input = {
            body: request.body,
            params: request.params,
            query: request.query,
            correlationId: request.id,
            ip: request.ip,
            header(name: string) {
              const value = request.headers[name.toLowerCase()];
              const first = Array.isArray(value) ? value[0] : value;
              return first === '' ? undefined : first;
            },
            log: request.log,
            setStatus(other: number) {
              if (!definition.otherStatuses?.includes(other)) throw new Error(`${definition.url} does not declare status ${other}`);
              answered = other;
            },
            principal: request.principal,
            service: request.internalService,
            caller: callerOf(request),
            signed: request.signed,
            commandKey: request.idempotency?.fingerprint && commandKeyFor(request.idempotency.fingerprint, request.idempotency.key),
          } as unknown as Parameters<typeof definition.handler>[0];
          const result = await definition.handler(input);
          if (definition.contentType) void reply.type(definition.contentType);
          return reply.code(answered).send(result);
        },
      });
    },
  };
}

const isSigned = (auth: RouteAuth): auth is { readonly signature: SignatureCheck<unknown> } =>
  typeof auth === 'object' && 'signature' in auth;

function callerOf(request: { principal: Principal | undefined; internalService: string | undefined }): Caller | undefined {
  if (request.principal) return { kind: 'user', principal: request.principal };
  if (request.internalService) return { kind: 'service', service: request.internalService };
  return undefined;
}

function checkDefinition(definition: { method: string; url: string; auth: RouteAuth; idempotent?: boolean }): void {
  const name = `${definition.method} ${definition.url}`;
  if (isSigned(definition.auth) && definition.idempotent) {
    throw new Error(`${name}: a signed route is deduplicated by what its signer sends (an event id), not an Idempotency-Key`);
  }
  if (definition.method !== 'GET' && definition.idempotent === undefined) {
    throw new Error(`${name}: a command route must declare idempotent: true (or false, saying why)`);
  }
  if (definition.method === 'GET' && definition.idempotent) throw new Error(`${name}: GET routes are queries, not idempotent commands`);
  if (definition.idempotent && definition.auth === 'public') {
    throw new Error(`${name}: an idempotent route needs an authenticated caller to scope its keys`);
  }
}

function limitsOf(definition: { method: string; url: string; rateLimit?: { max: number } | false; idempotent?: boolean }, defaultMax: number) {
  if (definition.rateLimit === false) return undefined;
  const max = definition.rateLimit?.max ?? (definition.idempotent ? defaultMax : undefined);
  return { route: max === undefined ? undefined : { id: `${definition.method} ${definition.url}`, max } };
}

function successResponses(definition: { response: z.ZodType; otherStatuses?: readonly number[]; contentType?: string }, status: number) {
  const schema = definition.contentType ? { content: { [definition.contentType]: { schema: definition.response } } } : definition.response;
  return Object.fromEntries([status, ...(definition.otherStatuses ?? [])].map((code) => [code, schema]));
}

const INTERNAL_SECURITY = { internalService: [], internalTimestamp: [], internalNonce: [], internalSignature: [] };

function securityOf(auth: RouteAuth) {
  if (auth === 'public') return {};
  if (auth === 'internal') return { security: [INTERNAL_SECURITY] };
  if (isSigned(auth)) return { security: [{ [auth.signature.securityScheme]: [] }] };
  // OpenAPI lists alternatives: a bearer token, or (when services may call) the four HMAC headers.
  if (typeof auth === 'object' && auth.services) return { security: [{ bearerAuth: [] }, INTERNAL_SECURITY] };
  return { security: [{ bearerAuth: [] }] };
}

/** The error responses a route can give, for the OpenAPI document. */
function errorResponses(definition: { auth: RouteAuth; rateLimit?: unknown }, idempotent: boolean) {
  // 422: the shared input rules (src/api/input-rules.ts) apply to every route, schema or not.
  const statuses = new Set<number>([422, 500]);
  if (isSigned(definition.auth)) {
    statuses.add(400);
    statuses.add(503);
  } else if (definition.auth !== 'public') {
    statuses.add(401);
    statuses.add(403);
  }
  if (definition.rateLimit !== false) statuses.add(429);
  if (idempotent) {
    statuses.add(400);
    statuses.add(409);
    statuses.add(422);
    statuses.add(503);
  }
  return Object.fromEntries([...statuses].map((status) => [status, errorBody]));
}
