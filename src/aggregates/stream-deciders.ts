import { catalogueDecider } from './catalogue.js';
import type { Decider, DomainEvent } from './decider.js';
import { escrowDecider } from './escrow.js';
import { groupPaymentDecider } from './group-payment.js';
import { listingDecider } from './listing.js';
import { payeeAccountDecider } from './payee-account.js';
import { paymentDecider } from './payment.js';
import { refundPolicyDecider } from './refund-policy.js';
import { venueAccountDecider } from './venue-account.js';
import { venueDecider } from './venue.js';

/** A decider with its types erased, for code that folds any stream (the audit). */
export type AnyDecider = Pick<Decider<unknown, never, DomainEvent>, 'initialState' | 'evolve' | 'isEvent'>;

/**
 * Each aggregate's stream prefix (src/events/*: `payment-<uuid>`, `venue-<uuid>`...) and its
 * decider, longest prefix first, so `venue-account-<id>` is not taken for a venue profile.
 */
const byPrefix: readonly (readonly [prefix: string, aggregate: string, decider: AnyDecider])[] = (
  [
    ['payment-', 'Payment', paymentDecider],
    ['venue-', 'VenueProfile', venueDecider],
    ['venue-account-', 'VenueAccount', venueAccountDecider],
    ['payee-account-', 'PayeeAccount', payeeAccountDecider],
    ['group-payment-', 'GroupPayment', groupPaymentDecider],
    ['listing-', 'Listing', listingDecider],
    ['escrow-', 'Escrow', escrowDecider],
    ['refund-policy-', 'RefundPolicy', refundPolicyDecider],
    ['catalogue-', 'Catalogue', catalogueDecider],
  ] as const
).toSorted((a, b) => b[0].length - a[0].length);

/** The aggregate whose stream `streamId` is, or undefined for a stream no decider owns. */
export function aggregateOfStream(streamId: string): { readonly aggregate: string; readonly decider: AnyDecider } | undefined {
  const found = byPrefix.find(([prefix]) => streamId.startsWith(prefix));
  return found && { aggregate: found[1], decider: found[2] };
}
