import { TesseraError } from '../errors.js';

/**
 * Who may act on what: the one authorization rule every route, command and query goes through
 * (issue 17). The edge decides who may call a route at all (a token with a role, a signed
 * service); this rule decides, for a resource it names, whether this caller may take this action
 * on it. The facts about a resource (its tenant, buyer, organizer, venue) come from its own event
 * stream, read by the command or query, never from the request.
 */
export const ROLES = ['user', 'venue_manager', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, from a verified bearer token. */
export interface Principal {
  readonly userId: string;
  readonly role: Role;
  /** Venues a venue manager may see and act for. */
  readonly venues: readonly string[];
  readonly tenantId: string;
  /** The domain of the token's `email` claim, when it has one (fraud screening's lists). */
  readonly emailDomain?: string;
  /** The token's `email` claim, when it is an address: where this user's receipts go (issue 22). */
  readonly email?: string;
}

/** A user with a token, or another service by its signed call. */
export type Caller =
  | { readonly kind: 'user'; readonly principal: Principal }
  | { readonly kind: 'service'; /** The calling service (x-internal-service). */ readonly service: string };

/**
 * The resources the rule knows, with the facts it decides on. A user's resource belongs to the
 * tenant of the command that created it: the tenant in its stream's first event.
 */
export type Resource =
  | { readonly kind: 'payment'; readonly tenantId: string; readonly buyerId: string | undefined }
  | {
      readonly kind: 'group-payment';
      readonly tenantId: string;
      readonly organizerId: string;
      /** Users whose cards offered a share. */
      readonly payerIds: readonly string[];
      /** Whether the request carries a valid token of a member's payment link (of the member acted for, when one is). */
      readonly holdsLink: boolean;
    }
  | { readonly kind: 'escrow'; readonly tenantId: string; readonly buyerId: string; readonly sellerId: string }
  | { readonly kind: 'ticket'; readonly tenantId: string | undefined; readonly ownerId: string }
  | { readonly kind: 'listing'; readonly tenantId: string | undefined }
  | { readonly kind: 'venue'; readonly venueId: string }
  | { readonly kind: 'ledger-account'; readonly account: string }
  /**
   * What the platform owes a resale seller (`seller`: the user, in the caller's tenant: their
   * ledger account is derived from both) or a royalty holder (`artist`, `venue`).
   */
  | { readonly kind: 'payee'; readonly payee: 'seller' | 'artist' | 'venue'; readonly id: string };

/** What may be done to each kind of resource. */
export interface Actions {
  /** confirm: a service confirms a payment completed (the order service, before it fulfils an order). */
  readonly payment: 'read' | 'refund' | 'confirm';
  readonly 'group-payment': 'read' | 'contribute' | 'cancel';
  readonly escrow: 'read' | 'dispute';
  readonly ticket: 'sell';
  readonly listing: 'buy';
  /**
   * read: balances and reports; manage: refund policies and payouts; price: the ticket
   * catalogue; register: the venue's profile (address, tier, payout account).
   */
  readonly venue: 'read' | 'manage' | 'price' | 'register';
  readonly 'ledger-account': 'read';
  /** read: the statement; payout: pay out what is owed; register: set the payout account. */
  readonly payee: 'read' | 'payout' | 'register';
}

type Rule<R extends Resource> = (caller: Caller, action: Actions[R['kind']], resource: R) => boolean;
type ResourceOf<K extends Resource['kind']> = Extract<Resource, { kind: K }>;

/** Services that may act for any venue, by action: the venue service registers venues, the ticket service prices tickets. */
const VENUE_SERVICES: Readonly<Record<Actions['venue'], readonly string[]>> = {
  read: [],
  manage: [],
  price: ['ticket-service'],
  register: ['venue-service'],
};

/** Services that may act on any payment, by action: the order service confirms that one completed. */
const PAYMENT_SERVICES: Readonly<Record<Actions['payment'], readonly string[]>> = {
  read: [],
  refund: [],
  confirm: ['order-service'],
};

/**
 * The services the rule lets write anything (prices, venue profiles). A shared secret would let
 * any service sign as them, so production requires each of these to sign with a secret of its own.
 */
export const SERVICES_WITH_WRITES: readonly string[] = [...new Set(Object.values(VENUE_SERVICES).flat())].sort();

const userOf = (caller: Caller): Principal | undefined => (caller.kind === 'user' ? caller.principal : undefined);
const isAdmin = (caller: Caller): boolean => userOf(caller)?.role === 'admin';
/** The caller as a user of the resource's tenant (admins included), or undefined. */
const userInTenant = (caller: Caller, tenantId: string | undefined): Principal | undefined => {
  const user = userOf(caller);
  return user && tenantId !== undefined && user.tenantId === tenantId ? user : undefined;
};

/** A venue manager acts for the venues in their token; an admin for any. */
export const managesVenue = (principal: Principal, venueId: string): boolean =>
  principal.role === 'admin' || (principal.role === 'venue_manager' && principal.venues.includes(venueId));

/** The venue id of a `venue:<id>:…` ledger account, as written. */
export const venueOfAccount = (account: string): string | undefined => /^venue:([^:]+):/.exec(account)?.[1];

const RULES: { readonly [K in Resource['kind']]: Rule<ResourceOf<K>> } = {
  payment: (caller, action, payment) => {
    if (caller.kind === 'service') return PAYMENT_SERVICES[action].includes(caller.service);
    if (action === 'confirm') return false;
    return isAdmin(caller) || (payment.buyerId !== undefined && userInTenant(caller, payment.tenantId)?.userId === payment.buyerId);
  },
  'group-payment': (caller, action, group) => {
    if (action !== 'contribute' && isAdmin(caller)) return true;
    const user = userInTenant(caller, group.tenantId);
    if (!user) return false;
    const organizer = user.userId === group.organizerId;
    if (action === 'cancel') return organizer;
    if (action === 'contribute') return organizer || group.holdsLink;
    return organizer || group.holdsLink || group.payerIds.includes(user.userId);
  },
  escrow: (caller, _action, escrow) => {
    if (isAdmin(caller)) return true;
    const user = userInTenant(caller, escrow.tenantId);
    return user !== undefined && (user.userId === escrow.buyerId || user.userId === escrow.sellerId);
  },
  ticket: (caller, _action, ticket) => userInTenant(caller, ticket.tenantId)?.userId === ticket.ownerId,
  listing: (caller, _action, listing) => userInTenant(caller, listing.tenantId) !== undefined,
  venue: (caller, action, venue) => {
    if (caller.kind === 'service') return VENUE_SERVICES[action].includes(caller.service);
    // Registering a venue (and so its payout account) is the platform's: the venue service or an admin.
    if (action === 'register') return caller.principal.role === 'admin';
    return managesVenue(caller.principal, venue.venueId);
  },
  'ledger-account': (caller, _action, { account }) => {
    const user = userOf(caller);
    if (!user) return false;
    if (user.role === 'admin') return true;
    const venue = venueOfAccount(account);
    return venue !== undefined && managesVenue(user, venue);
  },
  payee: (caller, action, { payee, id }) => {
    const user = userOf(caller);
    if (!user) return false;
    switch (payee) {
      // Only the seller moves their own money; an admin may read their statement.
      case 'seller':
        return user.userId === id || (action === 'read' && user.role === 'admin');
      // A venue's royalties go to the venue's payout account, which its profile names.
      case 'venue':
        return action !== 'register' && managesVenue(user, id);
      case 'artist':
        return user.role === 'admin';
      default: {
        const unhandled: never = payee;
        throw new Error(`unknown payee ${String(unhandled)}`);
      }
    }
  },
};

/** Whether `caller` may take `action` on `resource`. */
export function may<R extends Resource>(caller: Caller, action: Actions[R['kind']], resource: R): boolean {
  return (RULES[resource.kind] as Rule<R>)(caller, action, resource);
}

const REFUSALS: { readonly [K in Resource['kind']]: string } = {
  payment: 'only the buyer or an admin may do this to a payment (and only the order service may confirm one completed)',
  'group-payment': "only the organizer, the members (by their payment link) and admins may do this to a group payment",
  escrow: "only the escrow's buyer, its seller or an admin may do this",
  ticket: "only the ticket's owner may sell it",
  listing: "only users of the listing's tenant may buy it",
  venue: 'No access to this venue',
  'ledger-account': 'No access to this account',
  payee: "only the seller (their own balance), a venue's managers (its royalties) and admins may do this",
};

/** `may`, or FORBIDDEN saying who may. */
export function authorize<R extends Resource>(caller: Caller, action: Actions[R['kind']], resource: R): void {
  if (may(caller, action, resource)) return;
  throw new TesseraError('FORBIDDEN', REFUSALS[resource.kind], { action, resource: resource.kind });
}

/** A user's call as a Caller. */
export const asUser = (principal: Principal): Caller => ({ kind: 'user', principal });
