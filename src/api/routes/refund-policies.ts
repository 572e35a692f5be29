import { z } from 'zod';
import type { RefundPolicySet } from '../../events/refund-policy.js';
import type { Position } from '../../eventstore/event-store.js';
import { asUser, authorize } from '../../domain/access.js';
import { callerCommandContext } from '../command-context.js';
import { answeredPosition, positionAnswer } from '../read-your-writes.js';
import type { RouteModule } from '../route.js';
import { isoDateTime, uuid } from '../schemas.js';

const tiers = z
  .array(
    z.object({
      hoursBefore: z.number().int().min(0).max(24 * 365).describe('From this many hours before the start (or earlier)'),
      refundBps: z.number().int().min(0).max(10_000).describe('the buyer may have back this share, in basis points'),
    }),
  )
  .max(10);

const policy = z.object({
  scope: z.enum(['venue', 'event']),
  scopeId: z.string(),
  venueId: z.string(),
  startsAt: z.string().optional(),
  tiers: tiers.optional(),
  changed: z.boolean(),
  position: positionAnswer,
});

const answer = (saved: { policy: RefundPolicySet['data']; changed: boolean; position: Position | null }) => ({
  ...saved.policy,
  tiers: saved.policy.tiers ? [...saved.policy.tiers] : undefined,
  changed: saved.changed,
  position: answeredPosition(saved.position),
});

/**
 * Refund policies as data (seed 001): a venue's default tiers, and an event's start time (and
 * tiers of its own). A buyer's refund meets the event's policy; an admin's does not.
 */
export const refundPolicyRoutes: RouteModule = {
  name: 'refund-policies',
  register(api) {
    const description =
      'PUT replaces the whole policy, so repeating it changes nothing (no event is written for an unchanged policy): ' +
      'it needs no Idempotency-Key. Venue managers may set their own venues; admins any. An event\'s policy is its ' +
      "venue's own: managers of two venues selling the same event id each set theirs.";

    api.route({
      method: 'PUT',
      url: '/api/v1/venues/:venueId/refund-policy',
      summary: "Set a venue's refund tiers (its events' default)",
      description,
      tags: ['venues'],
      auth: { roles: ['venue_manager', 'admin'] },
      idempotent: false,
      params: z.object({ venueId: uuid }),
      body: z.object({ tiers }),
      response: policy,
      handler: async ({ params, body, principal, correlationId }) => {
        authorize(asUser(principal), 'manage', { kind: 'venue', venueId: params.venueId });
        const saved = await api.services.venues.setRefundPolicy(
          { scope: 'venue', scopeId: params.venueId, venueId: params.venueId, tiers: body.tiers },
          callerCommandContext(api.services, { kind: 'user', principal }, correlationId),
        );
        return answer(saved);
      },
    });

    api.route({
      method: 'PUT',
      url: '/api/v1/events/:eventId/refund-policy',
      summary: "Set an event's start time (what refund tiers count back from) and, optionally, tiers of its own",
      description,
      tags: ['venues'],
      auth: { roles: ['venue_manager', 'admin'] },
      idempotent: false,
      params: z.object({ eventId: uuid }),
      body: z.object({ venueId: uuid, startsAt: isoDateTime('startsAt must be an ISO-8601 date-time with an offset'), tiers: tiers.optional() }),
      response: policy,
      handler: async ({ params, body, principal, correlationId }) => {
        authorize(asUser(principal), 'manage', { kind: 'venue', venueId: body.venueId });
        const saved = await api.services.venues.setRefundPolicy(
          {
            scope: 'event',
            scopeId: params.eventId,
            venueId: body.venueId,
            startsAt: new Date(body.startsAt).toISOString(),
            ...(body.tiers ? { tiers: body.tiers } : {}),
          },
          callerCommandContext(api.services, { kind: 'user', principal }, correlationId),
        );
        return answer(saved);
      },
    });
  },
};
