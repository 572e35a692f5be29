import { Counter, Gauge, Histogram } from 'prom-client';
import type { WebhookStore } from '../gateways/webhook-store.js';
import type { WebhookMetrics } from '../processmanagers/webhooks.js';

/** Webhooks out's metrics (issue 22), unregistered until the webhook route module registers them. */
export interface WebhookMetricSet extends WebhookMetrics {
  readonly all: readonly (Counter | Gauge | Histogram)[];
}

export function createWebhookMetrics(store: Pick<WebhookStore, 'counts'>): WebhookMetricSet {
  const enqueued = new Counter({ name: 'webhook_deliveries_created_total', help: 'Webhook deliveries created (one per endpoint and integration event)', registers: [] });
  const attempts = new Counter({
    name: 'webhook_delivery_attempts_total',
    help: 'Webhook delivery attempts by outcome: delivered, failed (will retry), dead (given up: the dead-letter list)',
    labelNames: ['outcome'],
    registers: [],
  });
  const duration = new Histogram({
    name: 'webhook_delivery_duration_seconds',
    help: 'How long an endpoint took to answer one attempt',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [],
  });
  let counts: Promise<{ pending: number; dead: number }> | undefined;
  // Both gauges read one query per scrape.
  const read = () => (counts ??= store.counts().finally(() => setTimeout(() => (counts = undefined), 0)));
  const pending = new Gauge({
    name: 'webhook_deliveries_pending',
    help: 'Webhook deliveries waiting for their next attempt',
    registers: [],
    async collect() {
      const value = await read().catch(() => undefined);
      if (value) this.set(value.pending);
    },
  });
  const dead = new Gauge({
    name: 'webhook_deliveries_dead',
    help: 'Webhook deliveries given up after their retry window (redeliver them by hand)',
    registers: [],
    async collect() {
      const value = await read().catch(() => undefined);
      if (value) this.set(value.dead);
    },
  });
  return {
    all: [enqueued, attempts, duration, pending, dead],
    enqueued: (count) => enqueued.inc(count),
    attempted(outcome, seconds) {
      attempts.inc({ outcome });
      duration.observe(seconds);
    },
  };
}
