import type { GroupPaymentEvent } from '../../../events/group-payment.js';
import type { PostingRules } from '../ledger-projection.js';
import { saleBooking } from './payment.js';

/**
 * How group payments move money. Holds move none: only the completed purchase books, once, as a
 * single purchase does (its card cost is one capture's cost per member). An expired or cancelled
 * group books nothing, since nothing was captured.
 */
export const groupPaymentPostingRules: PostingRules<GroupPaymentEvent> = {
  GroupPaymentCompleted: ({ data }) =>
    saleBooking({
      what: `tickets for event ${data.eventId} (group payment ${data.groupId})`,
      venueId: data.venueId,
      currency: data.currency,
      amount: data.amount,
      processingCost: data.processingCost,
      quote: data.quote,
      metadata: { groupId: data.groupId, venueId: data.venueId, organizerId: data.organizerId, members: data.contributions.length },
    }),
};
