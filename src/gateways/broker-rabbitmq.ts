import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { BrokerPublisher, OutboundMessage } from './broker.js';

/**
 * Events out to RabbitMQ (issue 22): every integration event goes to one durable topic exchange,
 * routed by its CloudEvent type (`com.tessera.payment.completed`), so a consumer binds a queue to
 * `com.tessera.payment.#` or `#`. Messages are persistent and sent on a confirm channel:
 * `publish` resolves only once the broker has confirmed every message of the batch. An exchange
 * with no queue bound drops what it is sent and still confirms it: bindings are the consumers'
 * business, as with any topic exchange.
 *
 * RabbitMQ does not de-duplicate: a batch sent again after a failure arrives again, with the same
 * `messageId` (the CloudEvent id), and consumers de-duplicate by it.
 */
export interface RabbitMqOptions {
  /** amqp://user:password@host:5672/vhost */
  readonly url: string;
  readonly exchange: string;
}

export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json';
/** The header carrying the partition key (the aggregate id): per-key order for consumers that shard. */
export const PARTITION_KEY_HEADER = 'partitionkey';

interface Link {
  readonly model: ChannelModel;
  readonly channel: ConfirmChannel;
  broken: boolean;
}

export function rabbitmqPublisher(options: RabbitMqOptions): BrokerPublisher {
  let link: Promise<Link> | undefined;
  let closed = false;

  async function open(): Promise<Link> {
    const model = await connect(options.url);
    try {
      const channel = await model.createConfirmChannel();
      await channel.assertExchange(options.exchange, 'topic', { durable: true });
      const opened: Link = { model, channel, broken: false };
      // A connection or channel the server closes (or that errors) is dropped, and the next
      // publish opens a new one. Unconfirmed messages are rejected by amqplib on close.
      const drop = () => {
        opened.broken = true;
      };
      for (const emitter of [model, channel]) {
        emitter.on('error', drop);
        emitter.on('close', drop);
      }
      return opened;
    } catch (error) {
      await model.close().catch(() => undefined);
      throw error;
    }
  }

  async function current(): Promise<Link> {
    if (link) {
      const existing = await link.catch(() => undefined);
      if (existing && !existing.broken) return existing;
      if (existing) await existing.model.close().catch(() => undefined);
    }
    link = open();
    return link;
  }

  return {
    name: 'rabbitmq',
    async publish(messages: readonly OutboundMessage[]): Promise<void> {
      if (closed) throw new Error('the RabbitMQ publisher is closed');
      if (messages.length === 0) return;
      const opened = await current();
      const confirms: Promise<void>[] = [];
      try {
        for (const message of messages) confirms.push(sendOne(opened.channel, options.exchange, message));
      } catch (error) {
        // amqplib throws at once on a channel already closed: the next publish opens a new one.
        opened.broken = true;
        throw error;
      }
      // Every message's own confirm, so a nack or a closed channel rejects the batch.
      await Promise.all(confirms);
      await opened.channel.waitForConfirms();
    },
    async close(): Promise<void> {
      closed = true;
      const existing = await link?.catch(() => undefined);
      link = undefined;
      // A channel the server closed may leave its connection open: close that too.
      await existing?.model.close().catch(() => undefined);
    },
  };
}

function sendOne(channel: ConfirmChannel, exchange: string, message: OutboundMessage): Promise<void> {
  let settle: (error: unknown) => void = () => undefined;
  const confirmed = new Promise<void>((resolve, reject) => {
    settle = (error: unknown) => (error ? reject(error instanceof Error ? error : new Error('RabbitMQ did not confirm the message', { cause: error })) : resolve());
  });
  // amqplib buffers what the socket cannot take yet, in order; a false return only asks the
  // caller to slow down, and the confirm below is what says the broker has the message.
  channel.publish(
    exchange,
    message.type,
    Buffer.from(message.body, 'utf8'),
    {
      persistent: true,
      messageId: message.id,
      type: message.type,
      contentType: CLOUDEVENTS_CONTENT_TYPE,
      headers: { [PARTITION_KEY_HEADER]: message.key },
    },
    (error: unknown) => settle(error),
  );
  // The batch awaits every confirm; once one has failed, the others' failures are already told.
  confirmed.catch(() => undefined);
  return confirmed;
}
