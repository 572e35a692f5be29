import type { VenueAccountCommand } from '../aggregates/venue-account.js';
import { contextFromEvent } from '../commands/payment.js';
import { venueAccountHandler, loadVenueAccount } from '../commands/venue-account.js';
import { findVenueProfile } from '../commands/venue.js';
import { derivedId } from '../domain/ids.js';
import { sumMinor } from '../domain/money.js';
import type { GroupPaymentCompleted } from '../events/group-payment.js';
import type { DisputeClosed, PaymentCaptured, RefundAllocation, RefundFailed, RefundRequested } from '../events/payment.js';
import type { SaleSource, VenuePayoutRequested } from '../events/venue-account.js';
import type { EventStore, RecordedEvent } from '../eventstore/event-store.js';
import type { PayoutGateway } from '../gateways/gateway.js';
import type { Deadline, DeadlineHandler, Deadlines } from './runtime/deadlines.js';
import type { ProcessManager } from './runtime/process-manager.js';

export const VENUE_SETTLEMENT = 'venue-settlement';
export const VENUE_RESERVE_RELEASE = 'venue-reserve-release';

export interface SettlementSettings {
  /** From the sale to its proceeds becoming available. */
  readonly delayMs: number;
  readonly reserveBps: number;
  /** How long a settled sale's reserve is held. */
  readonly reservePeriodMs: number;
}

interface SettlementPayload {
  readonly venueId: string;
  readonly saleId: string;
  readonly source: SaleSource;
  readonly currency: string;
  /** The venue's proceeds as sold; what refunds took back before settlement comes off at settlement. */
  readonly proceeds: number;
  readonly tenantId: string;
  readonly correlationId: string;
}

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
    venueAccountHandler.handle(deps.store, venueId, command, contextFromEvent(event, 'venue-proceeds', `system:${VENUE_SETTLEMENT}`, clock()));
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
      payload: { ...sale, tenantId: event.metadata.tenantId, correlationId: event.metadata.correlationId },
    });
  const steps: Record<string, (event: RecordedEvent) => Promise<void>> = {
    PaymentCaptured: (event) => {
      const data = event.data as PaymentCaptured['data'];
      return schedule(event, { venueId: data.venueId, saleId: data.paymentId, source: 'payment', currency: data.currency, proceeds: data.quote.venueProceeds });
    },
    GroupPaymentCompleted: (event) => {
      const data = event.data as GroupPaymentCompleted['data'];
      return schedule(event, { venueId: data.venueId, saleId: data.groupId, source: 'group-payment', currency: data.currency, proceeds: data.quote.venueProceeds });
    },
    RefundRequested: async (event) => {
      const data = event.data as RefundRequested['data'];
      await takeBack(event, data, data.refundId, data.allocation);
    },
    RefundFailed: async (event) => {
      const data = event.data as RefundFailed['data'];
      await send(event, data.venueId, { type: 'ReturnProceeds', data: { venueId: data.venueId, saleId: data.paymentId, takebackId: data.refundId, currency: data.currency } });
    },
    DisputeClosed: async (event) => {
      const data = event.data as DisputeClosed['data'];
      if (data.outcome === 'lost' && data.allocation) await takeBack(event, data, `dispute:${data.disputeId}`, data.allocation);
    },
  };
  return { name: 'venue-settlement', handles: new Set(Object.keys(steps)), handle: (event) => steps[event.type]!(event) };
}

/** The venue's part of what a refund or chargeback took back: ticket price less the venue tax it no longer owes. */
export const venueShare = (allocation: RefundAllocation): number =>
  allocation.ticketPrice - sumMinor(allocation.venueTaxReversed.map((l) => l.amount));

const contextOf = (deadline: Deadline, payload: { tenantId: string; correlationId: string }, step: string, now: Date) => ({
  commandId: derivedId(deadline.id, step),
  now,
  actor: `system:${VENUE_SETTLEMENT}`,
  tenantId: payload.tenantId,
  correlationId: payload.correlationId,
  causationId: derivedId(deadline.id, 'deadline'),
});

export function settlementHandler(
  deps: { store: EventStore; deadlines: Pick<Deadlines, 'schedule'>; settings: SettlementSettings },
  clock: () => Date = () => new Date(),
): DeadlineHandler {
  return async (deadline) => {
    const payload = deadline.payload as unknown as SettlementPayload;
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
      contextOf(deadline, payload, 'settle', now),
    );
    const settled = result.events.find((e) => e.type === 'VenueSaleSettled');
    if (settled?.type !== 'VenueSaleSettled' || settled.data.reserve === 0) return;
    await deps.deadlines.schedule({
      id: `${VENUE_RESERVE_RELEASE}:${payload.saleId}`,
      kind: VENUE_RESERVE_RELEASE,
      dueAt: new Date(settled.data.reserveReleaseAt),
      payload: { ...payload, reserve: settled.data.reserve },
    });
  };
}

export function reserveReleaseHandler(store: EventStore, clock: () => Date = () => new Date()): DeadlineHandler {
  return async (deadline) => {
    const payload = deadline.payload as unknown as SettlementPayload;
    await venueAccountHandler.handle(
      store,
      payload.venueId,
      { type: 'ReleaseReserve', data: { venueId: payload.venueId, saleId: payload.saleId, currency: payload.currency } },
      contextOf(deadline, payload, 'release', clock()),
    );
  };
}

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
      await venueAccountHandler.handle(
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
