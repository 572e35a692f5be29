import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Tessera } from '../../src/composition.js';
import { migrate, MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { openPglite, type SqlClient } from '../../src/db/sql-client.js';
import { createPgliteEventStore } from '../../src/eventstore/pglite.js';
import { toEventData } from '../../src/commands/handle-command.js';
import { groupPaymentStreamId } from '../../src/events/group-payment.js';
import { paymentStreamId, type PaymentCaptured, type PaymentEvent } from '../../src/events/payment.js';
import { createReadSide } from '../../src/projections/engine/read-side.js';
import { sqlVenueVolume, VENUE_VOLUME_PROJECTION, venueVolumeProjection } from '../../src/projections/venue-volume.js';
import { backends, type Backend, tesseraOver } from '../support/backends.js';
import { onEveryDialect, silentLogger, type ReadModelDatabase } from '../support/read-model-databases.js';
import { quotePurchase } from '../../src/domain/purchase-quote.js';
import { context, NASHVILLE, purchaseInput, registerPrices, testConfig } from '../support/payments.js';

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

/** The live rows of the volume table, in a stable order, as text (so they compare exactly). */
const volumeRows = async (sql: SqlClient) =>
  (
    await sql.query<Record<string, string>>(
      `SELECT source_event_id::text, venue_id, currency, occurred_at::text, amount::text FROM tessera_venue_volume ORDER BY source_event_id`,
    )
  ).rows;

onEveryDialect('the venue-volume projection under replay and verify', (open) => {
  let db: ReadModelDatabase;
  afterEach(() => db.close());

  it('rebuilds the rows the live projection wrote; verify names venue-volume and a row altered by hand until a replay undoes it', async () => {
    db = await open();
    const venueId = randomUUID();
    const at = new Date(Date.UTC(2026, 1, 1));
    const append = (event: PaymentEvent) => db.store.append(paymentStreamId(randomUUID()), toEventData([event], context({ now: at })), { expected: 'any' });
    await append(captured(venueId, 400_000));
    await append(captured(venueId, 300_000));
    const { position } = await append(captured(randomUUID(), 50_000));
    const readSide = db.readSide({ projections: [venueVolumeProjection] });
    await readSide.start();
    expect(await readSide.waitFor(VENUE_VOLUME_PROJECTION, position, 10_000)).toBe(true);
    const live = await volumeRows(db.sql);
    expect(live).toHaveLength(3);
    expect((await readSide.verify()).ok).toBe(true);

    // The row of the first sale, altered by hand: the fee tier would read a volume the events never made.
    const [{ event_id: eventId }] = (
      await db.sql.query<{ event_id: string }>(
        `SELECT source_event_id::text AS event_id FROM tessera_venue_volume WHERE venue_id = $1 AND amount = 400000`,
        [venueId],
      )
    ).rows as [{ event_id: string }];
    await db.sql.query(`UPDATE tessera_venue_volume SET amount = 900000 WHERE source_event_id = $1`, [eventId]);
    const volume = sqlVenueVolume(db.sql);
    expect(await volume.trailing30Days(venueId, at)).toBe(1_200_000);

    const report = await readSide.verify();
    expect(report.ok).toBe(false);
    const verdict = report.projections.find((p) => p.name === VENUE_VOLUME_PROJECTION)!;
    expect(verdict).toMatchObject({ ok: false, version: 2, storedVersion: 2 });
    expect(verdict.tables).toHaveLength(1);
    expect(verdict.tables[0]).toMatchObject({
      table: 'tessera_venue_volume',
      keyColumns: ['source_event_id'],
      ok: false,
      counts: { differing: 1, missing: 0, extra: 0 },
      differing: [{ key: { source_event_id: eventId }, columns: ['amount'], live: { amount: 900_000 }, rebuilt: { amount: 400_000 } }],
    });

    const rebuilt = await readSide.rebuild(VENUE_VOLUME_PROJECTION);
    expect(rebuilt.projections.map((p) => p.name)).toEqual([VENUE_VOLUME_PROJECTION]);
    expect(await volumeRows(db.sql)).toEqual(live);
    expect(await volume.trailing30Days(venueId, at)).toBe(700_000);
    expect((await readSide.verify()).ok).toBe(true);
  });
});

for (const backend of backends()) {
  describe(`the fee tier over the composed read side on ${backend.name}`, () => {
    let db: Backend;
    let tessera: Tessera;
    beforeAll(async () => {
      db = await backend.open();
      tessera = tesseraOver(db, { config: testConfig(), idleWaitMs: 20 });
      await tessera.start();
    });
    afterAll(async () => {
      await tessera.stop();
      await db.close();
    });

    it('reads the registered venue-volume projection: $10,000 of captures in 30 days makes a venue Pro', async () => {
      expect(tessera.readSide.projections.map((p) => p.name)).toContain(VENUE_VOLUME_PROJECTION);
      const venueId = randomUUID();
      await tessera.services.venues.saveProfile({ venueId, name: 'Ryman', address: NASHVILLE }, context());
      const quote = async () => (await tessera.services.payments.calculateFees({ venueId, amount: 10_000, ticketCount: 1 })).quote.platformFee;
      expect(await quote()).toMatchObject({ tier: 'starter', tierSource: 'volume', trailingVolume: 0 });

      const purchase = purchaseInput(venueId, 'pm_card_visa', 250_000, 4);
      await registerPrices(tessera.services.catalogue, purchase);
      const outcome = await tessera.services.payments.processPayment(purchase, context());
      expect(outcome.status).toBe('completed');
      expect(await tessera.readSide.waitFor(VENUE_VOLUME_PROJECTION, outcome.position!, 10_000)).toBe(true);
      expect(await quote()).toMatchObject({ tier: 'pro', tierSource: 'volume', trailingVolume: 1_000_000 });
    });
  });
}

describe('migration 0009 on PGlite: venue volume becomes a projection', () => {
  it('records no version on a new database: the projection registers its own at its first start', async () => {
    const sql = await openPglite({ dataDir: 'memory://' });
    try {
      await migrate(sql);
      expect((await sql.query(`SELECT version FROM tessera_projections WHERE name = 'venue-volume'`)).rows).toEqual([]);
    } finally {
      await sql.close();
    }
  });

  it("keeps a deployment's volume answering, then its first start rebuilds the table from the events, counting what the old subscription missed", async () => {
    const before = await mkdtemp(join(tmpdir(), 'tessera-migrations-'));
    const sql = await openPglite({ dataDir: 'memory://' });
    const store = createPgliteEventStore(sql);
    try {
      for (const name of (await readdir(MIGRATIONS_DIR)).filter((name) => name < '0009')) await cp(join(MIGRATIONS_DIR, name), join(before, name));
      await migrate(sql, before);
      const venueId = randomUUID();
      const day = (n: number) => new Date(Date.UTC(2026, 2, 1 + n));
      const sale = captured(venueId, 600_000);
      const saleStream = paymentStreamId(randomUUID());
      const first = await store.append(saleStream, toEventData([sale], context({ now: day(0) })), { expected: 'any' });
      const { paymentId: _p, userId: _u, gatewayReference: _g, ...group } = captured(venueId, 200_000).data as PaymentCaptured['data'];
      const groupId = randomUUID();
      const last = await store.append(
        groupPaymentStreamId(groupId),
        toEventData(
          [
            {
              type: 'GroupPaymentCompleted',
              data: {
                ...group,
                groupId,
                organizerId: 'organizer-1',
                contributions: [{ memberId: 'm-0', amount: group.amount, gatewayReference: 'pi_0', ticketCount: 1, payerId: 'payer-0' }],
              },
            },
          ],
          context({ now: day(1) }),
        ),
        { expected: 'any' },
      );
      // What the old subscription left: the capture's row, its checkpoint past the group completion it did not count yet.
      // (Read by its stream: `$all` needs a later migration's horizon function.)
      const [captureEvent] = await store.readStream(saleStream);
      expect(captureEvent!.position).toEqual(first.position);
      await sql.query(
        `INSERT INTO tessera_venue_volume (source_event_id, venue_id, currency, occurred_at, amount) VALUES ($1, $2, 'USD', $3, 600000)`,
        [captureEvent!.id, venueId, day(0)],
      );
      await sql.query(`INSERT INTO tessera_checkpoints (subscription, commit_pos, prepare_pos) VALUES ('venue-volume', $1, $2)`, [
        last.position.commit.toString(),
        last.position.prepare.toString(),
      ]);
      const volume = sqlVenueVolume(sql);
      expect(await volume.trailing30Days(venueId, day(2))).toBe(600_000);

      expect((await migrate(sql)).applied).toContain('0009_venue_volume_projection.sql');
      // The rows answer the fee tier as before; the table is recorded as the old version's.
      expect(await volume.trailing30Days(venueId, day(2))).toBe(600_000);
      expect((await sql.query(`SELECT name, version FROM tessera_projections WHERE name = 'venue-volume'`)).rows).toEqual([{ name: 'venue-volume', version: 1 }]);
      expect((await sql.query(`SELECT 1 FROM tessera_checkpoints WHERE subscription = 'venue-volume'`)).rows).toEqual([]);
      expect((await sql.query(`SELECT indexname FROM pg_indexes WHERE tablename = 'tessera_venue_volume' ORDER BY 1`)).rows).toEqual([
        { indexname: 'tessera_venue_volume_pkey' },
        { indexname: 'tessera_venue_volume_venue_id_occurred_at_idx' },
      ]);

      const readSide = createReadSide({ sql, store, logger: silentLogger, projections: [venueVolumeProjection], idleWaitMs: 20, standbyRetryMs: 20 });
      await readSide.start();
      try {
        expect(await readSide.waitFor(VENUE_VOLUME_PROJECTION, last.position, 10_000)).toBe(true);
        await expect.poll(async () => (await readSide.status())[0], { timeout: 10_000 }).toMatchObject({ storedVersion: 2, state: 'active' });
        // Rebuilt beside and swapped in (not merely run on from an empty checkpoint).
        expect((await sql.query(`SELECT rebuilt_at IS NOT NULL AS rebuilt FROM tessera_projections WHERE name = 'venue-volume'`)).rows).toEqual([{ rebuilt: true }]);
        expect(await volume.trailing30Days(venueId, day(2))).toBe(800_000);
        expect((await readSide.verify()).ok).toBe(true);
      } finally {
        await readSide.stop();
      }
    } finally {
      await store.close();
      await sql.close();
      await rm(before, { recursive: true });
    }
  });
});
