import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INTEGRATION_OPTIONS, type CloudEvent } from '../../src/events/integration.js';
import type { BrokerPublisher, OutboundMessage } from '../../src/gateways/broker.js';
import { sqlParking } from '../../src/processmanagers/runtime/parking.js';
import { parkedPublishId, publisherName, republishParked, startPublisher, type PublisherOptions } from '../../src/processmanagers/publisher.js';
import { backends, type Backend } from '../support/backends.js';
import { eventually } from '../support/poll.js';
import { appendPayments, assertAtLeastOnceInOrder, fastRetry, killAndRestartCase } from './publisher-contract.js';

/** A broker in memory: what it acknowledged, in order; `refuse` makes it refuse a batch. */
function memoryBroker(refuse: (messages: readonly OutboundMessage[]) => boolean = () => false) {
  const taken: OutboundMessage[] = [];
  const broker: BrokerPublisher = {
    name: 'nats',
    publish(messages) {
      if (refuse(messages)) return Promise.reject(new Error('broker refused the batch'));
      taken.push(...messages);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  return { broker, taken };
}

/** Each aggregate's event ids, de-duplicated and ordered by the envelope's sequence, as a consumer would. */
const inSequence = (delivered: readonly OutboundMessage[]): Map<string, string[]> => {
  const byKey = new Map<string, Map<string, string>>();
  for (const message of delivered) {
    const { sequence } = JSON.parse(message.body) as CloudEvent;
    byKey.set(message.key, (byKey.get(message.key) ?? new Map<string, string>()).set(sequence, message.id));
  }
  return new Map([...byKey].map(([key, ids]) => [key, [...ids].sort(([a], [b]) => a.localeCompare(b)).map(([, id]) => id)]));
};

const subscription = { batchSize: 10, idleWaitMs: 20, retryInitialMs: 5, retryMaxMs: 20, standbyRetryMs: 20 };

for (const backend of backends()) {
  describe(`the integration-event publisher on ${backend.name}`, () => {
    let db: Backend;
    beforeAll(async () => {
      db = await backend.open();
    });
    afterAll(async () => {
      await db.close();
    });
    const options = (broker: BrokerPublisher): PublisherOptions => ({
      broker,
      parking: sqlParking(db.sql),
      retry: fastRetry,
      integration: DEFAULT_INTEGRATION_OPTIONS,
      subscription,
    });

    it('killed mid-stream and restarted, delivers every event at least once, repeats with the same id, in order per aggregate', async () => {
      const memory = memoryBroker();
      const { repeats } = await killAndRestartCase(db.store, sqlParking(db.sql), { broker: () => memory.broker, delivered: () => Promise.resolve(memory.taken) });
      // The batches whose acknowledgement was lost went out again (this broker keeps repeats).
      expect(repeats).toBeGreaterThan(0);
    });

    it('parks the one event the broker keeps refusing, moves on, and publishes it when an operator retries', async () => {
      await db.store.checkpoints.store(publisherName('nats'), (await db.store.headPosition())!, await db.store.checkpoints.load(publisherName('nats')));
      const expected = await appendPayments(db.store, 3, 4);
      const poison = [...expected.values()][1]![2]!;
      let refusing = true;
      const memory = memoryBroker((messages) => refusing && messages.some((message) => message.id === poison));
      const publisher = startPublisher(db.store, options(memory.broker));
      const parking = sqlParking(db.sql);
      const parked = await eventually(async () => parking.get(parkedPublishId('nats', poison)), { timeoutMs: 10_000 });
      await eventually(() => (memory.taken.length === 11 ? true : undefined), { timeoutMs: 10_000 });
      await publisher.stop();
      expect(parked.source).toBe('publisher:nats');
      expect(parked.attempts).toBe(5);
      expect(memory.taken.map((m) => m.id)).not.toContain(poison);

      refusing = false;
      await republishParked(db.store, { broker: memory.broker, integration: DEFAULT_INTEGRATION_OPTIONS }, parked);
      // The parked event arrives last: a consumer ordering by sequence puts it back in its place.
      expect(memory.taken.at(-1)!.id).toBe(poison);
      expect(() => assertAtLeastOnceInOrder(memory.taken, expected)).toThrow();
      expect(inSequence(memory.taken)).toEqual(new Map([...expected].map(([key, ids]) => [key, ids])));
    });

    it('parks nothing while the broker is down, and delivers everything once it is back', async () => {
      await db.store.checkpoints.store(publisherName('nats'), (await db.store.headPosition())!, await db.store.checkpoints.load(publisherName('nats')));
      const expected = await appendPayments(db.store, 2, 3);
      let down = true;
      const memory = memoryBroker(() => down);
      const parkedBefore = (await sqlParking(db.sql).list()).length;
      const publisher = startPublisher(db.store, options(memory.broker));
      await eventually(() => (publisher.subscription.status().consecutiveFailures >= 2 ? true : undefined), { timeoutMs: 10_000 });
      expect((await sqlParking(db.sql).list()).length).toBe(parkedBefore);
      down = false;
      await eventually(() => (memory.taken.length === 6 ? true : undefined), { timeoutMs: 10_000 });
      await publisher.stop();
      assertAtLeastOnceInOrder(memory.taken, expected);
      expect((await sqlParking(db.sql).list()).length).toBe(parkedBefore);
    });
  });
}
