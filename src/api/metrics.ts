import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * The app's Prometheus registry and the HTTP edge's own metrics. The registry belongs to the app
 * (not prom-client's global default), so several apps in one process (tests) never collide, and
 * later modules register their metrics on it, e.g. the seed's payment counter:
 *
 *   new Counter({ name: 'payment_transactions_total', help: '...', labelNames: ['status', 'method'], registers: [api.metrics] })
 */
export interface HttpMetrics {
  readonly registry: Registry;
  readonly requestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly idempotencyOutcomes: Counter<'outcome'>;
  readonly rateLimitRefusals: Counter<'level'>;
}

export function createHttpMetrics(registry: Registry = new Registry()): HttpMetrics {
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by route and status',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    idempotencyOutcomes: new Counter({
      name: 'http_idempotency_outcomes_total',
      help: 'Idempotent command requests by outcome: executed, taken_over, replayed, mismatch, in_progress',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    rateLimitRefusals: new Counter({
      name: 'http_rate_limit_refusals_total',
      help: 'Requests refused by a rate limit, by level: global, user, route',
      labelNames: ['level'],
      registers: [registry],
    }),
  };
}
