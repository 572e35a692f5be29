import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { EdgeStores, Storage } from '../runtime.js';
import { createAuthenticator } from './auth/authenticator.js';
import { registerDocs } from './docs.js';
import { answerFrameworkError, installErrorHandling } from './error-handler.js';
import { createIdempotencyGate } from './idempotency/idempotency-gate.js';
import { createInFlightRequests } from './in-flight.js';
import { decodeUtf8Body, requireJsonDepthWithin } from './input-rules.js';
import { createHttpMetrics, type HttpMetrics } from './metrics.js';
import { createRateLimiter, type RateLimiter } from './rate-limit/rate-limiter.js';
import { applyLimits, type EdgeGuards } from './route-hooks.js';
import { createRouteApi, type RouteModule } from './route.js';
import { BASE_FEATURES, routeModules } from './route-modules.js';
import { servicesOf, type AppServices } from './services.js';
import type { Tessera } from '../composition.js';
import { registerProjectionMetrics } from '../projections/engine/metrics.js';
import { VERSION } from './version.js';

export interface AppDependencies {
  readonly config: Config;
  readonly logger: Logger;
  readonly storage: Storage;
  /** The application (src/composition.ts); the caller starts and stops its background work. */
  readonly tessera: Tessera;
  /** Overrides of the services route modules get (tests fix the clock here). */
  readonly services?: Partial<AppServices>;
  /** The Prometheus registry to expose; the app makes its own when none is given. */
  readonly metrics?: Registry;
  /** Idempotency, rate-limit and nonce stores, picked from the storage by the caller (runtime.ts edgeStores). */
  readonly edge: EdgeStores;
  /** Route modules served besides src/api/route-modules.ts (tests and benchmarks add theirs). */
  readonly extraRoutes?: readonly RouteModule[];
}

// How often expired idempotency and nonce rows are deleted (the SQL stores; Redis expires its own).
const PURGE_EVERY_MS = 10 * 60 * 1000;

/** Builds the HTTP application without listening, so tests can drive it with `inject`. */
export function buildApp(deps: AppDependencies): FastifyInstance {
  const { config, logger, storage } = deps;
  const services: AppServices = { ...servicesOf(deps.tessera), ...deps.services };
  const metrics = createHttpMetrics(deps.metrics);
  // Each projection's lag, state and batches on /metrics, next to /admin/projections.
  const stopProjectionMetrics = registerProjectionMetrics(metrics.registry, services.readSide);
  const { edge } = deps;
  const limiter = createRateLimiter(edge.rateLimits, config, logger, (level) => metrics.rateLimitRefusals.inc({ level }));

  // Typed as fastify's logger so the instance keeps fastify's default generics.
  const loggerInstance: FastifyBaseLogger = logger;
  const app = Fastify({
    loggerInstance,
    bodyLimit: config.BODY_LIMIT_BYTES,
    // A hop count: believe that many proxies' X-Forwarded-For entries, counted from the socket.
    trustProxy: typeof config.TRUST_PROXY === 'number' ? trustHops(config.TRUST_PROXY) : config.TRUST_PROXY,
    genReqId: requestId,
    ...slowClientTimeouts(config),
    // A URL that is not percent-encoded UTF-8, or a path segment past the router's limit, is
    // refused before routing; without this fastify answers in its own body, not the seed's.
    frameworkErrors: answerFrameworkError,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  acceptJsonOnly(app);
  app.decorateRequest('principal', undefined);
  app.decorateRequest('internalService', undefined);
  app.decorateRequest('rawBody', undefined);
  app.decorateRequest('signed', undefined);
  app.decorateRequest('idempotency', undefined);
  const inFlight = createInFlightRequests();
  app.decorate('inFlight', inFlight);
  installErrorHandling(app);
  observe(app, metrics, limiter);
  registerDocs(app, VERSION);

  void app.register(async (scope) => {
    const guards: EdgeGuards = {
      authenticator: await createAuthenticator(config, logger, services.clock, edge.nonces),
      limiter,
      idempotency: createIdempotencyGate({
        store: edge.idempotency,
        leaseMs: config.IDEMPOTENCY_LEASE_MS,
        successTtlMs: config.IDEMPOTENCY_SUCCESS_TTL_SECONDS * 1000,
        clientErrorTtlMs: config.IDEMPOTENCY_CLIENT_ERROR_TTL_SECONDS * 1000,
        logger,
        onOutcome: (outcome) => metrics.idempotencyOutcomes.inc({ outcome }),
      }),
      defaultRouteMax: config.RATE_LIMIT_ROUTE_MAX,
      inFlight,
    };
    const modules = [...routeModules, ...(deps.extraRoutes ?? [])];
    const features: Record<string, boolean> = { ...BASE_FEATURES };
    for (const module of modules) Object.assign(features, typeof module.features === 'function' ? module.features(config) : module.features);
    const api = createRouteApi(scope, guards, {
      config,
      logger,
      storage,
      services,
      metrics: metrics.registry,
      edge: { idempotency: edge.idempotency.kind, rateLimits: edge.rateLimits.kind },
      features,
    });
    for (const module of modules) module.register(api);
  });

  app.addHook('onClose', (_app, done) => {
    stopProjectionMetrics();
    done();
  });
  purgeExpiredKeys(app, edge, logger);
  return app;
}

/**
 * JSON is the only body the API takes; anything else is a 415. The body must be UTF-8 and nest
 * no deeper than MAX_JSON_DEPTH (src/api/input-rules.ts), both checked before it is parsed. The
 * raw text is kept for the internal routes' HMAC and webhook signatures, which sign the body
 * exactly as sent.
 */
function acceptJsonOnly(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const text = decodeUtf8Body(body as Buffer);
    requireJsonDepthWithin(text);
    request.rawBody = text;
    void parseJson(request, text, done);
  });
}

/**
 * A slow client (slowloris) must not hold a connection open for ever: the request, headers and
 * body, must arrive within REQUEST_TIMEOUT_MS of its first byte and the headers within
 * HEADERS_TIMEOUT_MS, or Node answers 408 and closes. Node stops this clock once the request has
 * arrived, so a handler may still take as long as it needs (a purchase waits PAYMENT_WAIT_MS).
 */
function slowClientTimeouts(config: Config) {
  const { REQUEST_TIMEOUT_MS: requestTimeout, HEADERS_TIMEOUT_MS: headersTimeout } = config;
  return {
    // fastify overwrites the server's requestTimeout with its own option (0, none, by default).
    requestTimeout,
    // Passed to http.createServer. Node looks for expired requests only every
    // connectionsCheckingInterval (30 s by default), so it looks ten times per headers timeout
    // (the shorter one); requestTimeout is repeated because Node checks headersTimeout against it.
    http: { requestTimeout, headersTimeout, connectionsCheckingInterval: Math.ceil(headersTimeout / 10) },
  };
}

/** A well-formed incoming x-request-id is kept, so a caller's correlation id flows through. */
function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
}

/**
 * Every response carries its request id and is timed per route and status. Routes outside the
 * route helper (the docs, 404s) still count against the global per-address limit.
 */
function observe(app: FastifyInstance, metrics: HttpMetrics, limiter: RateLimiter): void {
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    if (request.routeOptions.config?.tessera !== undefined) return done();
    applyLimits(limiter, reply, { ip: request.ip, perAddress: true }).then(() => done(), done);
  });
  app.addHook('onResponse', (request, reply, done) => {
    metrics.requestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
}

function purgeExpiredKeys(app: FastifyInstance, edge: EdgeStores, logger: Logger): void {
  const stores = [
    { store: edge.idempotency, what: 'idempotency keys' },
    { store: edge.nonces, what: 'internal signature nonces' },
  ].filter(({ store }) => store.kind === 'sql');
  if (stores.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', (done) => {
    timer = setInterval(() => {
      for (const { store, what } of stores) {
        store.purgeExpired().catch((error: unknown) => logger.warn({ err: error }, `could not purge expired ${what}`));
      }
    }, PURGE_EVERY_MS);
    timer.unref();
    done();
  });
  app.addHook('onClose', (_app, done) => {
    clearInterval(timer);
    done();
  });
}

/** Trusts the first `hops` proxies in front of the server (hop 0 is the socket's peer). */
function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}
