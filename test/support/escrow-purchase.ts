import { randomUUID } from 'node:crypto';
import { escrowDecider, type EscrowCommand } from '../../src/aggregates/escrow.js';
import { toEventData } from '../../src/commands/handle-command.js';
import { splitResale } from '../../src/domain/resale.js';
import type { EventStore, Position } from '../../src/eventstore/event-store.js';
import { escrowStreamId, type EscrowEvent } from '../../src/events/escrow.js';

export interface EscrowPurchase {
  readonly escrowId: string;
  readonly venueId: string;
  readonly price: number;
  readonly buyerId?: string;
  /** What happens after the funding: nothing more (funded), a dispute that holds the money, or a refund the gateway paid. */
  readonly then?: 'disputed' | 'refunded';
  readonly now?: Date;
}

/** A resale escrow's events as the Escrow decider decides them: created and funded (the buyer charged), then what `then` says. */
export function fundedEscrowEvents(purchase: EscrowPurchase, now: Date = purchase.now ?? new Date()): EscrowEvent[][] {
  const split = splitResale(purchase.price, { maxPriceBps: 25_000, minPriceBps: 5_000, venueRoyaltyBps: 1_000, artistRoyaltyBps: 250, platformFeeBps: 500 });
  const commands: EscrowCommand[] = [
    {
      type: 'CreateEscrow',
      data: {
        escrowId: purchase.escrowId,
        listingId: randomUUID(),
        ticketId: randomUUID(),
        buyerId: purchase.buyerId ?? 'buyer-2',
        sellerId: 'seller-1',
        venueId: purchase.venueId,
        eventId: 'event-resale',
        chain: 'polygon',
        currency: 'USD',
        amount: purchase.price,
        split,
        paymentMethodId: 'pm_card_visa',
        // Far away: its release deadline must not fire during a test.
        releaseTimeoutMs: 86_400_000,
        createdAt: now.toISOString(),
      },
    },
    { type: 'RecordFunding', data: { gateway: 'sandbox', gatewayReference: `pi_${purchase.escrowId}`, fundedAt: now.toISOString() } },
    ...(purchase.then === 'disputed' ? [{ type: 'DisputeEscrow', data: { reason: 'not as described', raisedBy: 'buyer-2' } } satisfies EscrowCommand] : []),
    ...(purchase.then === 'refunded'
      ? ([
          { type: 'RefundEscrow', data: { reason: 'transfer_not_confirmed', refundedAt: now.toISOString() } },
          { type: 'RecordRefundPaid', data: { gatewayReference: `re_${purchase.escrowId}` } },
        ] satisfies EscrowCommand[])
      : []),
  ];
  let state = escrowDecider.initialState();
  const decided: EscrowEvent[][] = [];
  for (const command of commands) {
    const events = escrowDecider.decide(command, state);
    state = events.reduce((s, e) => escrowDecider.evolve(s, e), state);
    decided.push(events);
  }
  return decided;
}

/**
 * Appends a resale escrow decided by the Escrow decider in one append. `then: 'disputed'` leaves
 * it where no process manager acts on it: the escrow's charge and transfer steps look at the
 * state first, and a disputed escrow waits for an operator.
 */
export async function appendFundedEscrow(store: EventStore, purchase: EscrowPurchase): Promise<{ position: Position; events: EscrowEvent[] }> {
  const now = purchase.now ?? new Date();
  const decided = fundedEscrowEvents(purchase, now);
  const data = decided.flatMap((events) => toEventData(events, { commandId: randomUUID(), now, actor: 'system:test', tenantId: 'tenant-1', correlationId: purchase.escrowId }));
  const appended = await store.append(escrowStreamId(purchase.escrowId), data, { expected: 'no_stream' });
  return { position: appended.position, events: decided.flat() };
}
