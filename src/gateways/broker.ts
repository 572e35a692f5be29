/**
 * Events out (issue 22): the port every message broker's adapter fills. The event store is the
 * outbox: a publisher is a checkpointed subscription that maps domain events to integration
 * events (CloudEvents 1.0) and hands them to a broker, moving its checkpoint only once the broker
 * has acknowledged them.
 */

/** One integration event as a broker carries it. */
export interface OutboundMessage {
  /** The CloudEvent's `id`: the source event's id, so brokers and consumers de-duplicate by it. */
  readonly id: string;
  /** The CloudEvent's `type` (`com.tessera.payment.completed`): the subject or routing key. */
  readonly type: string;
  /** The partition key: the aggregate's id. Messages with one key are delivered in order. */
  readonly key: string;
  /** The CloudEvent in structured mode, serialized (`application/cloudevents+json`). */
  readonly body: string;
}

/**
 * A broker the publisher hands messages to. `publish` resolves only once the broker has
 * acknowledged every message of the batch, sent in order; it rejects otherwise, and then none
 * of the batch may be taken as delivered (the publisher sends it again: at least once).
 */
export interface BrokerPublisher {
  readonly name: 'nats' | 'rabbitmq' | 'kafka';
  publish(messages: readonly OutboundMessage[]): Promise<void>;
  close(): Promise<void>;
}
