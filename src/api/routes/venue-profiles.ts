import { z } from 'zod';
import { authorize } from '../../domain/access.js';
import { callerCommandContext } from '../command-context.js';
import type { RouteModule } from '../route.js';
import { uuid } from '../schemas.js';
import { answeredPosition, positionAnswer } from '../read-your-writes.js';
import { usAddress } from './payment-schemas.js';

const tier = z.enum(['starter', 'pro', 'enterprise']);

const profile = z.object({
  name: z.string().trim().min(1).max(200),
  address: usAddress,
  tierOverride: tier.optional().describe('Pins the fee tier whatever the volume (a negotiated contract)'),
  payoutAccount: z.string().trim().min(1).max(255).optional().describe('A gateway account reference for payouts, never bank details'),
});

const saved = z.object({
  venueId: z.string(),
  name: z.string(),
  address: z.object({ street: z.string(), city: z.string(), state: z.string(), zip: z.string() }),
  tierOverride: tier.optional(),
  payoutAccount: z.string().optional(),
  created: z.boolean().describe('True when this call registered the venue (answered 201)'),
  changed: z.boolean().describe('False when the profile was already exactly this'),
  position: positionAnswer,
});

/**
 * The venue profile payments need (address for tax, tier override, payout account): set by an
 * admin or by the venue service. A purchase at a venue without one is VENUE_NOT_FOUND.
 */
export const venueProfileRoutes: RouteModule = {
  name: 'venue-profiles',
  register(api) {
    api.route({
      method: 'PUT',
      url: '/api/v1/venues/:venueId',
      summary: "Register a venue or replace its profile (admin, or the venue service's signed call)",
      description:
        'PUT replaces the whole profile, so repeating it changes nothing (no event is written for an unchanged ' +
        'profile): it needs no Idempotency-Key. 201 when it registers the venue, 200 when it updates or keeps it.',
      tags: ['venues'],
      auth: { roles: ['admin'], services: ['venue-service'] },
      idempotent: false,
      params: z.object({ venueId: uuid }),
      body: profile,
      response: saved,
      otherStatuses: [201],
      handler: async ({ params, body, caller, correlationId, setStatus }) => {
        authorize(caller, 'register', { kind: 'venue', venueId: params.venueId });
        const result = await api.services.venues.saveProfile(
          {
            venueId: params.venueId,
            name: body.name,
            address: body.address,
            ...(body.tierOverride ? { tierOverride: body.tierOverride } : {}),
            ...(body.payoutAccount ? { payoutAccount: body.payoutAccount } : {}),
          },
          callerCommandContext(api.services, caller, correlationId),
        );
        if (result.created) setStatus(201);
        return {
          venueId: result.venueId,
          ...result.profile,
          created: result.created,
          changed: result.changed,
          position: answeredPosition(result.position),
        };
      },
    });
  },
};
