import { z } from 'zod';
import { ROLES } from '../../domain/access.js';
import type { RouteModule } from '../route.js';

const principal = z.object({
  userId: z.string(),
  role: z.enum(ROLES),
  venues: z.array(z.string()),
  tenantId: z.string(),
});

/** GET /api/v1/me: the caller as the API sees them, to check a token. */
export const meRoutes: RouteModule = {
  name: 'me',
  register(api) {
    api.route({
      method: 'GET',
      url: '/api/v1/me',
      tags: ['auth'],
      summary: "The caller's identity from their bearer token: user id, role, venues, tenant",
      auth: 'user',
      response: principal,
      handler: ({ principal }) => ({ ...principal, venues: [...principal.venues] }),
    });
  },
};
