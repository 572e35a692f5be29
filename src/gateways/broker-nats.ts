import { connect, headers, type JetStreamClient, type NatsConnection } from 'nats';
import type { BrokerPublisher, OutboundMessage } from './broker.js';

/**
 * Events out to NATS JetStream (issue 22). Each integration event goes to the subject
 * `<subjectPrefix><type>` (`tessera.com.tessera.payment.completed`) of one stream that holds
 * `<subjectPrefix>>`, with the CloudEvent's id as `Nats-Msg-Id`: within the stream's duplicate
 * window JetStream stores a re-sent event once, and past it consumers de-duplicate by the same id.
 * A batch is sent in order on one connection (so the stream holds it in that order, one
 * aggregate's events included) and resolves only once JetStream acknowledged every message.
 */
export interface NatsPublisherOptions {
  readonly url: string;
  readonly stream: string;
  /** Ends with a dot: `tessera.`. */
  readonly subjectPrefix: string;
  /** How long to wait for each acknowledgement. */
  readonly ackTimeoutMs?: number;
  /** JetStream's de-duplication window for a stream this adapter creates. */
  readonly duplicateWindowMs?: number;
}

export const natsSubjectOf = (prefix: string, type: string): string => `${prefix}${type}`;

export function createNatsPublisher(options: NatsPublisherOptions): BrokerPublisher {
  const ackTimeoutMs = options.ackTimeoutMs ?? 5_000;
  // Connected on first use and kept: the client reconnects by itself; a failed connect is tried
  // again by the next publish (the publisher's retry), never left as a rejected promise.
  let ready: Promise<{ nc: NatsConnection; js: JetStreamClient }> | undefined;
  const open = () => {
    ready ??= (async () => {
      const nc = await connect({ servers: options.url, name: 'tessera-publisher', maxReconnectAttempts: -1 });
      try {
        await ensureStream(nc, options);
      } catch (error) {
        await nc.close();
        throw error;
      }
      return { nc, js: nc.jetstream() };
    })().catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    return ready;
  };
  return {
    name: 'nats',
    async publish(messages: readonly OutboundMessage[]) {
      if (messages.length === 0) return;
      const { js } = await open();
      // Sent back to back and acknowledged together: one connection keeps their order in the stream.
      const acks = messages.map((message) => {
        const h = headers();
        h.set('Content-Type', 'application/cloudevents+json');
        h.set('ce-partitionkey', message.key);
        return js.publish(natsSubjectOf(options.subjectPrefix, message.type), message.body, {
          msgID: message.id,
          headers: h,
          timeout: ackTimeoutMs,
          expect: { streamName: options.stream },
        });
      });
      const outcomes = await Promise.allSettled(acks);
      const failed = outcomes.find((outcome) => outcome.status === 'rejected');
      if (failed) throw failed.reason;
    },
    async close() {
      const current = ready;
      ready = undefined;
      const connection = await current?.catch(() => undefined);
      await connection?.nc.drain();
    },
  };
}

/** Creates the stream when it is missing; an existing one is left as its operator configured it. */
async function ensureStream(nc: NatsConnection, options: NatsPublisherOptions): Promise<void> {
  const jsm = await nc.jetstreamManager();
  try {
    await jsm.streams.info(options.stream);
  } catch (error) {
    if (!(error instanceof Error) || !/stream not found/i.test(error.message)) throw error;
    await jsm.streams.add({
      name: options.stream,
      subjects: [`${options.subjectPrefix}>`],
      duplicate_window: (options.duplicateWindowMs ?? 120_000) * 1_000_000,
    });
  }
}
