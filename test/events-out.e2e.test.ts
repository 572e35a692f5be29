import { randomBytes, randomUUID } from 'node:crypto';
import { connect as amqpConnect, type Channel, type ChannelModel } from 'amqplib';
import { connect as natsConnect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../src/domain/webhooks.js';
import type { CloudEvent } from '../src/events/integration.js';
import { bearer, testApp, type TestApp } from './support/app.js';
import { env } from './support/databases.js';
import { completedPurchase, venueAt } from './support/payments-http.js';
import { eventually } from './support/poll.js';
import { startTestSmtpServer, type TestSmtpServer } from './support/smtp.js';
import { startWebhookReceiver, type TestWebhookReceiver } from './support/webhook-receiver.js';

/**
 * Events out, end to end (issue 22): one purchase through the API, and the world hears of it
 * every way Tessera tells it: `payment.completed` on NATS JetStream and on RabbitMQ (the same
 * CloudEvent, the same id), a signed webhook to the tenant's endpoint, and a receipt in the
 * buyer's mailbox. Runs where NATS_URL and RABBITMQ_URL are set (CI starts both).
 */
const natsUrl = process.env.NATS_URL || undefined;
const rabbitmqUrl = env.rabbitmqUrl;
const PAYMENT_COMPLETED = 'com.tessera.payment.completed';

describe.runIf(natsUrl && rabbitmqUrl)('a purchase, told to the world (NATS_URL and RABBITMQ_URL)', () => {
  const suffix = randomBytes(4).toString('hex');
  const stream = `TESSERA_E2E_${suffix}`;
  const subjectPrefix = `tessera-e2e-${suffix}.`;
  const exchange = `tessera.e2e.${suffix}`;
  let t: TestApp;
  let smtp: TestSmtpServer;
  let hooks: TestWebhookReceiver;
  let nc: NatsConnection;
  let amqp: ChannelModel;
  let channel: Channel;
  let queue: string;

  beforeAll(async () => {
    smtp = await startTestSmtpServer();
    hooks = await startWebhookReceiver();
    nc = await natsConnect({ servers: natsUrl });
    amqp = await amqpConnect(rabbitmqUrl!);
    channel = await amqp.createChannel();
    // The order service's queue, bound before anything is published (declared as the publisher declares the exchange).
    await channel.assertExchange(exchange, 'topic', { durable: true });
    queue = (await channel.assertQueue('', { exclusive: true })).queue;
    await channel.bindQueue(queue, exchange, 'com.tessera.payment.#');
    t = await testApp({
      background: true,
      env: {
        DEADLINE_POLL_MS: '20',
        PM_RETRY_INITIAL_MS: '20',
        PM_RETRY_MAX_MS: '100',
        NATS_URL: natsUrl!,
        NATS_STREAM: stream,
        NATS_SUBJECT_PREFIX: subjectPrefix,
        RABBITMQ_URL: rabbitmqUrl!,
        RABBITMQ_EXCHANGE: exchange,
        SMTP_URL: smtp.url,
        MAIL_FROM: 'tickets@example.com',
        WEBHOOK_ALLOW_HTTP: 'true',
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOK_POLL_MS: '50',
      },
    });
  });
  afterAll(async () => {
    await t.close();
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(stream).catch(() => false);
    await nc.drain();
    await channel.deleteQueue(queue);
    await channel.deleteExchange(exchange);
    await amqp.close();
    await hooks.close();
    await smtp.close();
  });

  /** Every CloudEvent the JetStream stream holds. */
  const natsEvents = async (): Promise<{ subject: string; msgId: string | undefined; event: CloudEvent }[]> => {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(stream).catch(() => undefined);
    if (!info || info.state.messages === 0) return [];
    const found = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const stored = await jsm.streams.getMessage(stream, { seq });
      found.push({ subject: stored.subject, msgId: stored.header.get('Nats-Msg-Id') || undefined, event: JSON.parse(stored.string()) as CloudEvent });
    }
    return found;
  };
  const rabbitEvents: { routingKey: string; messageId: unknown; event: CloudEvent }[] = [];
  const drainRabbit = async () => {
    for (;;) {
      const got = await channel.get(queue, { noAck: true });
      if (got === false) return rabbitEvents;
      rabbitEvents.push({ routingKey: got.fields.routingKey, messageId: got.properties.messageId, event: JSON.parse(got.content.toString('utf8')) as CloudEvent });
    }
  };

  it('publishes payment.completed to NATS and RabbitMQ, POSTs a signed webhook and mails a receipt', async () => {
    const admin = await bearer({ role: 'admin', sub: 'admin-1' });
    const registered = await t.app.inject({
      method: 'POST',
      url: '/api/v1/webhook-endpoints',
      headers: { ...admin, 'idempotency-key': randomUUID() },
      payload: { url: `${hooks.url}/tessera`, eventTypes: [PAYMENT_COMPLETED] },
    });
    expect(registered.statusCode, registered.body).toBe(201);
    const { secret } = registered.json<{ secret: string }>();

    const venueId = await venueAt(t);
    const transaction = await completedPurchase(t, venueId, { headers: await bearer({ sub: 'buyer-e2e', email: 'buyer-e2e@example.com' }) });
    const completed = (e: CloudEvent) => e.type === PAYMENT_COMPLETED && e.subject === transaction.id;

    const onNats = await eventually(async () => (await natsEvents()).find((m) => completed(m.event)), { timeoutMs: 15_000 });
    const onRabbit = await eventually(async () => (await drainRabbit()).find((m) => completed(m.event)), { timeoutMs: 15_000 });
    const hook = await eventually(() => hooks.received.find((h) => completed(JSON.parse(h.body) as CloudEvent)), { timeoutMs: 15_000 });
    const receipt = await eventually(() => smtp.received.find((mail) => mail.to.includes('buyer-e2e@example.com') && mail.header('subject')?.includes(transaction.id)), {
      timeoutMs: 15_000,
    });

    // One fact, one id everywhere: consumers de-duplicate across channels by it.
    const webhookEvent = JSON.parse(hook.body) as CloudEvent;
    expect(onNats.event).toEqual(webhookEvent);
    expect(onRabbit.event).toEqual(webhookEvent);
    expect(onNats.msgId).toBe(webhookEvent.id);
    expect(onRabbit.messageId).toBe(webhookEvent.id);
    expect(onNats.subject).toBe(`${subjectPrefix}${PAYMENT_COMPLETED}`);
    expect(onRabbit.routingKey).toBe(PAYMENT_COMPLETED);
    expect(webhookEvent).toMatchObject({ specversion: '1.0', tenantid: 'tenant-1', partitionkey: transaction.id, data: { paymentId: transaction.id, amount: transaction.amount } });
    expect(verifySignature(hook.headers['tessera-signature'] as string, hook.body, secret, new Date())).toMatchObject({ ok: true });
    expect(receipt.decoded).toContain(`Transaction: ${transaction.id}`);
    // No card data anywhere it went.
    for (const body of [hook.body, JSON.stringify(onNats.event), receipt.raw]) expect(body).not.toContain('pm_card_visa');
  });
});
