import { Kafka, Partitioners, logLevel, type Message, type Producer } from 'kafkajs';
import type { BrokerPublisher, OutboundMessage } from './broker.js';

/**
 * Events out to Kafka (issue 22): every integration event goes to one topic, keyed by its
 * partition key (the aggregate id), so one aggregate's events share a partition and keep their
 * order. The value is the CloudEvent in structured mode (`content-type:
 * application/cloudevents+json`); `ce_id` and `ce_type` are repeated as headers so a consumer can
 * filter or de-duplicate without parsing the value.
 *
 * The producer is idempotent with one request in flight: a retried produce request is written
 * once by the broker (producer id and sequence numbers) and never overtakes the one before it.
 * `publish` sends the batch with `acks: -1` and resolves once every in-sync replica has it.
 * An idempotent producer de-duplicates its own retries only, not a batch sent again after a
 * failure: consumers de-duplicate by `ce_id`.
 */
export interface KafkaOptions {
  readonly brokers: readonly string[];
  readonly topic: string;
  readonly clientId: string;
}

export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';

export function kafkaPublisher(options: KafkaOptions): BrokerPublisher {
  const kafka = new Kafka({ clientId: options.clientId, brokers: [...options.brokers], logLevel: logLevel.WARN });
  let producer: Producer | undefined;
  let connecting: Promise<Producer> | undefined;
  let closed = false;

  async function connected(): Promise<Producer> {
    connecting ??= (async () => {
      const created = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        // murmur2 on the key, as the Java client partitions: every producer of these events agrees.
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await created.connect();
      producer = created;
      return created;
    })();
    try {
      return await connecting;
    } catch (error) {
      connecting = undefined;
      throw error;
    }
  }

  async function reset(): Promise<void> {
    const stale = producer;
    producer = undefined;
    connecting = undefined;
    await stale?.disconnect().catch(() => undefined);
  }

  return {
    name: 'kafka',
    async publish(messages: readonly OutboundMessage[]): Promise<void> {
      if (closed) throw new Error('the Kafka publisher is closed');
      if (messages.length === 0) return;
      const ready = await connected();
      try {
        await ready.send({ topic: options.topic, acks: -1, messages: messages.map(toKafkaMessage) });
      } catch (error) {
        // Whatever went wrong, the next publish starts from a new connection and producer id.
        await reset();
        throw error;
      }
    },
    async close(): Promise<void> {
      closed = true;
      await reset();
    },
  };
}

export function toKafkaMessage(message: OutboundMessage): Message {
  return {
    key: message.key,
    value: message.body,
    headers: { 'content-type': CLOUDEVENTS_CONTENT_TYPE, ce_id: message.id, ce_type: message.type },
  };
}
