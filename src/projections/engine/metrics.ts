import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ProjectionStatus, ReadSide } from './read-side.js';

/** Scrapes within this long of each other share one status() call. */
const STATUS_TTL_MS = 1000;

/**
 * Registers the read side's metrics on the application's registry (the HTTP layer owns it and
 * serves /metrics):
 *
 * - `tessera_projection_lag_events{projection}`: events between checkpoint and head (approximate)
 * - `tessera_projection_lag_seconds{projection}`: age of the oldest event not yet projected
 * - `tessera_projection_active{projection}`: 1 where this process runs the projection
 * - `tessera_projection_consecutive_failures{projection}`: failed attempts at the current batch
 * - `tessera_projection_events_total{projection}`: events this process projected
 * - `tessera_projection_batch_duration_seconds{projection}`: time per committed batch
 *
 * Gauges are read from status() when scraped; if that fails, they report no samples rather than
 * stale ones. Returns a function that stops counting batches.
 */
export function registerProjectionMetrics(registry: Registry, readSide: Pick<ReadSide, 'status' | 'onBatch'>): () => void {
  let cached: { at: number; statuses: Promise<ProjectionStatus[]> } | undefined;
  const statuses = () => {
    if (!cached || Date.now() - cached.at > STATUS_TTL_MS) cached = { at: Date.now(), statuses: readSide.status() };
    return cached.statuses;
  };
  const gauge = (name: string, help: string, value: (status: ProjectionStatus) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['projection'],
      registers: [registry],
      async collect() {
        this.reset();
        const current = await statuses().catch(() => []);
        for (const status of current) this.set({ projection: status.name }, value(status));
      },
    });

  gauge('tessera_projection_lag_events', 'Events between the projection checkpoint and the head of $all (approximate).', (s) => s.lagEvents);
  gauge('tessera_projection_lag_seconds', 'Age in seconds of the oldest event the projection has not handled yet.', (s) => s.lagSeconds);
  gauge('tessera_projection_active', '1 when this process runs the projection.', (s) => (s.state === 'active' || s.state === 'retrying' ? 1 : 0));
  gauge('tessera_projection_consecutive_failures', 'Failed attempts at the batch the projection is stuck on.', (s) => s.consecutiveFailures);

  const events = new Counter({
    name: 'tessera_projection_events_total',
    help: 'Events this process projected.',
    labelNames: ['projection'],
    registers: [registry],
  });
  const batches = new Histogram({
    name: 'tessera_projection_batch_duration_seconds',
    help: 'Time to apply one batch of events and commit it with the checkpoint.',
    labelNames: ['projection'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return readSide.onBatch((batch) => {
    events.inc({ projection: batch.projection }, batch.events);
    batches.observe({ projection: batch.projection }, batch.durationMs / 1000);
  });
}
