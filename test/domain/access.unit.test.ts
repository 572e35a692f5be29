import { describe, expect, it } from 'vitest';
import { authorize, may, type Caller, type Principal, type Resource } from '../../src/domain/access.js';

const user = (overrides: Partial<Principal> = {}): Caller => ({
  kind: 'user',
  principal: { userId: 'u-1', role: 'user', venues: [], tenantId: 'tenant-a', ...overrides },
});
const owner = user();
const otherUser = user({ userId: 'u-2' });
const otherTenantSameSub = user({ tenantId: 'tenant-b' });
const manager = user({ userId: 'm-1', role: 'venue_manager', venues: ['v-1'] });
const otherManager = user({ userId: 'm-2', role: 'venue_manager', venues: ['v-2'] });
const admin = user({ userId: 'a-1', role: 'admin', tenantId: 'platform' });
const service = (name: string): Caller => ({ kind: 'service', service: name });

const payment: Resource = { kind: 'payment', tenantId: 'tenant-a', buyerId: 'u-1' };
const group = (holdsLink = false): Resource => ({ kind: 'group-payment', tenantId: 'tenant-a', organizerId: 'u-1', payerIds: ['u-3'], holdsLink });
const venue: Resource = { kind: 'venue', venueId: 'v-1' };

describe('the authorization rule', () => {
  it('lets the buyer in the payment\'s tenant and admins read and refund a payment, and nobody else', () => {
    for (const action of ['read', 'refund'] as const) {
      expect(may(owner, action, payment)).toBe(true);
      expect(may(admin, action, payment)).toBe(true);
      expect(may(otherUser, action, payment)).toBe(false);
      expect(may(otherTenantSameSub, action, payment)).toBe(false);
      expect(may(manager, action, payment)).toBe(false);
    }
  });

  it('lets only the order service confirm a payment completed, and no service read or refund one', () => {
    expect(may(service('order-service'), 'confirm', payment)).toBe(true);
    for (const caller of [service('ticket-service'), service('notification-service'), owner, admin]) {
      expect(may(caller, 'confirm', payment)).toBe(false);
    }
    expect(may(service('order-service'), 'read', payment)).toBe(false);
    expect(may(service('order-service'), 'refund', payment)).toBe(false);
  });

  it('refuses a payment whose buyer is unknown to everyone but admins', () => {
    expect(may(owner, 'read', { kind: 'payment', tenantId: 'tenant-a', buyerId: undefined })).toBe(false);
    expect(may(admin, 'read', { kind: 'payment', tenantId: 'tenant-a', buyerId: undefined })).toBe(true);
  });

  it('lets the organizer, payers and link holders of the group\'s tenant see a group, and only the organizer or a link holder pay a share', () => {
    expect(may(owner, 'read', group())).toBe(true);
    expect(may(user({ userId: 'u-3' }), 'read', group())).toBe(true);
    expect(may(otherUser, 'read', group())).toBe(false);
    expect(may(otherUser, 'read', group(true))).toBe(true);
    expect(may(otherUser, 'contribute', group(true))).toBe(true);
    expect(may(otherUser, 'contribute', group())).toBe(false);
    expect(may(otherTenantSameSub, 'read', group(true))).toBe(false);
    expect(may(otherTenantSameSub, 'contribute', group(true))).toBe(false);
    expect(may(otherTenantSameSub, 'cancel', group())).toBe(false);
    expect(may(admin, 'read', group())).toBe(true);
    expect(may(admin, 'cancel', group())).toBe(true);
    expect(may(admin, 'contribute', group())).toBe(false);
    expect(may(otherUser, 'cancel', group(true))).toBe(false);
  });

  it("lets an escrow's buyer and seller in its tenant, and admins, read and dispute it", () => {
    const escrow: Resource = { kind: 'escrow', tenantId: 'tenant-a', buyerId: 'u-2', sellerId: 'u-1' };
    expect(may(owner, 'dispute', escrow)).toBe(true);
    expect(may(otherUser, 'read', escrow)).toBe(true);
    expect(may(user({ userId: 'u-9' }), 'read', escrow)).toBe(false);
    expect(may(otherTenantSameSub, 'read', escrow)).toBe(false);
    expect(may(admin, 'dispute', escrow)).toBe(true);
  });

  it("lets only a ticket's owner in its tenant sell it, and users of a listing's tenant buy it", () => {
    expect(may(owner, 'sell', { kind: 'ticket', tenantId: 'tenant-a', ownerId: 'u-1' })).toBe(true);
    expect(may(otherTenantSameSub, 'sell', { kind: 'ticket', tenantId: 'tenant-a', ownerId: 'u-1' })).toBe(false);
    expect(may(owner, 'sell', { kind: 'ticket', tenantId: undefined, ownerId: 'u-1' })).toBe(false);
    expect(may(otherUser, 'buy', { kind: 'listing', tenantId: 'tenant-a' })).toBe(true);
    expect(may(otherTenantSameSub, 'buy', { kind: 'listing', tenantId: 'tenant-a' })).toBe(false);
  });

  it("lets a venue's managers and admins read, manage and price it; the ticket service price it; only admins and the venue service register it", () => {
    for (const action of ['read', 'manage', 'price'] as const) {
      expect(may(manager, action, venue)).toBe(true);
      expect(may(admin, action, venue)).toBe(true);
      expect(may(otherManager, action, venue)).toBe(false);
      expect(may(owner, action, venue)).toBe(false);
    }
    expect(may(service('ticket-service'), 'price', venue)).toBe(true);
    expect(may(service('order-service'), 'price', venue)).toBe(false);
    expect(may(service('ticket-service'), 'manage', venue)).toBe(false);
    expect(may(manager, 'register', venue)).toBe(false);
    expect(may(admin, 'register', venue)).toBe(true);
    expect(may(service('venue-service'), 'register', venue)).toBe(true);
    expect(may(service('ticket-service'), 'register', venue)).toBe(false);
  });

  it("lets a venue manager read only their venues' ledger accounts, and admins every account", () => {
    expect(may(manager, 'read', { kind: 'ledger-account', account: 'venue:v-1:available' })).toBe(true);
    expect(may(manager, 'read', { kind: 'ledger-account', account: 'venue:v-2:available' })).toBe(false);
    expect(may(manager, 'read', { kind: 'ledger-account', account: 'platform:fees' })).toBe(false);
    expect(may(admin, 'read', { kind: 'ledger-account', account: 'platform:fees' })).toBe(true);
    expect(may(owner, 'read', { kind: 'ledger-account', account: 'customer:u-1:refunds' })).toBe(false);
  });

  it('refuses with FORBIDDEN naming who may', () => {
    expect(() => authorize(otherTenantSameSub, 'refund', payment)).toThrow(/only the buyer or an admin/);
    expect(() => authorize(owner, 'refund', payment)).not.toThrow();
  });
});

describe('the authorization rule for payees (issue 23)', () => {
  const seller: Resource = { kind: 'payee', payee: 'seller', id: 'u-1' };
  const artist: Resource = { kind: 'payee', payee: 'artist', id: 'artist-7' };
  const venueRoyalties: Resource = { kind: 'payee', payee: 'venue', id: 'v-1' };

  it('lets only the seller move their own proceeds, and admins read their statement', () => {
    for (const action of ['payout', 'register'] as const) {
      expect(may(owner, action, seller)).toBe(true);
      expect(may(otherUser, action, seller)).toBe(false);
      expect(may(admin, action, seller)).toBe(false);
      expect(may(manager, action, seller)).toBe(false);
      expect(may(service('venue-service'), action, seller)).toBe(false);
    }
    expect(may(admin, 'read', seller)).toBe(true);
    expect(may(otherUser, 'read', seller)).toBe(false);
  });

  it("leaves an artist's royalties to admins, and a venue's to its managers and admins, whose profile names the account", () => {
    for (const action of ['read', 'payout', 'register'] as const) {
      expect(may(admin, action, artist)).toBe(true);
      expect(may(manager, action, artist)).toBe(false);
      expect(may(owner, action, artist)).toBe(false);
    }
    for (const action of ['read', 'payout'] as const) {
      expect(may(manager, action, venueRoyalties)).toBe(true);
      expect(may(admin, action, venueRoyalties)).toBe(true);
      expect(may(otherManager, action, venueRoyalties)).toBe(false);
    }
    expect(may(admin, 'register', venueRoyalties)).toBe(false);
    expect(() => authorize(otherUser, 'payout', seller)).toThrow(/only the seller/);
  });
});
