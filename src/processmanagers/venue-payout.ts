import { contextFromEvent } from '../commands/payment-execute.js';
import { findVenueProfile } from '../commands/venue.js';
import { derivedId } from '../domain/ids.js';
import type { EventStore, RecordedEvent } from '../eventstore/event-store.js';
import type { VenuePayoutRequested } from '../events/venue-account.js';
import type { PayoutGateway } from '../gateways/gateway.js';
import type { ProcessManager } from './runtime/process-manager.js';
import { executeVenueAccountCommand, loadVenueAccount } from '../commands/venue-account.js';

/**
 * The payout: requested (money already out of available) -> a transfer to the payout account the
 * request recorded, keyed by the request event -> sent, or failed and returned to available.
 */
export function payoutProcess(deps: { store: EventStore; gateway: PayoutGateway; clock?: () => Date }): ProcessManager {
  const clock = deps.clock ?? (() => new Date());
  return {
    name: 'venue-payout',
    handles: new Set(['VenuePayoutRequested']),
    async handle(event: RecordedEvent) {
      const data = event.data as VenuePayoutRequested['data'];
      const account = await loadVenueAccount(deps.store, data.venueId);
      if (account.payouts[data.payoutId]?.status !== 'requested') return;
      const destination = data.destination !== undefined ? data.destination : (await findVenueProfile(deps.store, data.venueId))?.payoutAccount;
      const result = await deps.gateway.transfer({
        idempotencyKey: derivedId(event.id, 'transfer'),
        amount: data.net,
        currency: data.currency,
        ...(destination ? { destination } : {}),
        instant: data.type === 'instant',
        metadata: { venueId: data.venueId, payoutId: data.payoutId },
      });
      await executeVenueAccountCommand(
        deps.store,
        data.venueId,
        result.kind === 'paid'
          ? { type: 'RecordPayoutSent', data: { payoutId: data.payoutId, gateway: deps.gateway.name, gatewayReference: result.reference } }
          : { type: 'RecordPayoutFailed', data: { payoutId: data.payoutId, code: result.code, reason: result.message } },
        contextFromEvent(event, 'payout-outcome', 'system:venue-payout', clock()),
      );
    },
  };
}
