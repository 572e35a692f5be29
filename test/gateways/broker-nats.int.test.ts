import { randomBytes, randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerPublisher, OutboundMessage } from '../../src/gateways/broker.js';
import { createNatsPublisher } from '../../src/gateways/broker-nats.js';
import { sqlParking } from '../../src/processmanagers/runtime/parking.js';
import { backends, type Backend } from '../support/backends.js';
import { killAndRestartCase } from '../processmanagers/publisher-contract.js';

const url = process.env.NATS_URL || undefined;

/** A stream and subject prefix of this run's own, deleted afterwards. */
function uniqueStream() {
  const suffix = randomBytes(4).toString('hex');
  return { stream: `TESSERA_TEST_${suffix}`, subjectPrefix: `tessera-test-${suffix}.` };
}

/** Every message the stream holds, in its order, as a consumer reads them. */
async function streamMessages(nc: NatsConnection, stream: string): Promise<(OutboundMessage & { subject: string })[]> {
  const jsm = await nc.jetstreamManager();
  const { state } = await jsm.streams.info(stream);
  const messages: (OutboundMessage & { subject: string })[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const stored = await jsm.streams.getMessage(stream, { seq });
    const body = stored.string();
    const { type } = JSON.parse(body) as { type: string };
    messages.push({ id: stored.header.get('Nats-Msg-Id'), type, key: stored.header.get('ce-partitionkey'), body, subject: stored.subject });
  }
  return messages;
}

const message = (type = 'com.tessera.payment.completed', key = randomUUID()): OutboundMessage => {
  const id = randomUUID();
  return { id, type, key, body: JSON.stringify({ specversion: '1.0', id, type, partitionkey: key }) };
};

describe.runIf(url)('the NATS JetStream publisher (NATS_URL)', () => {
  let nc: NatsConnection;
  const streams: string[] = [];
  const publisher = (): BrokerPublisher & { stream: string } => {
    const names = uniqueStream();
    streams.push(names.stream);
    return { ...createNatsPublisher({ url: url!, ...names }), stream: names.stream };
  };
  beforeAll(async () => {
    nc = await connect({ servers: url });
  });
  afterAll(async () => {
    const jsm = await nc.jetstreamManager();
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => false);
    await nc.drain();
  });

  it('creates its stream and stores a batch in order, each on its type’s subject, once acknowledged', async () => {
    const nats = publisher();
    const batch = [message(), message('com.tessera.payment.refunded'), message('com.tessera.ticket.minted')];
    await nats.publish(batch);
    const stored = await streamMessages(nc, nats.stream);
    expect(stored.map((m) => m.id)).toEqual(batch.map((m) => m.id));
    const prefix = stored[0]!.subject.slice(0, stored[0]!.subject.length - batch[0]!.type.length);
    expect(prefix).toMatch(/^tessera-test-[0-9a-f]{8}\.$/);
    expect(stored.map((m) => m.subject)).toEqual(batch.map((m) => `${prefix}${m.type}`));
    expect(stored.map((m) => m.key)).toEqual(batch.map((m) => m.key));
    expect(stored.map((m) => m.body)).toEqual(batch.map((m) => m.body));
    await nats.close();
  });

  it('stores a message sent again with the same id once (JetStream de-duplication)', async () => {
    const nats = publisher();
    const first = [message(), message()];
    await nats.publish(first);
    await nats.publish([first[1]!, first[0]!, message()]);
    const stored = await streamMessages(nc, nats.stream);
    expect(stored).toHaveLength(3);
    expect(stored.slice(0, 2).map((m) => m.id)).toEqual(first.map((m) => m.id));
    await nats.close();
  });

  it('rejects the batch when the server cannot be reached, and publishes once it can', async () => {
    const names = uniqueStream();
    streams.push(names.stream);
    const unreachable = createNatsPublisher({ url: 'nats://127.0.0.1:1', ...names, ackTimeoutMs: 500 });
    await expect(unreachable.publish([message()])).rejects.toThrow();
    await unreachable.close();
    const reachable = createNatsPublisher({ url: url!, ...names });
    await reachable.publish([message()]);
    expect(await streamMessages(nc, names.stream)).toHaveLength(1);
    await reachable.close();
  });

  for (const backend of backends()) {
    describe(`under the publisher on ${backend.name}`, () => {
      let db: Backend;
      beforeAll(async () => {
        db = await backend.open();
      });
      afterAll(async () => {
        await db.close();
      });

      it('killed mid-stream and restarted, the stream holds every event at least once, repeats with the same id, in order per aggregate', async () => {
        const names = uniqueStream();
        streams.push(names.stream);
        const { repeats } = await killAndRestartCase(db.store, sqlParking(db.sql), {
          broker: () => createNatsPublisher({ url: url!, ...names }),
          delivered: () => streamMessages(nc, names.stream),
        });
        // The batches whose acknowledgement was lost were sent again with the same ids, inside
        // the duplicate window: JetStream stored each once.
        expect(repeats).toBe(0);
      });
    });
  }
});
