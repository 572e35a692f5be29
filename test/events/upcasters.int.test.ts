import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupPaymentHandler } from '../../src/commands/group-payment.js';
import { paymentHandler } from '../../src/commands/payment.js';
import { comparePositions, type Position, type RecordedEvent } from '../../src/eventstore/event-store.js';
import { checkpointAfter, startSubscription } from '../../src/eventstore/subscription.js';
import { groupPaymentStreamId } from '../../src/events/group-payment.js';
import { paymentStreamId } from '../../src/events/payment.js';
import { backends, type Backend } from '../support/backends.js';
import { groupPaymentCreatedV1, paymentRequestedV1, VERSION_1_LINES, VERSION_1_LINES_UPCAST } from '../support/version-1-events.js';

const asUpcast = { type: 'PaymentRequested', metadata: { schemaVersion: 2 }, data: { tickets: VERSION_1_LINES_UPCAST } };

for (const backend of backends()) {
  describe(`purchases stored before the ticket catalogue, read from ${backend.name}`, () => {
    let db: Backend;
    beforeAll(async () => {
      db = await backend.open();
    });
    afterAll(() => db.close());

    async function storedV1Purchase(): Promise<{ paymentId: string; from: Position | null; at: Position }> {
      const paymentId = randomUUID();
      const from = await db.store.headPosition();
      const { position } = await db.store.append(paymentStreamId(paymentId), [paymentRequestedV1(paymentId)], { expected: 'no_stream' });
      return { paymentId, from, at: position };
    }

    it('reads a version 1 PaymentRequested from its stream and from $all as version 2, every line priced by the request', async () => {
      const { paymentId, from } = await storedV1Purchase();
      expect(await db.store.readStream(paymentStreamId(paymentId))).toMatchObject([asUpcast]);
      const fromAll = (await db.store.readAll({ after: from ?? 'start' })).filter((e) => e.streamId === paymentStreamId(paymentId));
      expect(fromAll).toMatchObject([asUpcast]);
    });

    it('hands a subscription the version 1 PaymentRequested as version 2', async () => {
      const { paymentId, at } = await storedV1Purchase();
      const seen: RecordedEvent[] = [];
      const subscription = startSubscription(
        db.store,
        checkpointAfter(`upcast-test-${randomUUID()}`, db.store.checkpoints, (events) => {
          seen.push(...events.filter((e) => e.streamId === paymentStreamId(paymentId)));
          return Promise.resolve();
        }),
        { idleWaitMs: 20 },
      );
      try {
        expect(await subscription.waitFor(at, 10_000)).toBe(true);
      } finally {
        await subscription.stop();
      }
      expect(seen).toMatchObject([asUpcast]);
      expect(comparePositions(seen[0]!.position, at)).toBe(0);
    });

    it('folds the upcast lines into the Payment aggregate that commands decide on', async () => {
      const { paymentId } = await storedV1Purchase();
      const { state } = await paymentHandler.load(db.store, paymentId);
      expect(state.request?.tickets).toEqual(VERSION_1_LINES_UPCAST);
    });

    it('leaves the stored event as it was written: version 1, no price source', async () => {
      const { paymentId } = await storedV1Purchase();
      const { rows } = await db.sql.query<{ data: { tickets: unknown }; metadata: { schemaVersion: number } }>(
        'SELECT data, metadata FROM tessera_events WHERE stream_id = $1',
        [paymentStreamId(paymentId)],
      );
      expect(rows).toMatchObject([{ data: { tickets: VERSION_1_LINES }, metadata: { schemaVersion: 1 } }]);
      expect(JSON.stringify(rows[0]!.data)).not.toContain('priceSource');
    });

    it('reads a version 1 GroupPaymentCreated as version 2, every line priced by the request', async () => {
      const groupId = randomUUID();
      await db.store.append(groupPaymentStreamId(groupId), [groupPaymentCreatedV1(groupId)], { expected: 'no_stream' });
      expect(await db.store.readStream(groupPaymentStreamId(groupId))).toMatchObject([
        { type: 'GroupPaymentCreated', metadata: { schemaVersion: 2 }, data: { tickets: VERSION_1_LINES_UPCAST } },
      ]);
      expect((await groupPaymentHandler.load(db.store, groupId)).state.group?.tickets).toEqual(VERSION_1_LINES_UPCAST);
    });
  });
}
