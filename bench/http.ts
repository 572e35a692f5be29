/**
 * npm run bench:http
 *
 * What the HTTP edge costs. Two targets, driven alike by autocannon from a child process with a
 * fresh Idempotency-Key on every request:
 *   - tessera-command: the real app (buildApp, listening), with a bench-only no-op command route
 *     registered through the same route helper production routes use: bearer JWT, rate limits
 *     (set high enough never to refuse, but counted), zod validation, idempotency claim and
 *     record, metrics, request ids;
 *   - bare-fastify: a bare fastify instance with a POST route answering the same JSON.
 * For each reachable backend of the edge's stores: PGlite (embedded), PostgreSQL (DATABASE_URL)
 * and Redis (REDIS_URL, with PGlite for the rest). The targets take turns in rotating order over
 * BENCH_ROUNDS rounds, so machine noise falls on both alike.
 *
 * Prints one JSON line per target and backend, then a line of ratios (command / bare).
 * Settings: BENCH_SECONDS per target (default 10), BENCH_ROUNDS (2), BENCH_CONNECTIONS (32),
 * BENCH_BACKENDS (default: every reachable one, e.g. "pglite,redis"), BENCH_LOG_LEVEL (warn).
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { SignJWT } from 'jose';
import { z } from 'zod';
import { buildApp } from '../src/api/app.js';
import type { RouteModule } from '../src/api/route.js';
import { cents } from '../src/api/schemas.js';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/db/migrate.js';
import { deleteKeysUnder } from '../src/db/redis.js';
import { connectPostgres, openPglite, type SqlClient } from '../src/db/sql-client.js';
import { createLogger } from '../src/logger.js';
import { composeTessera } from '../src/composition.js';
import { edgeStores, sqlEventStore, type Storage } from '../src/runtime.js';
import { dropDatabase, freshDatabase, round } from './harness.js';
import { address, load, merge } from './http-driver.js';
import type { LoadResult } from './http-load.js';

type Backend = 'pglite' | 'postgres' | 'redis';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
const databaseUrl = process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
const redisUrl = process.env.REDIS_URL;
const backends = (process.env.BENCH_BACKENDS?.split(',') ?? [
  'pglite',
  ...(databaseUrl ? ['postgres'] : []),
  ...(redisUrl ? ['redis'] : []),
]) as Backend[];
const BENCH_DATABASE = 'tessera_bench_http';
const jwtSecret = randomBytes(32).toString('hex');
const body = JSON.stringify({ amount: 11_765, currency: 'USD' });

/** The no-op command: everything the edge does for a command, and nothing after it. */
const benchRoutes: RouteModule = {
  name: 'bench',
  register(api) {
    api.route({
      method: 'POST',
      url: '/bench/noop',
      summary: 'bench-only no-op command',
      auth: 'user',
      idempotent: true,
      body: z.object({ amount: cents, currency: z.string().length(3) }),
      response: z.object({ ok: z.literal(true), amount: cents }),
      handler: ({ body: command }) => ({ ok: true as const, amount: command.amount }),
    });
  },
};

async function openStorage(backend: Backend): Promise<{ storage: Storage; prefix: string; cleanup: () => Promise<void> }> {
  const prefix = `tessera-bench:${randomBytes(4).toString('hex')}:`;
  let sql: SqlClient;
  let dropAfter: (() => Promise<void>) | undefined;
  if (backend === 'postgres') {
    const url = await freshDatabase(databaseUrl!, BENCH_DATABASE);
    sql = connectPostgres({ url, poolSize: connections });
    dropAfter = () => dropDatabase(databaseUrl!, BENCH_DATABASE);
  } else {
    sql = await openPglite({ dataDir: 'memory://' });
  }
  await migrate(sql);
  const eventStore = sqlEventStore(sql);
  const redis = backend === 'redis' ? new Redis(redisUrl!, { maxRetriesPerRequest: 1, enableAutoPipelining: true }) : undefined;
  const storage: Storage = { sql, eventStore, ...(redis ? { redis } : {}), close: () => sql.close() };
  return {
    storage,
    prefix,
    async cleanup() {
      if (redis) {
        await deleteKeysUnder(redis, prefix);
        redis.disconnect();
      }
      await sql.close();
      await dropAfter?.();
    },
  };
}

async function tesseraApp(storage: Storage, prefix: string): Promise<FastifyInstance> {
  const config = loadConfig({
    NODE_ENV: 'production',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    JWT_SECRET: jwtSecret,
    INTERNAL_SERVICE_SECRET: randomBytes(32).toString('hex'),
    INTERNAL_SERVICE_SECRETS: JSON.stringify({ 'ticket-service': randomBytes(32).toString('hex'), 'venue-service': randomBytes(32).toString('hex') }),
    GROUP_PAYMENT_LINK_SECRET: randomBytes(32).toString('hex'),
    WAITING_ROOM_SECRET: randomBytes(32).toString('hex'),
    REDIS_KEY_PREFIX: prefix,
    RATE_LIMIT_GLOBAL_MAX: '1000000000',
    RATE_LIMIT_USER_MAX: '1000000000',
    RATE_LIMIT_ROUTE_MAX: '1000000000',
  });
  const logger = createLogger({ level: config.LOG_LEVEL });
  const app = buildApp({ config, logger, storage, tessera: composeTessera({ config, logger, storage }), edge: edgeStores(config, storage), extraRoutes: [benchRoutes] });
  await app.listen({ host: '127.0.0.1', port: 0 });
  return app;
}

async function bareApp(): Promise<FastifyInstance> {
  const app = Fastify();
  app.post('/bare', () => ({ ok: true, amount: 11_765 }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  return app;
}

async function benchBackend(backend: Backend): Promise<void> {
  const { storage, prefix, cleanup } = await openStorage(backend);
  const tessera = await tesseraApp(storage, prefix);
  const bare = await bareApp();
  const token = await new SignJWT({ role: 'user', tenant_id: 'bench', venues: [] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('bench-user')
    .setExpirationTime('1h')
    .sign(Buffer.from(jwtSecret, 'utf8'));
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  const targets = [
    { name: 'tessera-command', url: `${address(tessera)}/bench/noop` },
    { name: 'bare-fastify', url: `${address(bare)}/bare` },
  ];
  const results = new Map<string, LoadResult[]>(targets.map((target) => [target.name, []]));
  try {
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < targets.length; i++) {
        const target = targets[(i + r) % targets.length]!;
        results.get(target.name)!.push(await load({ url: target.url, headers, body, connections, seconds: seconds / rounds }));
      }
    }
  } finally {
    await tessera.close();
    await bare.close();
    await cleanup();
  }
  const [command, baseline] = targets.map((target) => merge(results.get(target.name)!));
  for (const [target, figures] of [
    [targets[0]!, command!],
    [targets[1]!, baseline!],
  ] as const) {
    console.log(JSON.stringify({ bench: 'http', backend, system: target.name, connections, ...figures }));
  }
  console.log(
    JSON.stringify({
      bench: 'http',
      backend,
      ratio: 'tessera-command / bare-fastify',
      requestsPerSecond: round(command!.requestsPerSecond / baseline!.requestsPerSecond, 3),
      p99: round(command!.p99Ms / baseline!.p99Ms, 2),
    }),
  );
}

for (const backend of backends) await benchBackend(backend);
