import { describe, expect, it } from 'vitest';
import { actorOf, principalFromClaims } from '../../../src/api/auth/principal.js';
import type { Principal } from '../../../src/domain/access.js';

const principal = (overrides: Partial<Principal>): Principal => ({ userId: 'u-1', role: 'user', venues: [], tenantId: 't', ...overrides });

describe('principals', () => {
  it('names the actor for event metadata', () => {
    expect(actorOf(principal({}))).toBe('user:u-1');
    expect(actorOf(principal({ role: 'admin', userId: 'a-1' }))).toBe('admin:a-1');
  });

  it('reads venue ids of a token in lower case, as routes hand them on', () => {
    const read = principalFromClaims({ sub: 'm-1', role: 'venue_manager', venues: ['F622A1C4-0000-4000-8000-000000000001'], tenant_id: 't' });
    expect(read.venues).toEqual(['f622a1c4-0000-4000-8000-000000000001']);
  });

  it("keeps the token's email claim for receipts and its domain for fraud lists, and ignores a claim that is no address", () => {
    const read = principalFromClaims({ sub: 'u-1', role: 'user', venues: [], tenant_id: 't', email: ' Buyer@Example.COM ' });
    expect(read).toMatchObject({ email: 'Buyer@Example.COM', emailDomain: 'example.com' });
    const none = principalFromClaims({ sub: 'u-1', role: 'user', venues: [], tenant_id: 't', email: 'not-an-address' });
    expect(none.email).toBeUndefined();
  });
});
