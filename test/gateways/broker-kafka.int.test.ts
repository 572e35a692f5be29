import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin, type Consumer, type KafkaMessage } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerPublisher, OutboundMessage } from '../../src/gateways/broker.js';
import { CLOUDEVENTS_CONTENT_TYPE, kafkaPublisher } from '../../src/gateways/broker-kafka.js';
import { env } from '../support/databases.js';
import { eventually } from '../support/poll.js';

/**
 * The Kafka publisher against a real cluster (KAFKA_BROKERS, a comma list of host:port). Each run
 * publishes to a topic of its own, read back by a consumer from the beginning, and deletes it after.
 */
const brokers = env.kafkaBrokers?.split(',').map((broker) => broker.trim()).filter((broker) => broker !== '');

function message(type: string, key: string, n: number): OutboundMessage {
  const id = randomUUID();
  const body = JSON.stringify({ specversion: '1.0', id, type, source: '/tessera/test', data: { n } });
  return { id, type, key, body };
}

const header = (m: KafkaMessage, name: string) => m.headers?.[name]?.toString();

describe.runIf(brokers && brokers.length > 0)('Kafka publisher (KAFKA_BROKERS)', () => {
  const topic = `tessera.test.${randomUUID()}`;
  const kafka = new Kafka({ clientId: 'tessera-test', brokers: brokers ?? [], logLevel: logLevel.WARN });
  const received: KafkaMessage[] = [];
  let admin: Admin;
  let consumer: Consumer;
  let publisher: BrokerPublisher;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    consumer = kafka.consumer({ groupId: `tessera-test-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message: m }) => {
        received.push(m);
        return Promise.resolve();
      },
    });
    publisher = kafkaPublisher({ brokers: brokers ?? [], topic, clientId: 'tessera-test' });
  });
  afterAll(async () => {
    await publisher.close();
    await consumer.disconnect();
    await admin.deleteTopics({ topics: [topic] });
    await admin.disconnect();
  });

  it('keys each message by its aggregate and keeps one aggregate in order, with the CloudEvent headers', async () => {
    const batch = Array.from({ length: 30 }, (_, n) => message('com.tessera.payment.completed', `pay-${n % 3}`, n));
    await publisher.publish(batch);
    await eventually(() => (batch.every((m) => received.some((r) => header(r, 'ce_id') === m.id)) ? true : undefined), { timeoutMs: 20_000 });

    for (const key of ['pay-0', 'pay-1', 'pay-2']) {
      const sent = batch.filter((m) => m.key === key).map((m) => m.id);
      const got = received.filter((r) => r.key?.toString() === key).map((r) => header(r, 'ce_id'));
      expect(got).toEqual(sent);
    }
    const first = received.find((r) => header(r, 'ce_id') === batch[0]?.id);
    if (!first) throw new Error('the first message did not arrive');
    expect(first.value?.toString()).toBe(batch[0]?.body);
    expect(header(first, 'ce_type')).toBe('com.tessera.payment.completed');
    expect(header(first, 'content-type')).toBe(CLOUDEVENTS_CONTENT_TYPE);
  });

  it('delivers a batch sent again a second time with the same ids: consumers de-duplicate', async () => {
    const batch = [message('com.tessera.payment.completed', 'pay-9', 1)];
    await publisher.publish(batch);
    await publisher.publish(batch);
    const copies = await eventually(() => {
      const seen = received.filter((r) => header(r, 'ce_id') === batch[0]?.id);
      return seen.length >= 2 ? seen : undefined;
    }, { timeoutMs: 20_000 });
    expect(copies.map((r) => r.key?.toString())).toEqual(['pay-9', 'pay-9']);
  });
});
