import { z } from 'zod';
import type { VenueAccountCommand } from '../aggregates/venue-account.js';
import { venueAccountHandler, loadVenueAccount } from '../commands/venue-account.js';
import { findVenueProfile } from '../commands/venue.js';
import { derivedId } from '../domain/ids.js';
import { sumMinor } from '../domain/money.js';
import type { GroupPaymentEvent } from '../events/group-payment.js';
import type { PaymentEvent } from '../events/payment.js';
import type { SaleSource, VenueAccountEvent } from '../events/venue-account.js';
import type { EventStore, RecordedEvent } from '../eventstore/event-store.js';
import type { PayoutGateway } from '../gateways/gateway.js';
import { contextFromDeadline, deadlineCause, deadlineHandler, type DeadlineHandler, type Deadlines } from './runtime/deadlines.js';
import { processManager, type ProcessManager } from './runtime/process-manager.js';
import { contextFromEvent } from '../commands/handle-command.js';
import type { RefundAllocation } from '../domain/refund-allocation.js';

export const VENUE_SETTLEMENT = 'venue-settlement';
export const VENUE_RESERVE_RELEASE = 'venue-reserve-release';

const ACTOR = `system:${VENUE_SETTLEMENT}`;

export interface SettlementSettings {
  /** From the sale to its proceeds becoming available. */
  readonly delayMs: number;
  readonly reserveBps: number;
  /** How long a settled sale's reserve is held. */
  readonly reservePeriodMs: number;
}

/**
 * A sale's settlement deadline (and, with its `reserve`, the reserve's release). `proceeds` are
 * the venue's proceeds as sold; what refunds took back before settlement comes off at settlement.
 */
const settlementPayload = z.object({
  venueId: z.string(),
  saleId: z.string(),
  source: z.enum(['payment', 'group-payment'] satisfies SaleSource[]),
  currency: z.string(),
  proceeds: z.number(),
  ...deadlineCause,
});
type SettlementPayload = z.input<typeof settlementPayload>;

/**
 * Settlement: each sale (a captured payment, a completed group purchase) gets a durable deadline
 * `delayMs` after it; when it fires, what is left of the venue's proceeds moves from pending to
 * available less the reserve, and the reserve gets a deadline of its own to be released.
 *
 * Refunds and lost disputes take proceeds back out of `pending` (payment rules); each is told to
 * the venue account, which either settles that much less later or, the sale already settled,
 * refills `pending` from the sale's reserve and then from `available`. A refund the gateway
 * refused is returned the same way. The account's one stream orders these against settlement.
 */
export function settlementProcess(deps: {
  store: EventStore;
  deadlines: Pick<Deadlines, 'schedule'>;
  settings: SettlementSettings;
  clock?: () => Date;
}): ProcessManager {
  const clock = deps.clock ?? (() => new Date());
  const send = (event: RecordedEvent, venueId: string, command: VenueAccountCommand) =>
    venueAccountHandler.handle(deps.store, venueId, command, contextFromEvent(event, 'venue-proceeds', ACTOR, clock()));
  const takeBack = (event: RecordedEvent, data: { venueId: string; paymentId: string; currency: string }, takebackId: string, allocation: RefundAllocation) =>
    send(event, data.venueId, {
      type: 'TakeBackProceeds',
      data: { venueId: data.venueId, saleId: data.paymentId, takebackId, currency: data.currency, amount: venueShare(allocation) },
    });
  const schedule = (event: RecordedEvent, sale: Omit<SettlementPayload, 'tenantId' | 'correlationId'>) =>
    deps.deadlines.schedule({
      id: `${VENUE_SETTLEMENT}:${sale.saleId}`,
      kind: VENUE_SETTLEMENT,
      dueAt: new Date(Date.parse(event.metadata.occurredAt) + deps.settings.delayMs),
      payload: { ...sale, tenantId: event.metadata.tenantId, correlationId: event.metadata.correlationId } satisfies SettlementPayload,
    });
  return processManager<PaymentEvent | GroupPaymentEvent>('venue-settlement', {
    PaymentCaptured: (event) => {
      const { data } = event;
      return schedule(event, { venueId: data.venueId, saleId: data.paymentId, source: 'payment', currency: data.currency, proceeds: data.quote.venueProceeds });
    },
    GroupPaymentCompleted: (event) => {
      const { data } = event;
      return schedule(event, { venueId: data.venueId, saleId: data.groupId, source: 'group-payment', currency: data.currency, proceeds: data.quote.venueProceeds });
    },
    RefundRequested: async (event) => {
      const { data } = event;
      await takeBack(event, data, data.refundId, data.allocation);
    },
    RefundFailed: async (event) => {
      const { data } = event;
      await send(event, data.venueId, { type: 'ReturnProceeds', data: { venueId: data.venueId, saleId: data.paymentId, takebackId: data.refundId, currency: data.currency } });
    },
    DisputeClosed: async (event) => {
      const { data } = event;
      if (data.outcome === 'lost' && data.allocation) await takeBack(event, data, `dispute:${data.disputeId}`, data.allocation);
    },
  });
}

/** The venue's part of what a refund or chargeback took back: ticket price less the venue tax it no longer owes. */
export const venueShare = (allocation: RefundAllocation): number =>
  allocation.ticketPrice - sumMinor(allocation.venueTaxReversed.map((l) => l.amount));

export function settlementHandler(
  deps: { store: EventStore; deadlines: Pick<Deadlines, 'schedule'>; settings: SettlementSettings },
  clock: () => Date = () => new Date(),
): DeadlineHandler {
  return deadlineHandler(settlementPayload, async (deadline) => {
    const { payload } = deadline;
    const now = clock();
    const reserveReleaseAt = new Date(now.getTime() + deps.settings.reservePeriodMs);
    const result = await venueAccountHandler.handle(
      deps.store,
      payload.venueId,
      {
        type: 'SettleSale',
        data: {
          venueId: payload.venueId,
          saleId: payload.saleId,
          source: payload.source,
          currency: payload.currency,
          amount: payload.proceeds,
          reserveBps: deps.settings.reserveBps,
          reserveReleaseAt: reserveReleaseAt.toISOString(),
        },
      },
      contextFromDeadline(deadline, 'settle', ACTOR, now),
    );
    const settled = result.events.find((e) => e.type === 'VenueSaleSettled');
    if (settled?.type !== 'VenueSaleSettled' || settled.data.reserve === 0) return;
    await deps.deadlines.schedule({
      id: `${VENUE_RESERVE_RELEASE}:${payload.saleId}`,
      kind: VENUE_RESERVE_RELEASE,
      dueAt: new Date(settled.data.reserveReleaseAt),
      payload: { ...payload, reserve: settled.data.reserve },
    });
  });
}

export function reserveReleaseHandler(store: EventStore, clock: () => Date = () => new Date()): DeadlineHandler {
  return deadlineHandler(settlementPayload, async (deadline) => {
    const { payload } = deadline;
    await venueAccountHandler.handle(
      store,
      payload.venueId,
      { type: 'ReleaseReserve', data: { venueId: payload.venueId, saleId: payload.saleId, currency: payload.currency } },
      contextFromDeadline(deadline, 'release', ACTOR, clock()),
    );
  });
}

/**
 * The payout: requested (money already out of available) -> a transfer to the payout account the
 * request recorded, keyed by the request event -> sent, or failed and returned to available.
 */
export function payoutProcess(deps: { store: EventStore; gateway: PayoutGateway; clock?: () => Date }): ProcessManager {
  const clock = deps.clock ?? (() => new Date());
  return processManager<VenueAccountEvent>('venue-payout', {
    VenuePayoutRequested: async (event) => {
      const { data } = event;
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
      await venueAccountHandler.handle(
        deps.store,
        data.venueId,
        result.kind === 'paid'
          ? { type: 'RecordPayoutSent', data: { payoutId: data.payoutId, gateway: deps.gateway.name, gatewayReference: result.reference } }
          : { type: 'RecordPayoutFailed', data: { payoutId: data.payoutId, code: result.code, reason: result.message } },
        contextFromEvent(event, 'payout-outcome', 'system:venue-payout', clock()),
      );
    },
  });
}
