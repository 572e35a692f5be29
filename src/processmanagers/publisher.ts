import { toCloudEvent, type IntegrationEventOptions } from '../events/integration.js';
import { comparePositions, type EventStore, type Position, type RecordedEvent } from '../eventstore/event-store.js';
import { startSubscription, type Subscription, type SubscriptionConsumer, type SubscriptionOptions } from '../eventstore/subscription.js';
import type { BrokerPublisher, OutboundMessage } from '../gateways/broker.js';
import type { Logger } from '../logger.js';
import type { ParkedWork, Parking } from './runtime/parking.js';
import { describeError, withRetries, type RetryPolicy } from './runtime/retry.js';

/**
 * Events out (issue 22): a publisher is a checkpointed subscription over `$all` (the event store
 * is the outbox), one per broker, named `publisher:<broker>`. It maps each domain event to its
 * integration event (src/events/integration.ts) and hands them to the broker in `$all` order,
 * moving its checkpoint only after the broker acknowledged them: at least once, never skipping.
 *
 * Failures: a batch is retried with exponential backoff; after `retry.maxAttempts` it is sent one
 * event at a time, and an event that still fails alone is parked (`/admin/parked`, retried from
 * there) once the event after it has been acknowledged: a broker that is down acknowledges
 * nothing, so an outage parks nothing and the publisher waits it out. A parked event's later
 * events (of its aggregate too) keep flowing; consumers order one aggregate's events by the
 * envelope's `sequence` and drop repeats by `id`.
 */
export interface PublisherMetrics {
  published(broker: string, events: readonly RecordedEvent[], ackedAt: Date): void;
  failed(broker: string): void;
  /** Where the lag gauge reads how old the oldest event not yet published is (0 when caught up). */
  watch(broker: string, lagSeconds: () => Promise<number>): void;
}

export interface PublisherOptions {
  readonly broker: BrokerPublisher;
  readonly parking: Parking;
  readonly retry: RetryPolicy;
  readonly integration: IntegrationEventOptions;
  readonly metrics?: PublisherMetrics;
  readonly clock?: () => Date;
  readonly logger?: Logger;
  readonly subscription?: SubscriptionOptions;
}

export const publisherName = (broker: string): string => `publisher:${broker}`;
export const parkedPublishId = (broker: string, eventId: string): string => `${publisherName(broker)}:${eventId}`;

/** The broker message of a domain event, or undefined when it publishes nothing. */
export function messageOf(event: RecordedEvent, integration: IntegrationEventOptions): OutboundMessage | undefined {
  const cloudEvent = toCloudEvent(event, integration);
  if (!cloudEvent) return undefined;
  return { id: cloudEvent.id, type: cloudEvent.type, key: cloudEvent.partitionkey, body: JSON.stringify(cloudEvent) };
}

interface Outgoing {
  readonly event: RecordedEvent;
  readonly message: OutboundMessage;
}

/**
 * Publishes `events` in order, calling `acked` with the position up to which everything is
 * acknowledged or parked (the checkpoint may move there). Throws when the broker will not take
 * them (the caller retries from its last acknowledged position).
 */
export async function deliver(
  events: readonly RecordedEvent[],
  options: PublisherOptions,
  acked: (position: Position) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const { broker } = options;
  const clock = options.clock ?? (() => new Date());
  const outgoing: Outgoing[] = [];
  for (const event of events) {
    const message = messageOf(event, options.integration);
    if (message) outgoing.push({ event, message });
  }
  const last = events[events.length - 1];
  if (!last) return;
  const send = async (items: readonly Outgoing[]) => {
    const outcome = await withRetries(
      async () => {
        try {
          await broker.publish(items.map((item) => item.message));
        } catch (error) {
          options.metrics?.failed(broker.name);
          throw error;
        }
      },
      options.retry,
      signal,
    );
    if (outcome.ok) options.metrics?.published(broker.name, items.map((item) => item.event), clock());
    else if (outcome.aborted) throw outcome.error;
    return outcome;
  };
  if (outgoing.length === 0 || (await send(outgoing)).ok) return acked(last.position);

  // The batch keeps failing: one at a time, to find the event the broker refuses.
  let refused: { item: Outgoing; error: unknown; attempts: number } | undefined;
  for (const item of outgoing) {
    const outcome = await send([item]);
    if (outcome.ok) {
      if (refused) await park(refused.item.event, refused.error, refused.attempts, options, clock());
      refused = undefined;
      await acked(item.event.position);
      continue;
    }
    // Two in a row refused: the broker, not the event, is the trouble. Wait, park nothing.
    if (refused) throw outcome.error;
    refused = { item, error: outcome.error, attempts: outcome.attempts };
  }
  if (refused) throw refused.error;
  await acked(last.position);
}

async function park(event: RecordedEvent, error: unknown, attempts: number, options: PublisherOptions, at: Date): Promise<void> {
  const broker = options.broker.name;
  options.logger?.error({ err: error, eventId: event.id, type: event.type, broker }, 'integration event parked');
  await options.parking.park({
    id: parkedPublishId(broker, event.id),
    source: publisherName(broker),
    item: { streamId: event.streamId, revision: event.revision, eventId: event.id, type: event.type },
    error: describeError(error),
    attempts,
    at,
  });
}

/** Publishes a parked event once more (an operator's retry from `/admin/parked`); throws if the broker refuses. */
export async function republishParked(store: EventStore, options: Pick<PublisherOptions, 'broker' | 'integration'>, work: ParkedWork): Promise<void> {
  const streamId = String(work.item.streamId);
  const [event] = await store.readStream(streamId, { fromRevision: Number(work.item.revision), maxCount: 1 });
  if (!event || event.id !== work.item.eventId) throw new Error(`parked event ${String(work.item.eventId)} not found in ${streamId}`);
  const message = messageOf(event, options.integration);
  if (message) await options.broker.publish([message]);
}

export interface RunningPublisher {
  readonly subscription: Subscription;
  stop(): Promise<void>;
}

/** Runs the broker's publisher as a checkpointed subscription (one active instance per broker). */
export function startPublisher(store: EventStore, options: PublisherOptions): RunningPublisher {
  const name = publisherName(options.broker.name);
  const clock = options.clock ?? (() => new Date());
  const stopping = new AbortController();
  let stored: Position | null = null;
  const consumer: SubscriptionConsumer = {
    name,
    async loadCheckpoint() {
      stored = await store.checkpoints.load(name);
      return stored;
    },
    async handleBatch(events) {
      await deliver(events, options, async (position) => {
        if (stored && comparePositions(position, stored) <= 0) return;
        await store.checkpoints.store(name, position, stored);
        stored = position;
      }, stopping.signal);
    },
  };
  options.metrics?.watch(options.broker.name, async () => {
    const { oldest } = await store.backlog(stored);
    return oldest ? Math.max(0, (clock().getTime() - oldest.getTime()) / 1000) : 0;
  });
  const subscription = startSubscription(store, consumer, {
    ...(options.logger ? { logger: options.logger } : {}),
    ...options.subscription,
  });
  return {
    subscription,
    async stop() {
      stopping.abort();
      await subscription.stop();
    },
  };
}
