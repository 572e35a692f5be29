import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../runtime.js';

export interface AppDependencies {
  readonly config: Config;
  readonly logger: Logger;
  readonly storage: Storage;
}

/** Builds the HTTP application without listening, so tests can drive it with `inject`. */
export function buildApp({ logger, storage }: AppDependencies): FastifyInstance {
  // Typed as fastify's logger so the instance keeps fastify's default generics.
  const loggerInstance: FastifyBaseLogger = logger;
  const app = Fastify({ loggerInstance });
  app.get('/health', () => ({ status: 'healthy', service: 'tessera', timestamp: new Date().toISOString() }));
  app.get('/health/ready', async (_request, reply) => {
    try {
      await storage.eventStore.ping();
      return { status: 'ready', components: { eventStore: 'healthy' } };
    } catch {
      return reply.code(503).send({ status: 'unavailable', components: { eventStore: 'unhealthy' } });
    }
  });
  return app;
}
