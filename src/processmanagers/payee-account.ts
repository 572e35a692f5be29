import type { PayeeAccountCommand } from '../aggregates/payee-account.js';
import { contextFromEvent } from '../commands/handle-command.js';
import { loadPayeeAccount, payeeAccountHandler } from '../commands/payee-account.js';
import { derivedId } from '../domain/ids.js';
import type { EscrowEvent } from '../events/escrow.js';
import type { Payee, PayeeAccountEvent } from '../events/payee-account.js';
import type { EventStore, RecordedEvent } from '../eventstore/event-store.js';
import type { PayoutGateway } from '../gateways/gateway.js';
import { userAccountId } from '../projections/ledger/accounts.js';
import { processManager, type ProcessManager } from './runtime/process-manager.js';

/**
 * Resale proceeds to the payees' accounts: each released escrow credits its seller, its venue's
 * royalty and its artist's royalty (when named) on their own streams, with the amounts of the
 * split the escrow recorded, as the ledger credits `seller:<id>:payable` and `royalty:<party>:<id>`.
 * The escrow id is the credit's id, so a redelivered release credits nothing twice.
 */
export function payeeCreditProcess(deps: { store: EventStore; clock?: () => Date }): ProcessManager {
  const clock = deps.clock ?? (() => new Date());
  const credit = (event: RecordedEvent, escrowId: string, payee: Payee, currency: string, amount: number) =>
    payeeAccountHandler.handle(
      deps.store,
      payee,
      { type: 'CreditProceeds', data: { payee, creditId: escrowId, currency, amount } } satisfies PayeeAccountCommand,
      contextFromEvent(event, `payee-credit:${payee.kind}`, 'system:payee-credit', clock()),
    );
  return processManager<EscrowEvent>('payee-credit', {
    EscrowReleased: async (event) => {
      const { data } = event;
      const { split } = data;
      await credit(event, data.escrowId, { kind: 'seller', id: userAccountId(event.metadata.tenantId, data.sellerId) }, data.currency, split.sellerPayout);
      await credit(event, data.escrowId, { kind: 'venue', id: data.venueId }, data.currency, split.venueRoyalty);
      if (split.artistId !== undefined) await credit(event, data.escrowId, { kind: 'artist', id: split.artistId }, data.currency, split.artistRoyalty);
    },
  });
}

/**
 * A payee's payout, as a venue's (processmanagers/venue-account.ts): requested (money already out
 * of what is owed) -> a transfer to the account the request recorded, keyed by the request event
 * -> sent, or failed and owed again.
 */
export function payeePayoutProcess(deps: { store: EventStore; gateway: PayoutGateway; clock?: () => Date }): ProcessManager {
  const clock = deps.clock ?? (() => new Date());
  return processManager<PayeeAccountEvent>('payee-payout', {
    PayeePayoutRequested: async (event) => {
      const { data } = event;
      const payee: Payee = { kind: data.kind, id: data.payeeId };
      const account = await loadPayeeAccount(deps.store, payee);
      if (account.payouts[data.payoutId]?.status !== 'requested') return;
      const result = await deps.gateway.transfer({
        idempotencyKey: derivedId(event.id, 'transfer'),
        amount: data.net,
        currency: data.currency,
        destination: data.destination,
        instant: data.type === 'instant',
        metadata: { payee: data.kind, payeeId: data.payeeId, payoutId: data.payoutId },
      });
      await payeeAccountHandler.handle(
        deps.store,
        payee,
        result.kind === 'paid'
          ? { type: 'RecordPayoutSent', data: { payoutId: data.payoutId, gateway: deps.gateway.name, gatewayReference: result.reference } }
          : { type: 'RecordPayoutFailed', data: { payoutId: data.payoutId, code: result.code, reason: result.message } },
        contextFromEvent(event, 'payout-outcome', 'system:payee-payout', clock()),
      );
    },
  });
}
