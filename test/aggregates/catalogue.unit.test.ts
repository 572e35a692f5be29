import { describe, expect, it } from 'vitest';
import { catalogueDecider, priceTicketLines } from '../../src/aggregates/catalogue.js';
import { DeciderSpecification } from '../support/decider.js';
import { thrownBy } from '../support/payments.js';

const { given } = DeciderSpecification.for(catalogueDecider);
const save = (overrides: Record<string, unknown> = {}) => ({
  type: 'SaveTicketType' as const,
  data: { venueId: 'v1', eventId: 'e1', ticketTypeId: 'tt1', name: 'General admission', price: 5_000, currency: 'USD' as const, ...overrides },
});
/** The events of registering the ticket type, and the state they fold to. */
const registration = (overrides: Record<string, unknown> = {}) => given([]).after(save(overrides));
const registered = (overrides: Record<string, unknown> = {}) => given(registration(overrides)).state();

describe('Catalogue decider', () => {
  it('registers a ticket type with its price and sale window', () => {
    given([]).when(save({ saleStartsAt: '2026-12-01T10:00:00.000Z' })).then([
      {
        type: 'TicketTypeRegistered',
        data: { venueId: 'v1', eventId: 'e1', ticketTypeId: 'tt1', name: 'General admission', price: 5_000, currency: 'USD', saleStartsAt: '2026-12-01T10:00:00.000Z' },
      },
    ]);
  });

  it('writes nothing when the same terms are saved again', () => {
    given(registration()).when(save()).thenNothing();
  });

  it('records a revision with the fields that changed and the price before', () => {
    const [revised] = given(registration()).when(save({ price: 6_500 })).decided();
    expect(revised).toMatchObject({ type: 'TicketTypeRevised', data: { price: 6_500, changed: ['price'], previousPrice: 5_000 } });
  });

  it('refuses a price that is not a whole number of cents above zero, and a sale that ends before it starts', () => {
    given([]).when(save({ price: 0 })).thenRefused('VALIDATION_ERROR');
    given([]).when(save({ price: 10.5 })).thenRefused('VALIDATION_ERROR');
    const backwards = save({ saleStartsAt: '2026-12-02T00:00:00.000Z', saleEndsAt: '2026-12-01T00:00:00.000Z' });
    given([]).when(backwards).thenRefused('VALIDATION_ERROR');
  });
});

describe('pricing a purchase from the catalogue', () => {
  const now = new Date('2026-12-07T12:00:00Z');

  it('takes every line\'s price from the catalogue when the caller names none, and says so on the line', () => {
    expect(priceTicketLines(registered(), [{ ticketTypeId: 'tt1', quantity: 2 }], now)).toEqual([
      { ticketTypeId: 'tt1', quantity: 2, unitPrice: 5_000, priceSource: 'catalogue' },
    ]);
  });

  it('accepts the registered price repeated, and refuses any other with PRICE_MISMATCH naming the price', () => {
    expect(priceTicketLines(registered(), [{ ticketTypeId: 'tt1', quantity: 1, expectedPrice: 5_000 }], now)[0]?.unitPrice).toBe(5_000);
    expect(thrownBy(() => priceTicketLines(registered(), [{ ticketTypeId: 'tt1', quantity: 1, expectedPrice: 1 }], now))).toMatchObject({
      code: 'PRICE_MISMATCH',
      details: { expose: { price: 5_000, expectedPrice: 1 } },
    });
  });

  it('refuses a ticket type the catalogue does not hold', () => {
    expect(thrownBy(() => priceTicketLines(registered(), [{ ticketTypeId: 'tt9', quantity: 1 }], now))).toMatchObject({ code: 'TICKET_TYPE_NOT_FOUND' });
  });

  it('refuses a purchase before the sale opens and from the moment it ends', () => {
    const window = registered({ saleStartsAt: '2026-12-07T12:00:00.000Z', saleEndsAt: '2026-12-08T12:00:00.000Z' });
    const at = (iso: string) => () => priceTicketLines(window, [{ ticketTypeId: 'tt1', quantity: 1 }], new Date(iso));
    expect(thrownBy(at('2026-12-07T11:59:59.999Z'))).toMatchObject({ code: 'TICKET_SALE_CLOSED' });
    expect(at('2026-12-07T12:00:00.000Z')()).toHaveLength(1);
    expect(thrownBy(at('2026-12-08T12:00:00.000Z'))).toMatchObject({ code: 'TICKET_SALE_CLOSED' });
  });
});
