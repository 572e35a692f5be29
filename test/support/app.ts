import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { SignJWT } from 'jose';
import { buildApp, type AppDependencies } from '../../src/api/app.js';
import { internalSignature } from '../../src/api/auth/internal-signature.js';
import type { Role } from '../../src/domain/access.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { SqlClient } from '../../src/db/sql-client.js';
import type { PaymentGateway } from '../../src/gateways/gateway.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { composeTessera, type Tessera } from '../../src/composition.js';
import { edgeStores, sqlEventStore, type EdgeStores, type Storage } from '../../src/runtime.js';
import { freshPglite, freshPostgresSchema } from './databases.js';
import { testRedis } from './redis.js';

export const TEST_JWT_SECRET = 'test-secret-of-at-least-thirty-two-characters';
export const TEST_INTERNAL_SECRET = 'internal-secret-of-at-least-thirty-two-chars';
export const TEST_TENANT = 'tenant-1';

/** Environment for test apps: known secrets, limits high enough not to interfere. */
export const testEnv = (overrides: Record<string, string> = {}): Record<string, string> => ({
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  JWT_SECRET: TEST_JWT_SECRET,
  INTERNAL_SERVICE_SECRET: TEST_INTERNAL_SECRET,
  RATE_LIMIT_GLOBAL_MAX: '100000',
  RATE_LIMIT_USER_MAX: '100000',
  RATE_LIMIT_ROUTE_MAX: '100000',
  // The suites buy many tickets as one user from one address; fraud screening has suites of its own (test/**/risk*).
  FRAUD_CHECKS: 'false',
  PURCHASE_LIMITS: 'false',
  ...overrides,
});

export interface TokenOptions {
  readonly role?: Role;
  readonly sub?: string;
  readonly tenantId?: string;
  readonly venues?: readonly string[];
  /** Seconds from now (negative: already expired). */
  readonly expiresIn?: number;
  readonly secret?: string | Uint8Array;
  /** The `email` claim: where the user's receipts go (issue 22). */
  readonly email?: string;
  readonly claims?: Record<string, unknown>;
}

export async function signToken(options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const secret = options.secret ?? TEST_JWT_SECRET;
  return new SignJWT({
    role: options.role ?? 'user',
    tenant_id: options.tenantId ?? TEST_TENANT,
    venues: [...(options.venues ?? [])],
    ...(options.email === undefined ? {} : { email: options.email }),
    ...options.claims,
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(options.sub ?? 'user-1')
    .setIssuedAt(now)
    .setExpirationTime(now + (options.expiresIn ?? 3600))
    .sign(typeof secret === 'string' ? new TextEncoder().encode(secret) : secret);
}

export const bearer = async (options?: TokenOptions) => ({ authorization: `Bearer ${await signToken(options)}` });

export interface InternalSigningOptions {
  /** Unix seconds; now by default. */
  readonly timestamp?: number;
  /** A fresh random one by default. */
  readonly nonce?: string;
  readonly secret?: string;
}

/**
 * The headers of a service's signed call (v2): over the method, the URL with its query exactly
 * as requested, and the body exactly as it is sent, with a new nonce each time.
 */
export function internalHeaders(
  method: string,
  url: string,
  rawBody: string,
  service: string,
  options: InternalSigningOptions = {},
): Record<string, string> {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = options.nonce ?? randomBytes(16).toString('base64url');
  return {
    'content-type': 'application/json',
    'x-internal-service': service,
    'x-internal-timestamp': timestamp,
    'x-internal-nonce': nonce,
    'x-internal-signature': internalSignature(options.secret ?? TEST_INTERNAL_SECRET, { timestamp, nonce, service, method, url, rawBody }),
  };
}

export type Backend = 'pglite' | 'postgres' | 'redis';

export interface TestApp {
  readonly app: FastifyInstance;
  readonly config: Config;
  readonly storage: Storage;
  readonly edge: EdgeStores;
  readonly tessera: Tessera;
  close(): Promise<void>;
}

export interface TestAppOptions extends Pick<AppDependencies, 'extraRoutes' | 'services' | 'metrics'> {
  readonly env?: Record<string, string>;
  /** Where idempotency keys and limits live: PGlite/Postgres tables with memory limits, or Redis. */
  readonly backend?: Backend;
  readonly logger?: Logger;
  /** Run the background work (process managers, deadlines, projections), as a server does. */
  readonly background?: boolean;
  /**
   * Storage opened with openTestStorage and shared by several apps (a restart on the same data);
   * the caller cleans it up, not close(). By default each app gets fresh storage of `backend`.
   */
  readonly shared?: TestStorage;
  /** The payment gateway Tessera uses (by default the sandbox over the app's SQL). */
  readonly gateway?: PaymentGateway;
  /** Changes the edge's stores (e.g. to cut a "dead" instance off from them). */
  readonly edge?: (edge: EdgeStores) => EdgeStores;
  /** The clock of Tessera and of the routes (tests move time on). */
  readonly clock?: () => Date;
}

export interface TestStorage {
  readonly storage: Storage;
  readonly redisPrefix?: string;
  readonly cleanup: () => Promise<void>;
}

/** An app on fresh storage of the chosen backend; close() removes everything it made. */
export async function testApp(options: TestAppOptions = {}): Promise<TestApp> {
  const config = loadConfig(testEnv(options.env));
  const logger = options.logger ?? createLogger({ level: config.LOG_LEVEL });
  const opened = options.shared ?? (await openTestStorage(options.backend ?? 'pglite'));
  const { storage, redisPrefix } = opened;
  const stores = edgeStores({ ...config, REDIS_KEY_PREFIX: redisPrefix ?? config.REDIS_KEY_PREFIX }, storage);
  const edge = options.edge ? options.edge(stores) : stores;
  const { extraRoutes, metrics } = options;
  const services = options.clock ? { clock: options.clock, ...options.services } : options.services;
  const tessera = composeTessera({
    config: { ...config, REDIS_KEY_PREFIX: redisPrefix ?? config.REDIS_KEY_PREFIX },
    logger,
    storage,
    ...(options.gateway ? { gateway: options.gateway } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  if (options.background) await tessera.start();
  const app = buildApp({ config, logger, storage, tessera, edge, extraRoutes, services, metrics });
  await app.ready();
  return {
    app,
    config,
    storage,
    edge,
    tessera,
    async close() {
      await app.close();
      await tessera.stop();
      if (!options.shared) await opened.cleanup();
    },
  };
}

/** Fresh storage of a backend; close it with cleanup(). */
export async function openTestStorage(backend: Backend): Promise<TestStorage> {
  if (backend === 'postgres') {
    const schema = await freshPostgresSchema(requireEnv('DATABASE_URL'));
    const sql = schema.connect();
    return { storage: sqlStorage(sql), cleanup: () => schema.drop() };
  }
  const sql = await freshPglite();
  if (backend === 'pglite') return { storage: sqlStorage(sql), cleanup: () => sql.close() };
  const redis = await testRedis(requireEnv('REDIS_URL'));
  return {
    storage: { ...sqlStorage(sql), redis: redis.redis },
    redisPrefix: redis.prefix,
    async cleanup() {
      await redis.cleanup();
      await sql.close();
    },
  };
}

function sqlStorage(sql: SqlClient): Storage {
  const eventStore = sqlEventStore(sql);
  return { sql, eventStore, close: () => sql.close() };
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** The backends reachable in this run: PGlite always, the others when their URLs are set. */
export function reachableBackends(): Backend[] {
  return [
    'pglite',
    ...(process.env.DATABASE_URL ? (['postgres'] as const) : []),
    ...(process.env.REDIS_URL ? (['redis'] as const) : []),
  ];
}
