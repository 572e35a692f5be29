import type { Counter } from 'prom-client';
import type { EventStore } from '../eventstore/event-store.js';
import type { SubscriptionConsumer } from '../eventstore/subscription.js';

export const GROUP_METRICS_SUBSCRIPTION = 'group-payment-metrics';

/**
 * Counts reminders from the `MemberReminded` events, as the payment metrics count outcomes: one
 * checkpointed subscription (one active instance across processes), the counter moved only after
 * the batch's checkpoint is stored, so each reminder counts once wherever and however often its
 * mail step ran.
 */
export function groupMetricsProjector(store: EventStore, reminders: Pick<Counter, 'inc'>): SubscriptionConsumer {
  return {
    name: GROUP_METRICS_SUBSCRIPTION,
    loadCheckpoint: () => store.checkpoints.load(GROUP_METRICS_SUBSCRIPTION),
    async handleBatch(events, { previous, next }) {
      const reminded = events.filter((event) => event.type === 'MemberReminded').length;
      await store.checkpoints.store(GROUP_METRICS_SUBSCRIPTION, next, previous);
      if (reminded > 0) reminders.inc(reminded);
    },
  };
}
