import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/read-side-commands.js';
import { loadConfig } from '../../src/config.js';
import { DEFAULT_INTEGRATION_OPTIONS } from '../../src/events/integration.js';
import type { BrokerPublisher, OutboundMessage } from '../../src/gateways/broker.js';
import { createLogger } from '../../src/logger.js';
import { messageOf } from '../../src/processmanagers/publisher.js';
import { sqlParking } from '../../src/processmanagers/runtime/parking.js';
import { publishCommand, republishHistory } from '../../src/publishing.js';
import { backends, type Backend } from '../support/backends.js';
import { appendPayments, assertAtLeastOnceInOrder, fastRetry } from '../processmanagers/publisher-contract.js';

for (const backend of backends()) {
  describe(`tessera publish --from on ${backend.name}`, () => {
    let db: Backend;
    beforeAll(async () => {
      db = await backend.open();
    });
    afterAll(async () => {
      await db.close();
    });
    const memory = () => {
      const taken: OutboundMessage[] = [];
      const broker: BrokerPublisher = { name: 'nats', publish: (m) => Promise.resolve(void taken.push(...m)), close: () => Promise.resolve() };
      return { broker, taken, options: { broker, parking: sqlParking(db.sql), retry: fastRetry, integration: DEFAULT_INTEGRATION_OPTIONS } };
    };

    it('re-publishes all of history in order with the ids the live publisher gives them, or only what follows a position', async () => {
      const expected = await appendPayments(db.store, 4, 5);
      const all = memory();
      const result = await republishHistory(db.store, all.options, 'start', 7);
      expect(result.events).toBe(20);
      assertAtLeastOnceInOrder(all.taken, expected);
      const history = await db.store.readAll({ maxCount: 100 });
      expect(all.taken).toEqual(history.map((event) => messageOf(event, DEFAULT_INTEGRATION_OPTIONS)));

      const tail = memory();
      const middle = history[11]!.position;
      expect((await republishHistory(db.store, tail.options, middle, 7)).events).toBe(8);
      expect(tail.taken.map((m) => m.id)).toEqual(history.slice(12).map((event) => event.id));
    });
  });
}

describe('tessera publish arguments', () => {
  const io = { stdout: { write: () => true }, stderr: { write: () => true } } as never;
  const logger = createLogger({ level: 'silent' });
  it('refuses to run without a configured broker or without --from', async () => {
    await expect(publishCommand(loadConfig({}), logger, ['--from', 'start'], io)).rejects.toThrow(UsageError);
    await expect(publishCommand(loadConfig({ NATS_URL: 'nats://127.0.0.1:4222' }), logger, [], io)).rejects.toThrow(/--from/);
    await expect(publishCommand(loadConfig({ NATS_URL: 'nats://127.0.0.1:4222' }), logger, ['--from', 'yesterday'], io)).rejects.toThrow(UsageError);
    await expect(publishCommand(loadConfig({ NATS_URL: 'nats://127.0.0.1:4222' }), logger, ['--from', 'start', '--broker', 'kafka'], io)).rejects.toThrow(/no kafka broker/);
  });
});
