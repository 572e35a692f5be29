import type { PaymentEvent } from '../../events/payment.js';
import type { MintingEvent } from '../../events/minting.js';
import type { EscrowEvent } from '../../events/escrow.js';
import { ledgerProjection } from './ledger-projection.js';
import { paymentPostingRules } from './rules/payment.js';
import { resalePostingRules } from './rules/escrow.js';
import type { GroupPaymentEvent } from '../../events/group-payment.js';
import type { PayeeAccountEvent } from '../../events/payee-account.js';
import type { VenueAccountEvent } from '../../events/venue-account.js';
import { groupPaymentPostingRules } from './rules/group-payment.js';
import { payeeAccountPostingRules } from './rules/payee-account.js';
import { venueAccountPostingRules } from './rules/venue-account.js';

/**
 * Tessera's ledger: every area's posting rules in one projection. Bump the version whenever a
 * rule books differently; the ledger is then rebuilt beside the live one and swapped in.
 * Version 4 chains the journal's entries by hash: its rebuild gives the entries booked before
 * it their hashes.
 */
export const LEDGER_VERSION = 4;

export const ledger = ledgerProjection<PaymentEvent | EscrowEvent | MintingEvent | GroupPaymentEvent | VenueAccountEvent | PayeeAccountEvent>(
  { ...paymentPostingRules, ...resalePostingRules, ...groupPaymentPostingRules, ...venueAccountPostingRules, ...payeeAccountPostingRules },
  { version: LEDGER_VERSION },
);
