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
    capacity: z
      .number()
      .int()
      .min(0)
      .max(10_000_000)
      .nullable()
      .optional()
      .describe(
        'Most tickets of this type taken at once: sold plus held by pending purchases and open groups (409 SOLD_OUT beyond). ' +
          'Absent: the capacity registered before stays (none for a new ticket type); null: no capacity',
      ),
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
  capacity: z.number().int().optional(),
});

const availability = z.object({
  sold: z.number().int().describe('Tickets of paid purchases and completed groups, refunds given back'),
  held: z.number().int().describe('Tickets held by pending purchases and open groups'),
  remaining: z.number().int().nullable().describe('capacity - sold - held (never below 0); null without a capacity'),
});

const eventParams = z.object({ venueId: uuid, eventId: uuid });

const limitCount = (what: string) => z.number().int().min(1).max(10_000).describe(what);

const limits = z.object({
  perUser: limitCount('Tickets one user may have for the event, across orders'),
  perPaymentMethod: limitCount('Tickets one payment method may pay for'),
  perAddress: limitCount("Tickets bought from one address (the buyer's IP; IPv6 by /64)"),
  perOrder: limitCount('Tickets in one order'),
});

const room = z
  .object({
    enabled: z.boolean().describe('false switches the room off: purchases need no access token'),
    capacity: z.number().int().min(1).max(1_000_000).describe('Active buyers: admitted, with a token neither used nor expired'),
    releaseRate: z.number().int().min(1).max(1_000_000).describe('New buyers admitted per minute'),
    order: z.enum(['first_come', 'draw']).default('first_come').describe('first_come: by join time; draw: those who joined before opensAt in random order, then by join time'),
    opensAt: isoDateTime('opensAt must be an ISO-8601 date-time with an offset')
      .transform((value) => new Date(value).toISOString())
      .optional()
      .describe('Nobody is admitted before it; required for a draw'),
  })
  .refine((r) => r.order !== 'draw' || r.opensAt !== undefined, { error: 'is required for a draw', path: ['opensAt'] });

/** The room's settings as answered: the same fields, plain (a response schema transforms nothing). */
const roomAnswer = z.object({
  enabled: z.boolean(),
  capacity: z.number().int(),
  releaseRate: z.number().int(),
  order: z.enum(['first_come', 'draw']),
  opensAt: z.string().optional(),
});

const saved = z.object({
  ticketType,
  created: z.boolean().describe('True when this call registered the ticket type (answered 201)'),
  changed: z.boolean().describe('False when the ticket type was already exactly this'),
  position: positionAnswer,
});

const DESCRIPTION =
  "PUT replaces the ticket type's terms, so repeating it changes nothing (no event is written for unchanged terms); " +
  'a body without `capacity` keeps the capacity registered before, and `capacity: null` removes it. It needs no ' +
  'Idempotency-Key. 201 when it registers the ticket type, 200 when it revises or keeps it. The venue must ' +
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
      response: z.object({ venueId: z.string(), eventId: z.string(), ticketTypes: z.array(ticketType.extend(availability.shape)) }),
      handler: async ({ params: { venueId, eventId } }) => ({ venueId, eventId, ticketTypes: await listTicketTypes(api, venueId, eventId) }),
    });

    api.route({
      method: 'PUT',
      url: '/api/v1/venues/:venueId/events/:eventId/purchase-limits',
      summary: "Set an event's purchase limits at a venue, replacing seed 003's defaults (the venue's managers, admins)",
      description:
        'Limits count tickets across every order of the event at the venue, pending and paid; failed, expired, cancelled and ' +
        'fully refunded orders give theirs back. A purchase over one is 403 PURCHASE_LIMIT_EXCEEDED naming it. Lowering a ' +
        'limit keeps what was bought. PUT replaces the limits; repeating it writes nothing.',
      tags: ['catalogue'],
      auth: { roles: ['venue_manager', 'admin'] },
      idempotent: false,
      params: eventParams,
      body: limits,
      response: z.object({ limits, changed: z.boolean(), position: positionAnswer }),
      handler: async ({ params, body, principal, correlationId }) => {
        const caller: Caller = { kind: 'user', principal };
        authorize(caller, 'price', { kind: 'venue', venueId: params.venueId });
        const result = await api.services.catalogue.setPurchaseLimits({ ...params, limits: body }, callerCommandContext(api.services, caller, correlationId));
        return { limits: result.settings, changed: result.changed, position: answeredPosition(result.position) };
      },
    });

    api.route({
      method: 'GET',
      url: '/api/v1/venues/:venueId/events/:eventId/purchase-limits',
      summary: "The purchase limits an event's orders are held to",
      description: '`source`: event (set for it), default (seed 003: 4 per user, 4 per payment method, 8 per address, 4 per order), none (PURCHASE_LIMITS=false and none set).',
      tags: ['catalogue'],
      auth: 'user',
      params: eventParams,
      response: z.object({ venueId: z.string(), eventId: z.string(), limits: limits.nullable(), source: z.enum(['event', 'default', 'none']) }),
      handler: async ({ params: { venueId, eventId } }) => ({ venueId, eventId, ...(await api.services.catalogue.purchaseLimits(venueId, eventId)) }),
    });

    api.route({
      method: 'PUT',
      url: '/api/v1/venues/:venueId/events/:eventId/waiting-room',
      summary: "Switch an event's waiting room on, reconfigure it, or switch it off (the venue's managers, admins)",
      description:
        'While it is on, every purchase and group of the event needs an access token from the room in `x-access-token`. ' +
        'PUT replaces the settings; repeating it writes nothing.',
      tags: ['waiting-room'],
      auth: { roles: ['venue_manager', 'admin'] },
      idempotent: false,
      params: eventParams,
      body: room,
      response: z.object({ room: roomAnswer, changed: z.boolean(), position: positionAnswer }),
      handler: async ({ params, body, principal, correlationId }) => {
        const caller: Caller = { kind: 'user', principal };
        authorize(caller, 'price', { kind: 'venue', venueId: params.venueId });
        const result = await api.services.catalogue.configureWaitingRoom({ ...params, room: body }, callerCommandContext(api.services, caller, correlationId));
        return { room: result.settings, changed: result.changed, position: answeredPosition(result.position) };
      },
    });
  },
};

async function listTicketTypes(api: RouteApi, venueId: string, eventId: string) {
  const catalogue = await api.services.catalogue.getCatalogue(venueId, eventId);
  const counted = new Map((await api.services.catalogue.availability(venueId, eventId)).map((a) => [a.ticketTypeId, a]));
  return Object.entries(catalogue.ticketTypes).map(([ticketTypeId, t]) => {
    const { sold = 0, held = 0 } = counted.get(ticketTypeId) ?? {};
    const remaining = t.capacity === undefined ? null : Math.max(0, t.capacity - sold - held);
    return { ticketTypeId, venueId, eventId, ...t, sold, held, remaining };
  });
}

const savedAnswer = (result: SaveTicketTypeResult): z.output<typeof saved> => ({
  ticketType: result.ticketType,
  created: result.created,
  changed: result.changed,
  position: answeredPosition(result.position),
});
