import { z } from 'zod';
import type { SaveTicketTypeResult } from '../../commands/catalogue.js';
import { authorize, type Caller } from '../../domain/access.js';
import { CATALOGUE_CURRENCIES } from '../../events/catalogue.js';
import { callerCommandContext } from '../command-context.js';
import { answeredPosition, positionAnswer } from '../read-your-writes.js';
import type { RouteApi, RouteModule } from '../route.js';
import { isoDateTime, uuid } from '../schemas.js';
import { ticketPrice } from './payment-schemas.js';

const params = z.object({ venueId: uuid, eventId: uuid, ticketTypeId: uuid });

const saleTime = (name: string) =>
  isoDateTime(`${name} must be an ISO-8601 date-time with an offset`)
    .transform((value) => new Date(value).toISOString())
    .optional();

const terms = z
  .object({
    name: z.string().trim().min(1).max(200),
    price: ticketPrice.positive({ error: 'must be more than zero' }).describe('Price of one ticket, in cents'),
    currency: z.enum(CATALOGUE_CURRENCIES).default('USD').describe('Fees and taxes are defined in USD only'),
    saleStartsAt: saleTime('saleStartsAt').describe('Purchases are refused before this time (TICKET_SALE_CLOSED)'),
    saleEndsAt: saleTime('saleEndsAt').describe('Purchases are refused from this time on'),
  })
  .refine((t) => t.saleStartsAt === undefined || t.saleEndsAt === undefined || t.saleEndsAt > t.saleStartsAt, {
    error: 'must be after saleStartsAt',
    path: ['saleEndsAt'],
  });

const ticketType = z.object({
  ticketTypeId: z.string(),
  venueId: z.string(),
  eventId: z.string(),
  name: z.string(),
  price: z.number().int(),
  currency: z.string(),
  saleStartsAt: z.string().optional(),
  saleEndsAt: z.string().optional(),
});

const saved = z.object({
  ticketType,
  created: z.boolean().describe('True when this call registered the ticket type (answered 201)'),
  changed: z.boolean().describe('False when the ticket type was already exactly this'),
  position: positionAnswer,
});

const DESCRIPTION =
  "PUT replaces the ticket type's terms, so repeating it changes nothing (no event is written for unchanged terms): " +
  'it needs no Idempotency-Key. 201 when it registers the ticket type, 200 when it revises or keeps it. The venue must ' +
  'be registered (404 VENUE_NOT_FOUND). A new price applies to purchases from then on; what a payment was charged stays ' +
  'in its events.';

/**
 * The ticket catalogue (issue 17): each event's ticket types at a venue, with the price every
 * purchase, group payment and resale face value takes. Registered by the venue's managers (or an
 * admin), or by the ticket service over /internal/*; readable by any signed-in user.
 */
export const catalogueRoutes: RouteModule = {
  name: 'catalogue',
  register(api) {
    const save = async (caller: Caller, input: z.output<typeof params> & z.output<typeof terms>, correlationId: string, setStatus: (status: number) => void) => {
      authorize(caller, 'price', { kind: 'venue', venueId: input.venueId });
      const result = await api.services.catalogue.saveTicketType(input, callerCommandContext(api.services, caller, correlationId));
      if (result.created) setStatus(201);
      return savedAnswer(result);
    };

    api.route({
      method: 'PUT',
      url: '/api/v1/venues/:venueId/events/:eventId/ticket-types/:ticketTypeId',
      summary: "Register or revise a ticket type of an event at a venue: its price and sale window (the venue's managers, admins)",
      description: DESCRIPTION,
      tags: ['catalogue'],
      auth: { roles: ['venue_manager', 'admin'] },
      idempotent: false,
      params,
      body: terms,
      response: saved,
      otherStatuses: [201],
      handler: ({ params, body, principal, correlationId, setStatus }) => save({ kind: 'user', principal }, { ...params, ...body }, correlationId, setStatus),
    });

    api.route({
      method: 'PUT',
      url: '/internal/venues/:venueId/events/:eventId/ticket-types/:ticketTypeId',
      summary: "The ticket service registers or revises a ticket type (signed call; other services are refused)",
      description: DESCRIPTION,
      tags: ['catalogue', 'internal'],
      auth: 'internal',
      idempotent: false,
      params,
      body: terms,
      response: saved,
      otherStatuses: [201],
      handler: ({ params, body, service, correlationId, setStatus }) => save({ kind: 'service', service }, { ...params, ...body }, correlationId, setStatus),
    });

    api.route({
      method: 'GET',
      url: '/api/v1/venues/:venueId/events/:eventId/ticket-types',
      summary: "An event's ticket types at a venue, with their prices and sale windows",
      description: 'Read from the catalogue\'s own stream, so a price just registered is already here. An event with none answers an empty list.',
      tags: ['catalogue'],
      auth: 'user',
      params: z.object({ venueId: uuid, eventId: uuid }),
      response: z.object({ venueId: z.string(), eventId: z.string(), ticketTypes: z.array(ticketType) }),
      handler: async ({ params: { venueId, eventId } }) => ({ venueId, eventId, ticketTypes: await listTicketTypes(api, venueId, eventId) }),
    });
  },
};

async function listTicketTypes(api: RouteApi, venueId: string, eventId: string): Promise<z.output<typeof ticketType>[]> {
  const catalogue = await api.services.catalogue.getCatalogue(venueId, eventId);
  return Object.entries(catalogue.ticketTypes).map(([ticketTypeId, t]) => ({ ticketTypeId, venueId, eventId, ...t }));
}

const savedAnswer = (result: SaveTicketTypeResult): z.output<typeof saved> => ({
  ticketType: result.ticketType,
  created: result.created,
  changed: result.changed,
  position: answeredPosition(result.position),
});
