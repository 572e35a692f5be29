import type { Config } from './config.js';
import { DEFAULT_INTEGRATION_OPTIONS, type IntegrationEventOptions } from './events/integration.js';
import type { EventStore } from './eventstore/event-store.js';
import type { SubscriptionOptions } from './eventstore/subscription.js';
import type { BrokerPublisher } from './gateways/broker.js';
import { createNatsPublisher } from './gateways/broker-nats.js';
import type { Logger } from './logger.js';
import { createPublisherMetrics, type PublisherMetricSet } from './api/publisher-metrics.js';
import { publisherName, republishParked, startPublisher, type PublisherOptions, type RunningPublisher } from './processmanagers/publisher.js';
import type { ParkedWork, Parking } from './processmanagers/runtime/parking.js';
import type { RetryPolicy } from './processmanagers/runtime/retry.js';

/**
 * Events out (issue 22), as the composition root runs it: one publisher per configured broker.
 * With no broker configured nothing is published and nothing is started.
 */
export function brokersFor(config: Config): BrokerPublisher[] {
  const brokers: BrokerPublisher[] = [];
  if (config.NATS_URL) brokers.push(createNatsPublisher({ url: config.NATS_URL, stream: config.NATS_STREAM, subjectPrefix: config.NATS_SUBJECT_PREFIX }));
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
