import type { Payee, PayeeAccountEvent, PayeeKind } from '../../../events/payee-account.js';
import { credit, debit } from '../journal.js';
import type { PostingRules } from '../ledger-projection.js';

/** What the platform owes a payee: the account a resale release credits (src/projections/ledger/rules/escrow.ts). */
export const payeePayableAccount = (payee: Payee): string =>
  payee.kind === 'seller' ? `seller:${payee.id}:payable` : `royalty:${payee.kind}:${payee.id}`;

/** A payee's payouts in transit. */
export const payeePaidOutAccount = (payee: Payee): string =>
  payee.kind === 'seller' ? `seller:${payee.id}:paid_out` : `royalty:${payee.kind}:${payee.id}:paid_out`;

const of = (data: { kind: PayeeKind; payeeId: string }): Payee => ({ kind: data.kind, id: data.payeeId });

/**
 * A seller's or royalty holder's payouts, booked as a venue's are (rules/venue-account.ts):
 * - payout requested: out of what is owed (`seller:<id>:payable`, `royalty:<party>:<id>`) into
 *   `…:paid_out` (in transit), the instant fee to the platform;
 * - payout sent: out of `…:paid_out` and out of the platform's clearing account (the money left);
 * - payout failed: `…:paid_out` and the fee back to what is owed.
 * The credit the payee's stream records (`PayeeProceedsCredited`) and a payout account change
 * have no rule: the release already booked the credit on the escrow's stream.
 */
export const payeeAccountPostingRules: PostingRules<PayeeAccountEvent> = {
  PayeePayoutRequested: ({ data }) => ({
    entryType: 'payout_requested',
    description: `${data.type} payout ${data.payoutId} of ${data.kind} ${data.payeeId}`,
    postings: [
      debit(payeePayableAccount(of(data)), data.currency, data.amount),
      credit(payeePaidOutAccount(of(data)), data.currency, data.net),
      credit('platform:fees', data.currency, data.fee),
    ],
    metadata: { payoutId: data.payoutId, payee: data.kind, type: data.type, feeBps: data.feeBps, requestedBy: data.requestedBy },
  }),

  PayeePayoutSent: ({ data }) => ({
    entryType: 'payout_settled',
    description: `payout ${data.payoutId} of ${data.kind} ${data.payeeId} paid by the gateway`,
    postings: [debit(payeePaidOutAccount(of(data)), data.currency, data.net), credit('gateway:clearing', data.currency, data.net)],
    metadata: { payoutId: data.payoutId, payee: data.kind, gateway: data.gateway, gatewayReference: data.gatewayReference },
  }),

  PayeePayoutFailed: ({ data }) => ({
    entryType: 'payout_reversed',
    description: `payout ${data.payoutId} of ${data.kind} ${data.payeeId} refused by the gateway; returned`,
    postings: [
      debit(payeePaidOutAccount(of(data)), data.currency, data.net),
      debit('platform:fees', data.currency, data.fee),
      credit(payeePayableAccount(of(data)), data.currency, data.amount),
    ],
    metadata: { payoutId: data.payoutId, payee: data.kind, code: data.code },
  }),
};
