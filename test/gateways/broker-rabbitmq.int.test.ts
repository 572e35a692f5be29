import { randomUUID } from 'node:crypto';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { connect, type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BrokerPublisher, OutboundMessage } from '../../src/gateways/broker.js';
import { CLOUDEVENTS_CONTENT_TYPE, PARTITION_KEY_HEADER, rabbitmqPublisher } from '../../src/gateways/broker-rabbitmq.js';
import { sqlParking } from '../../src/processmanagers/runtime/parking.js';
import { killAndRestartCase } from '../processmanagers/publisher-contract.js';
import { backends, type Backend } from '../support/backends.js';
import { env } from '../support/databases.js';

/**
 * The RabbitMQ publisher against a real broker (RABBITMQ_URL). Each case publishes to an exchange
 * of its own, read through an exclusive queue bound to it, and deletes the exchange after. Under
 * the publisher, the kill-and-restart case NATS runs too (test/processmanagers/publisher-contract.ts).
 */
const url = env.rabbitmqUrl;

function message(type: string, key: string, n: number): OutboundMessage {
  const id = randomUUID();
  const body = JSON.stringify({ specversion: '1.0', id, type, source: '/tessera/test', data: { n } });
  return { id, type, key, body };
}

/** The message's id (amqplib types message properties as any). */
const idOf = (m: GetMessage): unknown => m.properties.messageId;

/** A message as the publisher sent it, read back from the properties the adapter sets. */
const outbound = (m: GetMessage): OutboundMessage => ({
  id: String(m.properties.messageId),
  type: String(m.properties.type),
  key: String(m.properties.headers?.[PARTITION_KEY_HEADER]),
  body: m.content.toString('utf8'),
});

async function drain(channel: Channel, queue: string): Promise<GetMessage[]> {
  const got: GetMessage[] = [];
  for (;;) {
    const next = await channel.get(queue, { noAck: true });
    if (next === false) return got;
    got.push(next);
  }
}

/** A TCP hop between the publisher and RabbitMQ that the test can cut, as a dropped connection. */
async function cuttableProxy(target: URL): Promise<{ url: string; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(Number(target.port || 5672), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  const proxied = new URL(target.href);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(address.port);
  return {
    url: proxied.href,
    cut: () => sockets.forEach((socket) => socket.destroy()),
    close: () => {
      sockets.forEach((socket) => socket.destroy());
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe.runIf(url)('RabbitMQ publisher (RABBITMQ_URL)', () => {
  const brokerUrl = url ?? '';
  let admin: ChannelModel;
  let channel: Channel;
  let exchange: string;
  let queue: string;
  let publisher: BrokerPublisher;

  beforeAll(async () => {
    admin = await connect(brokerUrl);
    channel = await admin.createChannel();
  });
  afterAll(async () => {
    await admin.close();
  });

  beforeEach(async () => {
    exchange = `tessera.test.${randomUUID()}`;
    // The exchange is declared here as the publisher declares it, so the queue can bind first.
    await channel.assertExchange(exchange, 'topic', { durable: true });
    queue = (await channel.assertQueue('', { exclusive: true })).queue;
    await channel.bindQueue(queue, exchange, '#');
    publisher = rabbitmqPublisher({ url: brokerUrl, exchange });
  });
  afterEach(async () => {
    await publisher.close();
    await channel.deleteQueue(queue);
    await channel.deleteExchange(exchange);
  });

  it('routes each message by its CloudEvent type and delivers a batch in order, persistent, with its id, content type and key', async () => {
    const batch = [
      message('com.tessera.payment.requested', 'pay-1', 1),
      message('com.tessera.payment.completed', 'pay-1', 2),
      message('com.tessera.refund.completed', 'pay-2', 3),
    ];
    await publisher.publish(batch);

    const got = await drain(channel, queue);
    expect(got.map(idOf)).toEqual(batch.map((m) => m.id));
    expect(got.map((m) => m.fields.routingKey)).toEqual(batch.map((m) => m.type));
    expect(got.map((m) => m.fields.exchange)).toEqual(batch.map(() => exchange));
    expect(got.map((m) => m.content.toString('utf8'))).toEqual(batch.map((m) => m.body));
    for (const [i, m] of got.entries()) {
      expect(m.properties.contentType).toBe(CLOUDEVENTS_CONTENT_TYPE);
      expect(m.properties.deliveryMode).toBe(2);
      expect(m.properties.type).toBe(batch[i]?.type);
      expect(m.properties.headers?.[PARTITION_KEY_HEADER]).toBe(batch[i]?.key);
    }
  });

  it('lets a consumer bind to the types it wants', async () => {
    const payments = (await channel.assertQueue('', { exclusive: true })).queue;
    await channel.bindQueue(payments, exchange, 'com.tessera.payment.#');
    const batch = [message('com.tessera.payment.completed', 'p', 1), message('com.tessera.refund.completed', 'p', 2)];
    await publisher.publish(batch);
    expect((await drain(channel, payments)).map(idOf)).toEqual([batch[0]?.id]);
    await channel.deleteQueue(payments);
  });

  it('resolves only once the broker holds every message of a large batch', async () => {
    const batch = Array.from({ length: 2_000 }, (_, n) => message('com.tessera.payment.completed', `pay-${n % 7}`, n));
    await publisher.publish(batch);
    // No waiting: a confirm for a routed persistent message comes after the queue has taken it.
    expect((await channel.checkQueue(queue)).messageCount).toBe(batch.length);
    expect((await drain(channel, queue)).map(idOf)).toEqual(batch.map((m) => m.id));
  });

  it('delivers a batch sent again twice, with the same ids: consumers de-duplicate', async () => {
    const batch = [message('com.tessera.payment.completed', 'pay-1', 1)];
    await publisher.publish(batch);
    await publisher.publish(batch);
    const ids = (await drain(channel, queue)).map(idOf);
    expect(ids).toEqual([batch[0]?.id, batch[0]?.id]);
  });

  it('rejects a batch the server refuses (its exchange deleted), then reopens and delivers the next', async () => {
    await publisher.publish([message('com.tessera.payment.requested', 'pay-1', 0)]);
    await channel.deleteExchange(exchange);
    // The server closes the publisher's channel: publishing to a missing exchange is a channel error.
    await expect(publisher.publish([message('com.tessera.payment.completed', 'pay-1', 1)])).rejects.toThrow();

    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.bindQueue(queue, exchange, '#');
    const next = message('com.tessera.payment.completed', 'pay-1', 2);
    await publisher.publish([next]);
    const ids = (await drain(channel, queue)).map(idOf);
    expect(ids.at(-1)).toBe(next.id);
  });

  it('never resolves a batch it could not deliver when its connection drops, and reconnects on the next publish', async () => {
    const proxy = await cuttableProxy(new URL(brokerUrl));
    const cutPublisher = rabbitmqPublisher({ url: proxy.url, exchange });
    try {
      await cutPublisher.publish([message('com.tessera.payment.requested', 'pay-1', 0)]);
      const delivered: string[] = [];
      for (let round = 0; round < 5; round++) {
        const batch = Array.from({ length: 300 }, (_, n) => message('com.tessera.payment.completed', 'pay-1', n));
        const sent = cutPublisher.publish(batch);
        proxy.cut();
        const outcome = await sent.then(
          () => 'resolved' as const,
          () => 'rejected' as const,
        );
        if (outcome === 'resolved') delivered.push(...batch.map((m) => m.id));
      }
      const after = message('com.tessera.payment.completed', 'pay-1', 999);
      await cutPublisher.publish([after]);
      delivered.push(after.id);

      const ids = new Set((await drain(channel, queue)).map((m) => String(idOf(m))));
      for (const id of delivered) expect(ids.has(id)).toBe(true);
    } finally {
      await cutPublisher.close();
      await proxy.close();
    }
  });

  it('refuses to publish once closed', async () => {
    await publisher.close();
    await expect(publisher.publish([message('com.tessera.payment.completed', 'p', 1)])).rejects.toThrow(/closed/);
  });

  for (const backend of backends()) {
    describe(`under the publisher on ${backend.name}`, () => {
      let db: Backend;
      beforeAll(async () => {
        db = await backend.open();
      });
      afterAll(async () => {
        await db.close();
      });

      it('killed mid-stream and restarted, the queue holds every event at least once, repeats with the same id, in order per aggregate', async () => {
        // The queue is bound before anything is published (beforeEach), so it holds all of it;
        // what it holds is taken off it as it is read, and kept here in arrival order.
        const arrived: OutboundMessage[] = [];
        const { repeats } = await killAndRestartCase(db.store, sqlParking(db.sql), {
          broker: () => rabbitmqPublisher({ url: brokerUrl, exchange }),
          delivered: async () => {
            arrived.push(...(await drain(channel, queue)).map(outbound));
            return [...arrived];
          },
        });
        // The batch whose confirm was lost was sent again by the restarted publisher: RabbitMQ
        // does not de-duplicate, so the queue holds it twice, and consumers drop the repeat by id.
        expect(repeats).toBeGreaterThan(0);
      });
    });
  }
});
