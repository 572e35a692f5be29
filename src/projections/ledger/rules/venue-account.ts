import type { VenueAccountEvent } from '../../../events/venue-account.js';
import { credit, debit } from '../journal.js';
import type { Booking, PostingRules } from '../ledger-projection.js';
import { venuePending } from './payment.js';

export const venueAvailable = (venueId: string): string => `venue:${venueId}:available`;
export const venueReserved = (venueId: string): string => `venue:${venueId}:reserved`;
export const venuePaidOut = (venueId: string): string => `venue:${venueId}:paid_out`;

/**
 * How a venue's money moves between its accounts:
 * - settlement: a sale's proceeds leave `pending` for `available`, less the reserve held in `reserved`;
 * - reserve release: `reserved` back to `available`;
 * - proceeds taken back after settlement (a refund, a lost dispute): the sale's reserve, then
 *   `available`, refill `pending` (which the refund drew on); a refused refund returns it to `available`;
 * - payout requested: out of `available` into `paid_out` (in transit), the instant fee to the platform;
 * - payout sent: out of `paid_out` and out of the platform's clearing account (the money left);
 * - payout failed: `paid_out` and the fee back to `available`.
 */
export const venueAccountPostingRules: PostingRules<VenueAccountEvent> = {
  VenueSaleSettled: ({ data }) => ({
    entryType: 'settlement',
    description: `${data.source} ${data.saleId} settled for venue ${data.venueId}`,
    postings: [
      debit(venuePending(data.venueId), data.currency, data.amount),
      credit(venueAvailable(data.venueId), data.currency, data.available),
      credit(venueReserved(data.venueId), data.currency, data.reserve),
    ],
    metadata: { saleId: data.saleId, source: data.source, reserveBps: data.reserveBps, reserveReleaseAt: data.reserveReleaseAt },
  }),

  VenueReserveReleased: ({ data }) => ({
    entryType: 'reserve_release',
    description: `reserve of ${data.saleId} released for venue ${data.venueId}`,
    postings: [debit(venueReserved(data.venueId), data.currency, data.amount), credit(venueAvailable(data.venueId), data.currency, data.amount)],
    metadata: { saleId: data.saleId },
  }),

  VenueProceedsTakenBack: ({ data }): Booking | null =>
    data.afterSettlement
      ? {
          entryType: 'proceeds_taken_back',
          description: `${data.takebackId} of ${data.saleId} drawn from venue ${data.venueId}'s reserve and available balance`,
          postings: [
            debit(venueReserved(data.venueId), data.currency, data.fromReserve),
            debit(venueAvailable(data.venueId), data.currency, data.fromAvailable),
            credit(venuePending(data.venueId), data.currency, data.amount),
          ],
          metadata: { saleId: data.saleId, takebackId: data.takebackId },
        }
      : null,

  VenueProceedsReturned: ({ data }): Booking | null =>
    data.afterSettlement
      ? {
          entryType: 'proceeds_returned',
          description: `${data.takebackId} of ${data.saleId} undone: returned to venue ${data.venueId}'s available balance`,
          postings: [debit(venuePending(data.venueId), data.currency, data.amount), credit(venueAvailable(data.venueId), data.currency, data.amount)],
          metadata: { saleId: data.saleId, takebackId: data.takebackId },
        }
      : null,

  VenuePayoutRequested: ({ data }) => ({
    entryType: 'payout_requested',
    description: `${data.type} payout ${data.payoutId} of venue ${data.venueId}`,
    postings: [
      debit(venueAvailable(data.venueId), data.currency, data.amount),
      credit(venuePaidOut(data.venueId), data.currency, data.net),
      credit('platform:fees', data.currency, data.fee),
    ],
    metadata: { payoutId: data.payoutId, type: data.type, feeBps: data.feeBps, requestedBy: data.requestedBy },
  }),

  VenuePayoutSent: ({ data }) => ({
    entryType: 'payout_settled',
    description: `payout ${data.payoutId} of venue ${data.venueId} paid by the gateway`,
    postings: [debit(venuePaidOut(data.venueId), data.currency, data.net), credit('gateway:clearing', data.currency, data.net)],
    metadata: { payoutId: data.payoutId, gateway: data.gateway, gatewayReference: data.gatewayReference },
  }),

  VenuePayoutFailed: ({ data }) => ({
    entryType: 'payout_reversed',
    description: `payout ${data.payoutId} of venue ${data.venueId} refused by the gateway; returned`,
    postings: [
      debit(venuePaidOut(data.venueId), data.currency, data.net),
      debit('platform:fees', data.currency, data.fee),
      credit(venueAvailable(data.venueId), data.currency, data.amount),
    ],
    metadata: { payoutId: data.payoutId, code: data.code },
  }),
};
