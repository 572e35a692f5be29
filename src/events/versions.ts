import { CATALOGUE_EVENT_VERSIONS } from './catalogue.js';
import { ESCROW_EVENT_VERSIONS } from './escrow.js';
import { GROUP_PAYMENT_EVENT_VERSIONS } from './group-payment.js';
import { LISTING_EVENT_VERSIONS } from './listing.js';
import { MINTING_EVENT_VERSIONS } from './minting.js';
import { PAYEE_ACCOUNT_EVENT_VERSIONS } from './payee-account.js';
import { PAYMENT_EVENT_VERSIONS } from './payment.js';
import { REFUND_POLICY_EVENT_VERSIONS } from './refund-policy.js';
import { RISK_POLICY_EVENT_VERSIONS } from './risk-policy.js';
import { VENUE_ACCOUNT_EVENT_VERSIONS } from './venue-account.js';
import { VENUE_EVENT_VERSIONS } from './venue.js';

/**
 * The schema version of every event type Tessera writes, joined from each concept's catalogue
 * (`*_EVENT_VERSIONS` in src/events/<concept>.ts). An append stamps the type's version in the
 * event's metadata; a type's shape changes by raising its version there and adding an upcaster
 * for the old one (src/events/upcasters.ts), so stored events are never rewritten.
 */
export const EVENT_VERSIONS_BY_CONCEPT = {
  catalogue: CATALOGUE_EVENT_VERSIONS,
  escrow: ESCROW_EVENT_VERSIONS,
  'group-payment': GROUP_PAYMENT_EVENT_VERSIONS,
  listing: LISTING_EVENT_VERSIONS,
  minting: MINTING_EVENT_VERSIONS,
  'payee-account': PAYEE_ACCOUNT_EVENT_VERSIONS,
  payment: PAYMENT_EVENT_VERSIONS,
  'refund-policy': REFUND_POLICY_EVENT_VERSIONS,
  'risk-policy': RISK_POLICY_EVENT_VERSIONS,
  'venue-account': VENUE_ACCOUNT_EVENT_VERSIONS,
  venue: VENUE_EVENT_VERSIONS,
} as const;

type Catalogue = (typeof EVENT_VERSIONS_BY_CONCEPT)[keyof typeof EVENT_VERSIONS_BY_CONCEPT];
type KeysOfEach<T> = T extends unknown ? keyof T : never;

/** Every event type Tessera writes: a decider's events must be among them (see handleCommand). */
export type EventType = KeysOfEach<Catalogue>;

const versions = new Map<string, number>();
for (const [concept, catalogue] of Object.entries(EVENT_VERSIONS_BY_CONCEPT)) {
  for (const [type, version] of Object.entries(catalogue)) {
    // Two concepts naming one type would stamp and upcast each other's events.
    if (versions.has(type)) throw new Error(`event type ${type} is declared twice (again in src/events/${concept}.ts)`);
    versions.set(type, version);
  }
}

/** The schema version `type` is written with now; throws for a type no catalogue declares. */
export function eventVersionOf(type: string): number {
  const version = versions.get(type);
  if (version === undefined) {
    throw new Error(`event type ${type} has no schema version: declare it in the *_EVENT_VERSIONS of its src/events/<concept>.ts`);
  }
  return version;
}
