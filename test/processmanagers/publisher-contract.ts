import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { DEFAULT_INTEGRATION_OPTIONS, type CloudEvent } from '../../src/events/integration.js';
import type { EventStore } from '../../src/eventstore/event-store.js';
import type { BrokerPublisher, OutboundMessage } from '../../src/gateways/broker.js';
import type { Parking } from '../../src/processmanagers/runtime/parking.js';
import { startPublisher, type PublisherOptions } from '../../src/processmanagers/publisher.js';
import { event } from '../support/events.js';
import { eventually } from '../support/poll.js';

/**
 * The publisher's guarantees, held to the same cases whatever broker runs under it (an in-memory
 * one, NATS JetStream, RabbitMQ): killed mid-stream and restarted, every event arrives at least once,
 * repeats carry the same id, one aggregate's events arrive in order, none is skipped.
 */
export interface BrokerHarness {
  /** A publisher on the broker under test. */
  broker(): BrokerPublisher;
  /** Every message the broker has taken, in the order a consumer reads them. */
  delivered(): Promise<OutboundMessage[]>;
}

export const fastRetry = { maxAttempts: 5, initialMs: 5, maxMs: 20 };

/** N captured payments over `aggregates` payments, appended in interleaved order; answers their event ids by payment. */
export async function appendPayments(store: EventStore, aggregates: number, perAggregate: number): Promise<Map<string, string[]>> {
  const ids = new Map<string, string[]>();
  const payments = Array.from({ length: aggregates }, () => randomUUID());
  for (let round = 0; round < perAggregate; round++) {
    for (const paymentId of payments) {
      const data = { paymentId, venueId: 'v1', eventId: 'ev1', userId: 'u1', currency: 'USD', amount: 100 + round, email: 'buyer@example.com' };
      const type = round % 2 === 0 ? 'PaymentCaptured' : 'RefundSucceeded';
      const recorded = event(type, type === 'RefundSucceeded' ? { ...data, refundId: randomUUID() } : data);
      await store.append(`payment-${paymentId}`, [recorded], { expected: round === 0 ? 'no_stream' : round - 1 });
      ids.set(paymentId, [...(ids.get(paymentId) ?? []), recorded.id]);
    }
  }
  return ids;
}

/**
 * What a consumer that de-duplicates by id sees: each id once (the first arrival), checked for
 * repeats that differ from the first, for order per aggregate by `sequence`, and for gaps.
 */
export function assertAtLeastOnceInOrder(delivered: readonly OutboundMessage[], expected: Map<string, string[]>): { repeats: number } {
  const first = new Map<string, string>();
  const byKey = new Map<string, string[]>();
  let repeats = 0;
  for (const message of delivered) {
    const seen = first.get(message.id);
    if (seen !== undefined) {
      expect(message.body, `repeat of ${message.id}`).toBe(seen);
      repeats++;
      continue;
    }
    first.set(message.id, message.body);
    const cloudEvent = JSON.parse(message.body) as CloudEvent;
    expect(cloudEvent.id).toBe(message.id);
    expect(cloudEvent.partitionkey).toBe(message.key);
    byKey.set(message.key, [...(byKey.get(message.key) ?? []), `${cloudEvent.sequence}:${cloudEvent.id}`]);
  }
  for (const [key, ids] of expected) {
    const arrived = byKey.get(key) ?? [];
    // In order: sequences ascend in the order of first arrival; complete: exactly the ids appended.
    expect(arrived, `aggregate ${key}`).toEqual([...arrived].sort());
    expect(arrived.map((entry) => entry.split(':')[1]), `aggregate ${key}`).toEqual(ids);
  }
  return { repeats };
}

/** A broker that takes the first `ackedBeforeCrash` messages and then loses the ack of every later batch it forwards. */
export function crashingAfter(broker: BrokerPublisher, ackedBeforeCrash: number): BrokerPublisher & { crashed(): boolean } {
  let taken = 0;
  return {
    name: broker.name,
    async publish(messages) {
      if (taken >= ackedBeforeCrash) {
        // The broker took it, the acknowledgement never came back (the publisher dies here).
        await broker.publish(messages);
        throw new Error('connection lost before the acknowledgement');
      }
      await broker.publish(messages);
      taken += messages.length;
    },
    close: () => broker.close(),
    crashed: () => taken >= ackedBeforeCrash,
  };
}

/**
 * Appends 54 events over 6 aggregates, runs the publisher until the broker loses an ack, stops
 * it there (the checkpoint is behind what the broker took) and starts a new one. Answers how many
 * repeats a consumer saw: a broker that de-duplicates by id (JetStream) shows none.
 */
export async function killAndRestartCase(store: EventStore, parking: Parking, harness: BrokerHarness): Promise<{ repeats: number }> {
  const expected = await appendPayments(store, 6, 9);
  const total = 54;
  const options = (broker: BrokerPublisher): PublisherOptions => ({
    broker,
    parking,
    retry: fastRetry,
    integration: DEFAULT_INTEGRATION_OPTIONS,
    subscription: { batchSize: 7, idleWaitMs: 20, retryInitialMs: 5, retryMaxMs: 20, standbyRetryMs: 20 },
  });
  const crashing = crashingAfter(harness.broker(), 20);
  const first = startPublisher(store, options(crashing));
  await eventually(() => (crashing.crashed() && first.subscription.status().consecutiveFailures > 0) || undefined, { timeoutMs: 10_000 });
  await first.stop();
  await crashing.close();
  const beforeRestart = (await harness.delivered()).length;
  expect(beforeRestart).toBeGreaterThan(20);
  expect(new Set((await harness.delivered()).map((m) => m.id)).size).toBeLessThan(total);

  const broker = harness.broker();
  const second = startPublisher(store, options(broker));
  await eventually(async () => new Set((await harness.delivered()).map((m) => m.id)).size === total || undefined, { timeoutMs: 15_000 });
  await second.stop();
  await broker.close();
  return assertAtLeastOnceInOrder(await harness.delivered(), expected);
}
