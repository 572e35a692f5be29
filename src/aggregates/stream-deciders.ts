import type { Decider, DomainEvent } from './decider.js';
import { paymentDecider } from './payment.js';
import { venueDecider } from './venue-profile.js';

/** A decider with its types erased, for code that folds any stream (the audit). */
export type AnyDecider = Pick<Decider<unknown, never, DomainEvent>, 'initialState' | 'evolve' | 'isEvent'>;

/** Each aggregate's stream prefix (`payment-<uuid>`, `venue-<uuid>`) and its decider. */
const byPrefix: readonly (readonly [prefix: string, aggregate: string, decider: AnyDecider])[] = [
  ['payment-', 'Payment', paymentDecider],
  ['venue-', 'VenueProfile', venueDecider],
];

/** The aggregate whose stream `streamId` is, or undefined for a stream no decider owns. */
export function aggregateOfStream(streamId: string): { readonly aggregate: string; readonly decider: AnyDecider } | undefined {
  const found = byPrefix.find(([prefix]) => streamId.startsWith(prefix));
  return found && { aggregate: found[1], decider: found[2] };
}
