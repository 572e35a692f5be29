import { randomUUID } from 'node:crypto';
import { groupPaymentDecider, type GroupPaymentCommand } from '../../src/aggregates/group-payment.js';
import { toEventData } from '../../src/commands/handle-command.js';
import { quotePurchase } from '../../src/domain/purchase-quote.js';
import type { EventStore, Position } from '../../src/eventstore/event-store.js';
import { groupPaymentStreamId, type GroupPaymentEvent } from '../../src/events/group-payment.js';
import { memberIdFor } from '../../src/commands/group-payment.js';

export interface GroupPurchase {
  readonly groupId: string;
  readonly venueId: string;
  readonly organizerId?: string;
  readonly unitPrice: number;
  /** Each member's tickets and the user who pays the member's share. */
  readonly members: readonly { readonly ticketCount: number; readonly payerId: string }[];
  readonly now?: Date;
}

/** The commands of a group purchase every member pays: created, each share held, each captured. */
function commandsOf(purchase: GroupPurchase, now: Date): GroupPaymentCommand[] {
  const ticketCount = purchase.members.reduce((sum, m) => sum + m.ticketCount, 0);
  const quote = quotePurchase({
    ticketPrice: purchase.unitPrice * ticketCount,
    ticketCount,
    venueAddress: { city: 'Nashville', state: 'TN' },
    trailingVolume: 0,
    chain: 'polygon',
  });
  const members = purchase.members.map((m, i) => ({ memberId: memberIdFor(purchase.groupId, i), email: `m${i}@example.com`, name: `M${i}`, ticketCount: m.ticketCount }));
  const create: GroupPaymentCommand = {
    type: 'CreateGroupPayment',
    data: {
      groupId: purchase.groupId,
      organizerId: purchase.organizerId ?? 'organizer-1',
      venueId: purchase.venueId,
      eventId: 'event-group',
      tickets: [{ ticketTypeId: 'ga', quantity: ticketCount, unitPrice: purchase.unitPrice, priceSource: 'catalogue' }],
      quote,
      members,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 600_000).toISOString(),
    },
  };
  const shares = members.map((m, i) => ({ memberId: m.memberId, payerId: purchase.members[i]!.payerId, gatewayReference: `pi_${m.memberId}` }));
  return [
    create,
    ...shares.flatMap(({ memberId, payerId }): GroupPaymentCommand[] => [
      { type: 'SubmitContribution', data: { memberId, payerId, paymentMethodId: 'pm_card_visa', idempotencyKey: `key-${memberId}`, now: now.toISOString() } },
    ]),
    // The amounts are filled from the decided state below (each member's share).
    ...shares.map(({ memberId, gatewayReference }): GroupPaymentCommand => ({ type: 'RecordContributionAuthorized', data: { memberId, amount: 0, gateway: 'sandbox', gatewayReference } })),
    ...shares.map(({ memberId, gatewayReference }): GroupPaymentCommand => ({ type: 'RecordContributionCaptured', data: { memberId, amount: 0, gateway: 'sandbox', gatewayReference } })),
  ];
}

/** The events of a group purchase every member pays, as the GroupPayment decider decides them. */
export function completedGroupEvents(purchase: GroupPurchase, now: Date = purchase.now ?? new Date()): GroupPaymentEvent[][] {
  let state = groupPaymentDecider.initialState();
  const decided: GroupPaymentEvent[][] = [];
  for (const command of commandsOf(purchase, now)) {
    const withShare =
      command.type === 'RecordContributionAuthorized' || command.type === 'RecordContributionCaptured'
        ? { ...command, data: { ...command.data, amount: state.members.find((m) => m.memberId === command.data.memberId)!.amountDue } }
        : command;
    const events = groupPaymentDecider.decide(withShare, state);
    state = events.reduce((s, e) => groupPaymentDecider.evolve(s, e), state);
    decided.push(events);
  }
  return decided;
}

/**
 * Appends a completed group purchase decided by the GroupPayment decider, in one append: with
 * process managers running, appends one command at a time would race the group's own (its hold
 * step reacts to each submitted share).
 */
export async function appendCompletedGroup(store: EventStore, purchase: GroupPurchase): Promise<{ position: Position; events: GroupPaymentEvent[] }> {
  const now = purchase.now ?? new Date();
  const decided = completedGroupEvents(purchase, now);
  const data = decided.flatMap((events) =>
    toEventData(events, { commandId: randomUUID(), now, actor: 'system:test', tenantId: 'tenant-1', correlationId: purchase.groupId }),
  );
  const appended = await store.append(groupPaymentStreamId(purchase.groupId), data, { expected: 'no_stream' });
  return { position: appended.position, events: decided.flat() };
}
