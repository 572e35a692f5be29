import { parseArgs } from 'node:util';
import { EXIT, UsageError, type CommandIo } from './cli/read-side-commands.js';
import type { Config } from './config.js';
import { DEFAULT_INTEGRATION_OPTIONS, type IntegrationEventOptions } from './events/integration.js';
import { parsePosition, positionToString, type EventStore, type Position } from './eventstore/event-store.js';
import type { SubscriptionOptions } from './eventstore/subscription.js';
import type { BrokerPublisher } from './gateways/broker.js';
import { createNatsPublisher } from './gateways/broker-nats.js';
import { kafkaPublisher } from './gateways/broker-kafka.js';
import { rabbitmqPublisher } from './gateways/broker-rabbitmq.js';
import type { Logger } from './logger.js';
import { createPublisherMetrics, type PublisherMetricSet } from './api/publisher-metrics.js';
import { deliver, publisherName, republishParked, startPublisher, type PublisherOptions, type RunningPublisher } from './processmanagers/publisher.js';
import { sqlParking, type ParkedWork, type Parking } from './processmanagers/runtime/parking.js';
import { openStorage } from './runtime.js';
import type { RetryPolicy } from './processmanagers/runtime/retry.js';

/**
 * Events out (issue 22), as the composition root runs it: one publisher per configured broker.
 * With no broker configured nothing is published and nothing is started.
 */
export function brokersFor(config: Config): BrokerPublisher[] {
  const brokers: BrokerPublisher[] = [];
  if (config.NATS_URL) brokers.push(createNatsPublisher({ url: config.NATS_URL, stream: config.NATS_STREAM, subjectPrefix: config.NATS_SUBJECT_PREFIX }));
  if (config.RABBITMQ_URL) brokers.push(rabbitmqPublisher({ url: config.RABBITMQ_URL, exchange: config.RABBITMQ_EXCHANGE }));
  if (config.KAFKA_BROKERS.length > 0) brokers.push(kafkaPublisher({ brokers: config.KAFKA_BROKERS, topic: config.KAFKA_TOPIC, clientId: config.KAFKA_CLIENT_ID }));
  return brokers;
}

export const publishRetry = (config: Config): RetryPolicy => ({
  maxAttempts: config.PUBLISH_MAX_ATTEMPTS,
  initialMs: config.PUBLISH_RETRY_INITIAL_MS,
  maxMs: config.PUBLISH_RETRY_MAX_MS,
});

export const integrationOptions = (config: Config): IntegrationEventOptions => ({
  ...DEFAULT_INTEGRATION_OPTIONS,
  sourceBase: config.INTEGRATION_EVENT_SOURCE,
});

export interface Publishing {
  readonly metrics: PublisherMetricSet;
  /** Retries of parked events by source (`publisher:<broker>`), for the runtime's `/admin/parked`. */
  readonly parkedWork: Readonly<Record<string, (work: ParkedWork) => Promise<void>>>;
  start(parking: Parking): void;
  /** Stops the publishers after the batch in hand and closes the brokers' connections. */
  stop(): Promise<void>;
}

export function createPublishing(deps: {
  readonly config: Config;
  readonly store: EventStore;
  readonly brokers: readonly BrokerPublisher[];
  readonly clock: () => Date;
  readonly logger: Logger;
  readonly subscription?: SubscriptionOptions;
}): Publishing {
  const metrics = createPublisherMetrics();
  const integration = integrationOptions(deps.config);
  const options = (broker: BrokerPublisher, parking: Parking): PublisherOptions => ({
    broker,
    parking,
    retry: publishRetry(deps.config),
    integration,
    metrics,
    clock: deps.clock,
    logger: deps.logger,
    ...(deps.subscription ? { subscription: deps.subscription } : {}),
  });
  let running: RunningPublisher[] = [];
  return {
    metrics,
    parkedWork: Object.fromEntries(
      deps.brokers.map((broker) => [publisherName(broker.name), (work: ParkedWork) => republishParked(deps.store, { broker, integration }, work)]),
    ),
    start(parking) {
      if (running.length > 0) return;
      running = deps.brokers.map((broker) => startPublisher(deps.store, options(broker, parking)));
    },
    async stop() {
      await Promise.all(running.splice(0).map((publisher) => publisher.stop()));
      await Promise.all(deps.brokers.map((broker) => broker.close()));
    },
  };
}

/**
 * `tessera publish --from <position>`: sends the integration events of history after `from`
 * ('start': all of it) again, to the brokers named, in `$all` order, with the ids they had
 * the first time (consumers and JetStream's duplicate window drop what they already hold). It
 * leaves the live publishers' checkpoints alone. An event a broker refuses is parked as the live
 * publisher parks it; a broker that keeps refusing everything stops the run (it throws).
 */
export async function republishHistory(
  store: EventStore,
  options: Omit<PublisherOptions, 'metrics'>,
  from: Position | 'start',
  batchSize = 500,
): Promise<{ events: number; last: Position | null }> {
  let after = from;
  let events = 0;
  for (;;) {
    const batch = await store.readAll({ after, maxCount: batchSize });
    const last = batch[batch.length - 1];
    if (!last) return { events, last: after === 'start' ? null : after };
    await deliver(batch, options, () => Promise.resolve());
    events += batch.length;
    after = last.position;
  }
}

export async function publishCommand(config: Config, logger: Logger, args: string[], io: CommandIo): Promise<number> {
  const { values } = parseCommandArgs(args);
  const brokers = brokersFor(config).filter((broker) => values.broker === undefined || broker.name === values.broker);
  if (brokers.length === 0) throw new UsageError(values.broker ? `no ${values.broker} broker is configured` : 'no broker is configured (set NATS_URL, RABBITMQ_URL or KAFKA_BROKERS)');
  if (values.from === undefined) throw new UsageError('--from <position> is required (`start` for all history)');
  let from: Position | 'start';
  try {
    from = values.from === 'start' ? 'start' : parsePosition(values.from);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const storage = await openStorage({ ...config, REDIS_URL: undefined }, logger);
  try {
    const parking = sqlParking(storage.sql);
    for (const broker of brokers) {
      const result = await republishHistory(storage.eventStore, { broker, parking, retry: publishRetry(config), integration: integrationOptions(config), logger }, from);
      io.stdout.write(`${broker.name}: ${result.events} events read, published up to ${result.last ? positionToString(result.last) : 'the start'}\n`);
    }
    return EXIT.ok;
  } finally {
    await Promise.all(brokers.map((broker) => broker.close()));
    await storage.close();
  }
}

function parseCommandArgs(args: string[]) {
  try {
    return parseArgs({ args, options: { from: { type: 'string' }, broker: { type: 'string' } }, allowPositionals: false, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}
