import { z } from 'zod';
import type { Place } from '../../commands/waiting-room.js';
import { authorize, type Principal } from '../../domain/access.js';
import { JTI_PATTERN, type Buyer, type RoomKey } from '../../domain/waiting-room.js';
import type { RouteModule } from '../route.js';
import { uuid } from '../schemas.js';

const params = z.object({ venueId: uuid, eventId: uuid });

const place = z.object({
  status: z.enum(['waiting', 'admitted', 'purchased', 'expired', 'revoked']).describe(
    'waiting: in the queue; admitted: buy with `token` as x-access-token before `expiresAt`; purchased, expired, revoked: what became of your last token (join again for a new place)',
  ),
  position: z.number().int().optional().describe('While waiting: 1 is next'),
  estimatedWaitSeconds: z.number().int().optional().describe('While waiting: at best, at the release rate, after the sale opens'),
  token: z.string().optional().describe('When admitted: the access token (JWT HS256, 10 minutes, one purchase)'),
  jti: z.string().optional(),
  expiresAt: z.string().optional(),
  joined: z.boolean().optional().describe('Join only: true when this call gave you a new place, false when you had one'),
});

const placeAnswer = (p: Place): z.output<typeof place> => ({ ...p });

const roomOf = (p: z.output<typeof params>): RoomKey => ({ venueId: p.venueId, eventId: p.eventId });
const buyerOf = (principal: Principal): Buyer => ({ tenantId: principal.tenantId, userId: principal.userId });

const ROOM = '/api/v1/venues/:venueId/events/:eventId/waiting-room';

const NOT_ENABLED = 'An event without an enabled waiting room at the venue answers 404 WAITING_ROOM_NOT_FOUND.';

/**
 * Waiting rooms (issue 21): buyers join, watch their place and leave; admitted buyers get an
 * access token a purchase of the event requires (x-access-token). The venue's managers and
 * admins see the room's figures and activity and revoke tokens. A room is the venue's event's, one
 * for every tenant selling it (the catalogue is the venue's): its capacity and release rate hold
 * for all their buyers together, a buyer is a tenant's user, and the venue's managers see the
 * whole room.
 */
export const waitingRoomRoutes: RouteModule = {
  name: 'waiting-room',
  features: { waitingRoom: true },
  register(api) {
    const { waitingRoom } = api.services;
    for (const metric of api.services.waitingRoomMetrics.all) api.metrics.registerMetric(metric);
    const managers = { roles: ['venue_manager', 'admin'] } as const;
    const manage = (principal: Principal, venueId: string) => authorize({ kind: 'user', principal }, 'manage', { kind: 'venue', venueId });

    api.route({
      method: 'POST',
      url: `${ROOM}/join`,
      summary: "Join an event's waiting room: your place, your estimated wait, and your access token once admitted",
      description:
        'One place per buyer: joining again keeps your place (and answers it), so the call needs no Idempotency-Key. Buyers are ' +
        'admitted in join order (first come) or, in a draw, those who joined before the sale opened in random order, then the others; ' +
        "a buyer's draw is fixed: leaving and joining again before the sale opens gives the same place. " +
        NOT_ENABLED,
      tags: ['waiting-room'],
      auth: 'user',
      idempotent: false,
      params,
      response: place,
      handler: async ({ params, principal }) => placeAnswer(await waitingRoom.join(roomOf(params), buyerOf(principal))),
    });

    api.route({
      method: 'GET',
      url: `${ROOM}/status`,
      summary: 'Your place in the waiting room, or your access token once admitted',
      description: `Poll it: admission happens on a timer and on every call. 404 NOT_IN_WAITING_ROOM when you have not joined (or left). ${NOT_ENABLED}`,
      tags: ['waiting-room'],
      auth: 'user',
      params,
      response: place,
      handler: async ({ params, principal }) => placeAnswer(await waitingRoom.status(roomOf(params), buyerOf(principal))),
    });

    api.route({
      method: 'DELETE',
      url: ROOM,
      summary: 'Leave the waiting room: your place, or your unused access token, goes to the next buyer',
      description: `Safe to repeat: once gone, \`left\` is false. ${NOT_ENABLED}`,
      tags: ['waiting-room'],
      auth: 'user',
      idempotent: false,
      params,
      response: z.object({ left: z.boolean() }),
      handler: async ({ params, principal }) => waitingRoom.leave(roomOf(params), buyerOf(principal)),
    });

    api.route({
      method: 'GET',
      url: ROOM,
      summary: "The room's figures for its console, every tenant's buyers: queue length, active buyers, tokens in use, admitted in the last minute (the venue's managers, admins)",
      tags: ['waiting-room'],
      auth: managers,
      params,
      response: z.object({
        venueId: z.string(),
        eventId: z.string(),
        settings: z.object({ enabled: z.boolean(), capacity: z.number().int(), releaseRate: z.number().int(), order: z.string(), opensAt: z.string().optional() }),
        queueLength: z.number().int(),
        active: z.number().int().describe('Admitted buyers with a live, unused token: the capacity in use'),
        tokensInUse: z.number().int().describe('Unexpired tokens not revoked: the active ones and those used by a purchase'),
        admittedLastMinute: z.number().int(),
      }),
      handler: async ({ params, principal }) => {
        manage(principal, params.venueId);
        return { ...params, ...(await waitingRoom.stats(roomOf(params))) };
      },
    });

    api.route({
      method: 'DELETE',
      url: `${ROOM}/tokens/:jti`,
      summary: 'Revoke an access token: it buys nothing any more, and its place goes to the next buyer (the venue\'s managers, admins)',
      description:
        'Safe to repeat: a token already revoked, used or expired answers `revoked: false` with its state. 404 ACCESS_TOKEN_NOT_FOUND ' +
        `for a token this room did not issue. ${NOT_ENABLED}`,
      tags: ['waiting-room'],
      auth: managers,
      idempotent: false,
      params: params.extend({ jti: z.string().regex(JTI_PATTERN, { error: 'must be a token id (32 hex digits)' }) }),
      response: z.object({ jti: z.string(), revoked: z.boolean(), state: z.enum(['active', 'consumed', 'revoked', 'expired']) }),
      handler: async ({ params, principal }) => {
        manage(principal, params.venueId);
        return waitingRoom.revoke(roomOf(params), params.jti);
      },
    });

    api.route({
      method: 'GET',
      url: `${ROOM}/activity`,
      summary: "The room's activity, newest first: joined, admitted, abandoned (left, expired, revoked), purchased (the venue's managers, admins)",
      tags: ['waiting-room'],
      auth: managers,
      params,
      query: z.object({
        limit: z.coerce.number().int().min(1).max(500).default(100),
        before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional().describe("Page on: the last item's seq"),
      }),
      response: z.object({
        items: z.array(
          z.object({
            id: z.string(),
            seq: z.number().int(),
            tenantId: z.string().describe("The buyer's tenant: a room holds every tenant's buyers of the event"),
            userId: z.string(),
            action: z.string(),
            metadata: z.record(z.string(), z.union([z.string(), z.number()])),
            timestamp: z.string(),
          }),
        ),
        nextBefore: z.number().int().nullable().describe('Pass as `before` for the next page; null on the last'),
      }),
      handler: async ({ params, query, principal }) => {
        manage(principal, params.venueId);
        const rows = await waitingRoom.activity(roomOf(params), { limit: query.limit, ...(query.before === undefined ? {} : { before: query.before }) });
        return {
          items: rows.map((r) => ({ id: r.id, seq: r.seq, tenantId: r.tenantId, userId: r.userId, action: r.action, metadata: { ...r.metadata }, timestamp: r.at.toISOString() })),
          nextBefore: rows.length === query.limit ? rows[rows.length - 1]!.seq : null,
        };
      },
    });
  },
};
