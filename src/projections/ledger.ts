import type { PaymentEvent } from '../events/payment-events.js';
import type { MintingEvent } from '../events/minting-events.js';
import type { EscrowEvent } from '../events/resale-events.js';
import { ledgerProjection } from '../ledger/ledger-projection.js';
import { paymentPostingRules } from '../ledger/rules/payment-rules.js';
import { resalePostingRules } from '../ledger/rules/resale-rules.js';
import type { GroupPaymentEvent } from '../events/group-payment-events.js';
import type { VenueAccountEvent } from '../events/venue-account-events.js';
import { groupPaymentPostingRules } from '../ledger/rules/group-payment-rules.js';
import { venueAccountPostingRules } from '../ledger/rules/venue-account-rules.js';

/**
 * Tessera's ledger: every area's posting rules in one projection. Bump the version whenever a
 * rule books differently; the ledger is then rebuilt beside the live one and swapped in.
 */
export const LEDGER_VERSION = 3;

export const ledger = ledgerProjection<PaymentEvent | EscrowEvent | MintingEvent | GroupPaymentEvent | VenueAccountEvent>(
  { ...paymentPostingRules, ...resalePostingRules, ...groupPaymentPostingRules, ...venueAccountPostingRules },
  { version: LEDGER_VERSION },
);
