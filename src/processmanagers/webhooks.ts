import { randomUUID } from 'node:crypto';
import { derivedId } from '../domain/ids.js';
import { nextAttemptAt, SIGNATURE_HEADER, signatureHeader, type RetrySchedule } from '../domain/webhooks.js';
import { isPublishedSource, toCloudEvent, type IntegrationEventOptions } from '../events/integration.js';
import type { EventStore, RecordedEvent } from '../eventstore/event-store.js';
import { checkpointAfter, startSubscription, type Subscription, type SubscriptionOptions } from '../eventstore/subscription.js';
import type { WebhookSender } from '../gateways/webhook-sender.js';
import type { AttemptOutcome, AttemptRecord, ClaimedDelivery, NewDelivery, Subscriber, WebhookStore } from '../gateways/webhook-store.js';
import type { Logger } from '../logger.js';
import { describeError } from './runtime/retry.js';

/**
 * Webhooks out (issue 22), in two parts.
 *
 * The fan-out is a checkpointed subscription over `$all` (`webhooks:fan-out`): each integration
 * event becomes one delivery per enabled endpoint of its tenant that wants its type. A delivery's
 * id is derived from the event and the endpoint, so a batch handled again after a crash adds
 * nothing, and the checkpoint moves only after its deliveries are stored: none is lost.
 *
 * The sender takes due deliveries from the table (any number of instances: each claims its own
 * with SKIP LOCKED and a lease), POSTs each CloudEvent signed with the endpoint's secrets, and
 * records the attempt. A 2xx is delivered; anything else (another status, a refused connection, a
 * time-out) is tried again after 30 s, 1 min, 2 min, ... up to 6 h between tries, until three days
 * have passed: then the delivery is dead (the dead-letter list), where its admin can redeliver it.
 * Deliveries are at least once and not ordered among themselves: a receiver drops a repeat by the
 * CloudEvent's `id` and orders one aggregate's events by `sequence`.
 */
export interface WebhookMetrics {
  enqueued(count: number): void;
  attempted(outcome: 'delivered' | 'failed' | 'dead', seconds: number): void;
}

export interface WebhookRuntimeOptions {
  readonly store: EventStore;
  readonly webhooks: WebhookStore;
  readonly sender: WebhookSender;
  readonly integration: IntegrationEventOptions;
  readonly schedule: RetrySchedule;
  /** How often the sender looks for due deliveries when nothing woke it. */
  readonly pollMs: number;
  /** Deliveries sent side by side. */
  readonly concurrency: number;
  /** Attempts in flight to one endpoint at most (across instances), so a slow one cannot take every slot. */
  readonly perEndpoint: number;
  /** The longest one attempt may take (the sender cuts it off there). */
  readonly timeoutMs: number;
  /** Delivered and cancelled deliveries are forgotten this long after they were created. */
  readonly retentionMs: number;
  readonly clock?: () => Date;
  readonly logger?: Logger;
  readonly metrics?: WebhookMetrics;
  readonly subscription?: SubscriptionOptions;
}

export const WEBHOOK_FAN_OUT = 'webhooks:fan-out';
export const WEBHOOK_USER_AGENT = 'Tessera-Webhooks/1.0';

export interface WebhookRuntime {
  readonly subscription: Subscription;
  /** Looks for due deliveries now (a new one was stored, or one was redelivered by hand). */
  wake(): void;
  stop(): Promise<void>;
}

/** The deliveries `events` make for `subscribers` (the endpoints that want each one's type). */
export function deliveriesFor(
  events: readonly RecordedEvent[],
  subscribers: readonly Subscriber[],
  integration: IntegrationEventOptions,
  now: Date,
  windowMs: number,
): NewDelivery[] {
  const deliveries: NewDelivery[] = [];
  for (const event of events) {
    const cloudEvent = toCloudEvent(event, integration);
    if (!cloudEvent) continue;
    const payload = JSON.stringify(cloudEvent);
    for (const subscriber of subscribers) {
      if (subscriber.tenantId !== cloudEvent.tenantid) continue;
      // An endpoint hears of what happens after it was registered, never of the tenant's past.
      if (event.recordedAt.getTime() < subscriber.createdAt.getTime()) continue;
      if (!subscriber.eventTypes.includes('*') && !subscriber.eventTypes.includes(cloudEvent.type)) continue;
      deliveries.push({
        id: derivedId(cloudEvent.id, `webhook:${subscriber.id}`),
        endpointId: subscriber.id,
        tenantId: cloudEvent.tenantid,
        eventId: cloudEvent.id,
        eventType: cloudEvent.type,
        payload,
        createdAt: now,
        giveUpAt: new Date(now.getTime() + windowMs),
      });
    }
  }
  return deliveries;
}

/** The headers of one attempt: CloudEvents' structured mode, the signature, and which delivery and attempt this is. */
export function deliveryHeaders(delivery: ClaimedDelivery, at: Date): Record<string, string> {
  return {
    'content-type': 'application/cloudevents+json; charset=utf-8',
    'user-agent': WEBHOOK_USER_AGENT,
    [SIGNATURE_HEADER]: signatureHeader(delivery.secrets, at, delivery.payload),
    'tessera-delivery-id': delivery.id,
    'tessera-delivery-attempt': String(delivery.attempts + 1),
    'tessera-event-type': delivery.eventType,
  };
}

export function startWebhooks(options: WebhookRuntimeOptions): WebhookRuntime {
  const { webhooks, sender } = options;
  const clock = options.clock ?? (() => new Date());
  const log = options.logger?.child({ component: 'webhooks' });
  const stopping = new AbortController();
  let wakeUp: (() => void) | undefined;
  let woken = false;
  const wake = () => {
    woken = true;
    wakeUp?.();
  };

  const fanOut = checkpointAfter(
    WEBHOOK_FAN_OUT,
    options.store.checkpoints,
    async (events) => {
      const tenants = [...new Set(events.map((event) => event.metadata.tenantId))];
      const subscribers = await webhooks.subscribersOf(tenants);
      if (subscribers.length === 0) return;
      const added = await webhooks.enqueue(deliveriesFor(events, subscribers, options.integration, clock(), options.schedule.windowMs));
      if (added > 0) {
        options.metrics?.enqueued(added);
        wake();
      }
    },
    { handles: (event) => isPublishedSource(event.type) },
  );
  const subscription = startSubscription(options.store, fanOut, { ...(options.logger ? { logger: options.logger } : {}), ...options.subscription });

  async function attempt(delivery: ClaimedDelivery): Promise<void> {
    const attemptedAt = clock();
    const started = performance.now();
    let record: AttemptRecord;
    let ok = false;
    try {
      const response = await sender.send({ url: delivery.url, headers: deliveryHeaders(delivery, attemptedAt), body: delivery.payload }, stopping.signal);
      ok = response.statusCode >= 200 && response.statusCode < 300;
      record = {
        attemptedAt,
        statusCode: response.statusCode,
        error: ok ? null : `the endpoint answered ${response.statusCode}`,
        responseExcerpt: storable(response.excerpt),
        durationMs: performance.now() - started,
      };
    } catch (error) {
      // Cut off by the stop: not the endpoint's failure. Its lease brings it back after the restart.
      if (stopping.signal.aborted) return;
      record = { attemptedAt, statusCode: null, error: storable(describeError(error)), responseExcerpt: null, durationMs: performance.now() - started };
    }
    const next = ok ? undefined : nextAttemptAt(delivery.windowAttempts + 1, clock(), delivery.giveUpAt, options.schedule);
    const outcome: AttemptOutcome = ok ? { status: 'delivered' } : next ? { status: 'pending', nextAttemptAt: next } : { status: 'dead' };
    let recorded: boolean;
    try {
      recorded = await webhooks.recordAttempt(delivery, record, outcome);
    } catch (error) {
      // What the endpoint answered could not be stored: the attempt still counts, so its window still ends.
      log?.warn({ err: error, deliveryId: delivery.id }, 'webhook attempt recorded without its details');
      recorded = await webhooks.recordAttempt(delivery, { ...record, error: ok ? null : 'the attempt failed (its details could not be stored)', responseExcerpt: null }, outcome);
    }
    if (!recorded) return; // Its endpoint deleted, or its lease past and taken over, while this attempt ran.
    options.metrics?.attempted(outcome.status === 'pending' ? 'failed' : outcome.status, record.durationMs / 1000);
    const facts = { deliveryId: delivery.id, endpointId: delivery.endpointId, eventId: delivery.eventId, attempt: delivery.attempts + 1, statusCode: record.statusCode };
    if (outcome.status === 'dead') log?.error({ ...facts, error: record.error }, 'webhook delivery dead-lettered: every retry failed; an admin can redeliver it');
    else if (outcome.status === 'pending') log?.warn({ ...facts, error: record.error, nextAttemptAt: outcome.nextAttemptAt.toISOString() }, 'webhook delivery failed; will retry');
  }

  // A pool: each slot freed is filled again at once, so one slow attempt holds one slot, not a round.
  const inFlight = new Set<Promise<void>>();
  async function fill(): Promise<void> {
    const free = options.concurrency - inFlight.size;
    if (free <= 0) return;
    const now = clock();
    const claimed = await webhooks.claimDue(now, free, new Date(now.getTime() + options.timeoutMs + LEASE_MARGIN_MS), randomUUID(), options.perEndpoint);
    for (const delivery of claimed) {
      const running: Promise<void> = attempt(delivery)
        .catch((error: unknown) => log?.warn({ err: error, deliveryId: delivery.id }, 'webhook attempt not recorded; its lease will bring it back'))
        .finally(() => {
          inFlight.delete(running);
          wake();
        });
      inFlight.add(running);
    }
    // All it asked for: more may be due, once a slot frees.
    if (claimed.length === free) woken = true;
  }

  let lastSweep = 0;
  let lastPurge = 0;
  async function housekeeping() {
    const now = Date.now();
    if (now - lastSweep >= SWEEP_EVERY_MS) {
      lastSweep = now;
      const swept = await webhooks.sweep(clock());
      if (swept.dead > 0) log?.error({ dead: swept.dead }, 'webhook deliveries dead-lettered unsent: their endpoint stayed disabled past their window');
      if (swept.cancelled > 0) log?.info({ cancelled: swept.cancelled }, 'webhook deliveries of deleted endpoints cancelled');
    }
    if (now - lastPurge >= PURGE_EVERY_MS) {
      lastPurge = now;
      const purged = await webhooks.purge(new Date(clock().getTime() - options.retentionMs));
      if (purged > 0) log?.info({ purged }, 'old webhook deliveries forgotten');
    }
  }

  const loop = (async () => {
    while (!stopping.signal.aborted) {
      woken = false;
      try {
        await fill();
        await housekeeping();
      } catch (error) {
        log?.warn({ err: error }, 'webhook sender: could not read due deliveries; will try again');
      }
      if (stopping.signal.aborted) break;
      if (woken && inFlight.size < options.concurrency) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.pollMs);
        wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeUp = undefined;
    }
  })();

  return {
    subscription,
    wake,
    async stop() {
      stopping.abort();
      wakeUp?.();
      await Promise.all([subscription.stop(), loop]);
      await Promise.all(inFlight);
    },
  };
}

/**
 * Text an endpoint chose, made storable: PostgreSQL text holds no NUL, and a lone surrogate is
 * not UTF-8. An answer that could not be stored must not stop the attempt from counting.
 */
export const storable = (text: string): string =>
  text.replaceAll('\u0000', '').replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

/** A claim outlives the longest attempt by this much before another worker may take it over. */
const LEASE_MARGIN_MS = 30_000;
const SWEEP_EVERY_MS = 60_000;
const PURGE_EVERY_MS = 3_600_000;
