import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { composeTessera } from '../../src/composition.js';
import { edgeStores } from '../../src/runtime.js';
import { buildApp } from '../../src/api/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createPgliteEventStore } from '../../src/eventstore/pglite.js';
import { freshPglite } from '../support/databases.js';

describe('health endpoints', () => {
  let app: FastifyInstance;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const sql = await freshPglite();
    const eventStore = createPgliteEventStore(sql);
    const storage = { sql, eventStore, close: () => sql.close() };
    const config = loadConfig({});
    const logger = createLogger({ level: 'silent' });
    app = buildApp({ config, logger, storage, tessera: composeTessera({ config, logger, storage }), edge: edgeStores(config, storage) });
    close = async () => {
      await app.close();
      await storage.close();
    };
  });
  afterAll(() => close());

  it('answers liveness without touching storage', async () => {
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'healthy', service: 'tessera' });
  });

  it('answers readiness after checking the event store', async () => {
    const response = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ components: { eventStore: 'healthy' } });
  });
});
