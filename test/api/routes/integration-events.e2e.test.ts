import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
import { composeTessera, type Tessera } from '../../../src/composition.js';
import { loadConfig } from '../../../src/config.js';
import { createPgliteEventStore } from '../../../src/eventstore/pglite.js';
import type { BrokerPublisher, OutboundMessage } from '../../../src/gateways/broker.js';
import { createLogger } from '../../../src/logger.js';
import { edgeStores } from '../../../src/runtime.js';
import { bearer, testEnv } from '../../support/app.js';
import { freshPglite } from '../../support/databases.js';
import { event } from '../../support/events.js';
import { eventually } from '../../support/poll.js';

describe('events out through the running app', () => {
  let app: FastifyInstance;
  let tessera: Tessera;
  let close: () => Promise<void>;
  const taken: OutboundMessage[] = [];
  let refused = '';
  const broker: BrokerPublisher = {
    name: 'nats',
    publish(messages) {
      if (messages.some((message) => message.id === refused)) return Promise.reject(new Error('broker refused'));
      taken.push(...messages);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };

  beforeAll(async () => {
    const sql = await freshPglite();
    const eventStore = createPgliteEventStore(sql);
    const storage = { sql, eventStore, close: () => sql.close() };
    const config = loadConfig(testEnv({ PUBLISH_RETRY_INITIAL_MS: '5', PUBLISH_RETRY_MAX_MS: '20' }));
    const logger = createLogger({ level: 'silent' });
    tessera = composeTessera({ config, logger, storage, brokers: [broker], idleWaitMs: 20 });
    app = buildApp({ config, logger, storage, tessera, edge: edgeStores(config, storage) });
    await tessera.start();
    close = async () => {
      await tessera.stop();
      await app.close();
      await storage.close();
    };
  });
  afterAll(() => close());

  it('serves the catalogue and each schema to anyone, and 404 for a version never published', async () => {
    const catalogue = await app.inject({ method: 'GET', url: '/api/v1/integration-events' });
    expect(catalogue.statusCode).toBe(200);
    const items = catalogue.json<{ items: { type: string; schema: string }[] }>().items;
    expect(items.map((item) => item.type)).toContain('com.tessera.payment.completed');
    for (const item of items) {
      const schema = await app.inject({ method: 'GET', url: item.schema });
      expect(schema.statusCode, item.schema).toBe(200);
      expect(schema.json()).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' });
    }
    expect((await app.inject({ method: 'GET', url: '/api/v1/integration-events/com.tessera.payment.completed/9/schema' })).statusCode).toBe(404);
  });

  it('publishes a domain event, parks the one the broker refuses for /admin/parked, and publishes it on retry', async () => {
    const capture = (paymentId: string) =>
      event('PaymentCaptured', { paymentId, venueId: 'v1', eventId: 'ev1', userId: 'u1', currency: 'USD', amount: 500 });
    const [bad, good] = [capture(randomUUID()), capture(randomUUID())];
    refused = bad.id;
    await appendTo(tessera, `payment-${(bad.data as { paymentId: string }).paymentId}`, bad);
    await appendTo(tessera, `payment-${(good.data as { paymentId: string }).paymentId}`, good);
    await eventually(() => (taken.some((m) => m.id === good.id) ? true : undefined), { timeoutMs: 15_000 });

    const admin = await bearer({ role: 'admin' });
    const parked = await eventually(async () => {
      const list = (await app.inject({ method: 'GET', url: '/admin/parked', headers: admin })).json<{ items: { id: string; source: string }[] }>();
      return list.items.find((item) => item.id === `publisher:nats:${bad.id}`);
    }, { timeoutMs: 15_000 });
    expect(parked.source).toBe('publisher:nats');
    expect(taken.map((m) => m.id)).not.toContain(bad.id);

    refused = '';
    const retried = await app.inject({ method: 'POST', url: `/admin/parked/${encodeURIComponent(parked.id)}/retry`, headers: { ...admin, 'idempotency-key': randomUUID() } });
    expect(retried.statusCode).toBe(200);
    expect(retried.json<{ resolvedAt: string | null }>().resolvedAt).not.toBeNull();
    expect(taken.at(-1)!.id).toBe(bad.id);

    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/events_published_total\{broker="nats"\} [1-9]/);
    expect(metrics).toMatch(/event_publish_failures_total\{broker="nats"\} [1-9]/);
    expect(metrics).toContain('event_publisher_lag_seconds{broker="nats"}');
    expect(metrics).toContain('event_publish_latency_seconds_bucket');
  });
});

async function appendTo(tessera: Tessera, streamId: string, recorded: ReturnType<typeof event>): Promise<void> {
  await tessera.tail.store.append(streamId, [recorded], { expected: 'no_stream' });
}
