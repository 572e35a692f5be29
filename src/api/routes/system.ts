import { z } from 'zod';
import { eventStoreKind } from '../../config.js';
import type { RouteModule } from '../route.js';
import { SERVICE_NAME, VERSION } from '../version.js';

const componentStatus = z.enum(['healthy', 'unhealthy']);

const liveness = z.object({
  status: z.literal('healthy'),
  service: z.string(),
  version: z.string(),
  timestamp: z.string(),
  uptimeSeconds: z.number().int().nonnegative(),
});

const readiness = z.object({
  status: componentStatus,
  service: z.string(),
  timestamp: z.string(),
  components: z.object({
    eventStore: componentStatus,
    database: componentStatus,
    redis: componentStatus.optional().describe('Present when REDIS_URL is set'),
  }),
});

const info = z.object({
  service: z.string(),
  version: z.string(),
  port: z.number().int(),
  environment: z.string(),
  storage: z.object({
    eventStore: z.enum(['postgres', 'pglite', 'eventstoredb']),
    readModels: z.enum(['postgres', 'pglite']),
    idempotency: z.enum(['sql', 'redis']),
    rateLimits: z.enum(['memory', 'redis']),
  }),
  features: z.record(z.string(), z.boolean()),
  docs: z.string(),
  status: z.literal('running'),
});

// Each check gets this long; a component that takes longer is reported unhealthy.
const CHECK_TIMEOUT_MS = 2_000;

/**
 * /health (liveness: the process answers), /health/ready (each configured component answers,
 * 503 otherwise), /info (seed #18: what this instance runs) and /metrics (Prometheus).
 */
export const systemRoutes: RouteModule = {
  name: 'system',
  register(api) {
    const startedAt = Date.now();
    const ops = { tags: ['system'], auth: 'public', rateLimit: false } as const;

    api.route({
      ...ops,
      method: 'GET',
      url: '/health',
      summary: 'Liveness: the process is up and answering',
      response: liveness,
      handler: () => ({
        status: 'healthy' as const,
        service: SERVICE_NAME,
        version: VERSION,
        timestamp: api.services.clock().toISOString(),
        uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000),
      }),
    });

    api.route({
      ...ops,
      method: 'GET',
      url: '/health/ready',
      summary: 'Readiness: the event store, the SQL database and Redis (when configured) answer',
      response: readiness,
      otherStatuses: [503],
      handler: async ({ setStatus }) => {
        const { eventStore, sql, redis } = api.storage;
        const [eventStoreOk, databaseOk, redisOk] = await Promise.all([
          check(() => eventStore.ping()),
          check(() => sql.query('SELECT 1')),
          redis ? check(() => redis.ping()) : Promise.resolve(undefined),
        ]);
        const healthy = eventStoreOk && databaseOk && redisOk !== false;
        if (!healthy) setStatus(503);
        return {
          status: statusOf(healthy),
          service: SERVICE_NAME,
          timestamp: api.services.clock().toISOString(),
          components: {
            eventStore: statusOf(eventStoreOk),
            database: statusOf(databaseOk),
            ...(redisOk === undefined ? {} : { redis: statusOf(redisOk) }),
          },
        };
      },
    });

    api.route({
      tags: ['system'],
      auth: 'public',
      method: 'GET',
      url: '/info',
      summary: 'What this instance runs: version, storage adapters and features',
      response: info,
      handler: () => ({
        service: SERVICE_NAME,
        version: VERSION,
        port: api.config.PORT,
        environment: api.config.NODE_ENV,
        storage: {
          eventStore: eventStoreKind(api.config),
          readModels: api.storage.sql.dialect,
          idempotency: api.edge.idempotency,
          rateLimits: api.edge.rateLimits,
        },
        features: { ...api.features },
        docs: '/docs',
        status: 'running' as const,
      }),
    });

    api.route({
      ...ops,
      method: 'GET',
      url: '/metrics',
      summary: 'Prometheus metrics',
      contentType: api.metrics.contentType,
      response: z.string(),
      handler: () => api.metrics.metrics(),
    });
  },
};

async function check(probe: () => Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([probe().then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

const statusOf = (ok: boolean): z.output<typeof componentStatus> => (ok ? 'healthy' : 'unhealthy');
