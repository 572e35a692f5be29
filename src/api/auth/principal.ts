import { z } from 'zod';
import { ROLES, type Principal } from '../../domain/access.js';

/** The claims Tessera reads from a token; anything else in it is ignored. */
export const tokenClaims = z.object({
  sub: z.string().min(1),
  role: z.enum(ROLES),
  venues: z.array(z.string().min(1)).default([]),
  tenant_id: z.string().min(1),
  /** When the identity provider puts it in: its domain can be on a fraud block list, and receipts go to it. */
  email: z.string().max(320).optional(),
});

export const principalFromClaims = (claims: z.output<typeof tokenClaims>): Principal => ({
  userId: claims.sub,
  role: claims.role,
  // Venue ids are UUIDs, compared as text with the lower-case ids routes hand on.
  venues: claims.venues.map((venue) => venue.toLowerCase()),
  tenantId: claims.tenant_id,
  ...(claims.email?.includes('@') ? { emailDomain: claims.email.slice(claims.email.lastIndexOf('@') + 1).trim().toLowerCase(), email: claims.email.trim() } : {}),
});

/** The actor recorded in event metadata for this principal. */
export const actorOf = (principal: Principal): string =>
  principal.role === 'admin' ? `admin:${principal.userId}` : `user:${principal.userId}`;
