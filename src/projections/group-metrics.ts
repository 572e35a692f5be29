import type { Counter } from 'prom-client';
import type { EventStore } from '../eventstore/event-store.js';
import { checkpointAfter, type SubscriptionConsumer } from '../eventstore/subscription.js';
import { METRICS_CHECKPOINT_EVERY_MS } from './payment-metrics.js';

export const GROUP_METRICS_SUBSCRIPTION = 'group-payment-metrics';

/**
 * Counts reminders from the `MemberReminded` events, as the payment metrics count outcomes: one
 * checkpointed subscription (one active instance across processes), the counter moved only after
 * the batch's checkpoint is stored, so each reminder counts once wherever and however often its
 * mail step ran.
 */
export function groupMetricsProjector(store: EventStore, reminders: Pick<Counter, 'inc'>): SubscriptionConsumer {
  return checkpointAfter(GROUP_METRICS_SUBSCRIPTION, store.checkpoints, (events) => Promise.resolve(() => reminders.inc(events.length)), {
    handles: (event) => event.type === 'MemberReminded',
    writeEveryMs: METRICS_CHECKPOINT_EVERY_MS,
  });
}
