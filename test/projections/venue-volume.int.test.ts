import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toEventData } from '../../src/commands/handle-command.js';
import { groupPaymentStreamId } from '../../src/events/group-payment.js';
import { paymentStreamId, type PaymentCaptured, type PaymentEvent } from '../../src/events/payment.js';
import { createReadSide } from '../../src/projections/engine/read-side.js';
import { sqlVenueVolume, venueVolumeProjection } from '../../src/projections/venue-volume.js';
import { backends, type Backend } from '../support/backends.js';
import { silentLogger } from '../support/read-model-databases.js';
import { quotePurchase } from '../../src/domain/purchase-quote.js';
import { context, NASHVILLE } from '../support/payments.js';

const captured = (venueId: string, ticketPrice: number): PaymentEvent => {
  const quote = quotePurchase({ ticketPrice, ticketCount: 1, venueAddress: NASHVILLE, trailingVolume: 0, chain: 'polygon' });
  return {
    type: 'PaymentCaptured',
    data: {
      paymentId: randomUUID(),
      venueId,
      userId: 'buyer-1',
      eventId: 'event-1',
      currency: 'USD',
      amount: quote.total,
      ticketPrice,
      gateway: 'sandbox',
      gatewayReference: 'pi',
      processingCost: quote.processingCost.amount,
      quote,
    },
  };
};

for (const backend of backends()) {
  describe(`venue volume on ${backend.name}`, () => {
    let db: Backend;
    beforeAll(async () => {
      db = await backend.open();
    });
    afterAll(async () => {
      await db.close();
    });

    it('sums captured ticket price (group purchases too) less refunds over the trailing 30 days, counting each event once', async () => {
      const venueId = randomUUID();
      const day = (n: number) => new Date(Date.UTC(2026, 0, 1 + n));
      const append = (event: PaymentEvent, at: Date) => db.store.append(paymentStreamId(randomUUID()), toEventData([event], context({ now: at })), { expected: 'any' });
      await append(captured(venueId, 600_000), day(0));
      await append(captured(venueId, 500_000), day(20));
      const { paymentId: _p, userId: _u, gatewayReference: _g, ...sale } = captured(venueId, 200_000).data as PaymentCaptured['data'];
      const groupId = randomUUID();
      // A completed group purchase counts its ticket price as a purchase does.
      await db.store.append(
        groupPaymentStreamId(groupId),
        toEventData(
          [
            {
              type: 'GroupPaymentCompleted',
              data: {
                ...sale,
                groupId,
                organizerId: 'organizer-1',
                contributions: [{ memberId: 'm-0', amount: sale.amount, gatewayReference: 'pi_0', ticketCount: 1, payerId: 'payer-0' }],
              },
            },
          ],
          context({ now: day(22) }),
        ),
        { expected: 'any' },
      );
      const last = await append(
        {
          type: 'RefundSucceeded',
          data: {
            paymentId: randomUUID(),
            refundId: randomUUID(),
            venueId,
            userId: 'buyer-1',
            currency: 'USD',
            amount: 110_000,
            gatewayReference: 're',
            allocation: { ticketPrice: 100_000, platformFee: 10_000, gas: 0, taxes: [], venueTaxReversed: [] },
          },
        },
        day(25),
      );
      const run = async () => {
        const readSide = createReadSide({ sql: db.sql, store: db.store, logger: silentLogger, projections: [venueVolumeProjection], idleWaitMs: 20 });
        await readSide.start();
        return {
          waitFor: (position: typeof last.position, timeoutMs: number) => readSide.waitFor('venue-volume', position, timeoutMs),
          stop: () => readSide.stop(),
        };
      };
      const first = await run();
      expect(await first.waitFor(last.position, 10_000)).toBe(true);
      await first.stop();
      // Replaying from scratch (a lost checkpoint) counts nothing twice.
      await db.sql.query(`DELETE FROM tessera_checkpoints WHERE subscription = 'projection:venue-volume'`);
      const second = await run();
      expect(await second.waitFor(last.position, 10_000)).toBe(true);
      await second.stop();

      const volume = sqlVenueVolume(db.sql);
      expect(await volume.trailing30Days(venueId, day(26))).toBe(1_200_000);
      expect(await volume.trailing30Days(venueId, day(35))).toBe(600_000);
      expect(await volume.trailing30Days(venueId, day(10))).toBe(600_000);
      expect(await volume.trailing30Days(randomUUID(), day(26))).toBe(0);
    });
  });
}
