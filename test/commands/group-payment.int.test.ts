import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeTessera, type Tessera } from '../../src/composition.js';
import { loadConfig } from '../../src/config.js';
import { groupPaymentStreamId } from '../../src/events/group-payment.js';
import { createLogger } from '../../src/logger.js';
import { openTestStorage, testEnv, type TestStorage } from '../support/app.js';
import { context, NASHVILLE, registerPrices } from '../support/payments.js';

describe('creating a group payment', () => {
  let opened: TestStorage;
  let tessera: Tessera;

  beforeAll(async () => {
    opened = await openTestStorage('pglite');
    tessera = composeTessera({ config: loadConfig(testEnv()), logger: createLogger({ level: 'silent' }), storage: opened.storage });
  });
  afterAll(() => opened.cleanup());

  it('records a group created now as GroupPaymentCreated version 2, every line priced by the catalogue', async () => {
    const venueId = crypto.randomUUID();
    await tessera.services.venues.saveProfile({ venueId, name: 'Ryman', address: NASHVILLE }, context());
    const selection = { venueId, eventId: crypto.randomUUID(), tickets: [{ ticketTypeId: crypto.randomUUID(), quantity: 2, expectedPrice: 5_000 }] };
    await registerPrices(tessera.services.catalogue, selection);
    const members = [
      { email: 'a@example.com', name: 'A', ticketCount: 1 },
      { email: 'b@example.com', name: 'B', ticketCount: 1 },
    ];
    const { state } = await tessera.services.groups.create({ organizerId: 'organizer-1', ...selection, members }, context());
    const { rows } = await opened.storage.sql.query<{ event_type: string; data: unknown; metadata: unknown }>(
      'SELECT event_type, data, metadata FROM tessera_events WHERE stream_id = $1 AND revision = 0',
      [groupPaymentStreamId(state.group!.groupId)],
    );
    expect(rows).toMatchObject([
      { event_type: 'GroupPaymentCreated', metadata: { schemaVersion: 2 }, data: { tickets: [{ quantity: 2, unitPrice: 5_000, priceSource: 'catalogue' }] } },
    ]);
  });
});
