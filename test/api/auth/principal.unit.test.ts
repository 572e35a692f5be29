import { describe, expect, it } from 'vitest';
import { actorOf, requireOwnerOrAdmin, requireVenueAccess, type Principal } from '../../../src/api/auth/principal.js';

const principal = (overrides: Partial<Principal>): Principal => ({ userId: 'u-1', role: 'user', venues: [], tenantId: 't', ...overrides });
const refusal = (check: () => void) => {
  try {
    check();
    return undefined;
  } catch (error) {
    return (error as { code: string }).code;
  }
};

describe('authorisation rules', () => {
  it('lets a venue manager act for the venues in their token only', () => {
    const manager = principal({ role: 'venue_manager', venues: ['v-1'] });
    expect(refusal(() => requireVenueAccess(manager, 'v-1'))).toBeUndefined();
    expect(refusal(() => requireVenueAccess(manager, 'v-2'))).toBe('FORBIDDEN');
  });

  it('lets an admin act for any venue and a plain user for none', () => {
    expect(refusal(() => requireVenueAccess(principal({ role: 'admin' }), 'v-9'))).toBeUndefined();
    expect(refusal(() => requireVenueAccess(principal({ role: 'user', venues: ['v-1'] }), 'v-1'))).toBe('FORBIDDEN');
  });

  it('lets users see what they own and admins everything', () => {
    expect(refusal(() => requireOwnerOrAdmin(principal({}), 'u-1'))).toBeUndefined();
    expect(refusal(() => requireOwnerOrAdmin(principal({}), 'u-2'))).toBe('FORBIDDEN');
    expect(refusal(() => requireOwnerOrAdmin(principal({ role: 'admin' }), 'u-2'))).toBeUndefined();
  });

  it('names the actor for event metadata', () => {
    expect(actorOf(principal({}))).toBe('user:u-1');
    expect(actorOf(principal({ role: 'admin', userId: 'a-1' }))).toBe('admin:a-1');
  });
});
