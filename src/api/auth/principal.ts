import { z } from 'zod';
import { TesseraError } from '../../errors.js';

export const ROLES = ['user', 'venue_manager', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, from a verified bearer token. */
export interface Principal {
  readonly userId: string;
  readonly role: Role;
  /** Venues a venue manager may see and act for. */
  readonly venues: readonly string[];
  readonly tenantId: string;
}

/** The claims Tessera reads from a token; anything else in it is ignored. */
export const tokenClaims = z.object({
  sub: z.string().min(1),
  role: z.enum(ROLES),
  venues: z.array(z.string().min(1)).default([]),
  tenant_id: z.string().min(1),
});

export const principalFromClaims = (claims: z.output<typeof tokenClaims>): Principal => ({
  userId: claims.sub,
  role: claims.role,
  // Venue ids are UUIDs, compared as text with the lower-case ids routes hand on.
  venues: claims.venues.map((venue) => venue.toLowerCase()),
  tenantId: claims.tenant_id,
});

/** The actor recorded in event metadata for this principal. */
export const actorOf = (principal: Principal): string =>
  principal.role === 'admin' ? `admin:${principal.userId}` : `user:${principal.userId}`;

/** Admins may act for any venue; a venue manager only for the venues in the token. */
export const hasVenueAccess = (principal: Principal, venueId: string): boolean =>
  principal.role === 'admin' || (principal.role === 'venue_manager' && principal.venues.includes(venueId));

/** hasVenueAccess, or FORBIDDEN. */
export function requireVenueAccess(principal: Principal, venueId: string): void {
  if (!hasVenueAccess(principal, venueId)) throw new TesseraError('FORBIDDEN', 'No access to this venue');
}

/** A user may see only what they own; admins see everything. */
export function requireOwnerOrAdmin(principal: Principal, ownerId: string): void {
  if (principal.role === 'admin' || principal.userId === ownerId) return;
  throw new TesseraError('FORBIDDEN', 'No access to this resource');
}
