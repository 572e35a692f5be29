import type { CatalogueState, RequestedTicketLine } from '../aggregates/catalogue.js';
import { heldForReview, isSettled, paymentDecider, RISK_DECLINED, type PaymentState, type PaymentStatus } from '../aggregates/payment.js';
import { asUser, authorize, type Principal } from '../domain/access.js';
import type { Chain } from '../domain/fees.js';
import type { TaxAddress } from '../domain/tax.js';
import { derivedId } from '../domain/ids.js';
import { seedFees, type PurchaseQuote, type SeedFees } from '../domain/purchase-quote.js';
import { TesseraError } from '../errors.js';
import { paymentStreamId, type NextAction, type PaymentMethodRef } from '../events/payment.js';
import { positionToString, type EventStore, type Position } from '../eventstore/event-store.js';
import type { VenueVolume } from '../projections/venue-volume.js';
import { pricePurchase } from './catalogue.js';
import { calculateFees, calculateTaxForVenue, type FeeQuote, type SeedTaxResponse } from './fees.js';
import { listingHandler, listingIdFor } from './escrow.js';
import { followStream } from './follow-stream.js';
import { type CommandContext, commandHandler } from './handle-command.js';
import { refundPolicyFor } from './refund-policy.js';
import type { RiskAssessor, RiskSignals } from './risk.js';
import { riskDeclinedError } from './risk-declined.js';
import type { TicketInventory } from './ticket-inventory.js';
import type { AccessRequest, PurchaseAccess } from './waiting-room.js';
import { ticketIdFor } from '../domain/ids.js';
import type { RefundAllocation } from '../domain/refund-allocation.js';

export interface ProcessPaymentInput {
  readonly userId: string;
  readonly venueId: string;
  readonly eventId: string;
  /** Priced from the event's catalogue at the venue; a line's `expectedPrice` only guards against a changed price. */
  readonly tickets: readonly RequestedTicketLine[];
  readonly paymentMethod: PaymentMethodRef;
  readonly chain?: Chain;
  /** The buyer's address, device and session, for the risk assessment (the address also for the purchase limits). */
  readonly signals?: RiskSignals;
  /** The waiting room's access token (`x-access-token`), required while the event's room is enabled. */
  readonly accessToken?: string;
}

export interface ProcessPaymentDeps {
  readonly store: EventStore;
  readonly volume: VenueVolume;
  readonly captureMode: 'automatic' | 'manual';
  readonly pendingTtlMs: number;
  readonly waitMs: number;
  readonly defaultChain?: Chain;
  /** The risk assessment before the gateway call (absent: fraud checks off, FRAUD_CHECKS=false). */
  readonly risk?: RiskAssessor;
  /** Capacities and purchase limits: every purchase's tickets are reserved before it is written. */
  readonly inventory: TicketInventory;
  /** The waiting room's access tokens, checked and used once while the event's room is enabled. */
  readonly access: PurchaseAccess;
}

/** What `process` answers: the payment as it stands once the gateway answered, or still processing. */
export interface PurchaseOutcome {
  readonly paymentId: string;
  readonly status: PaymentStatus;
  /** False when the wait ran out first: answer 202 and point at `pollPath`. */
  readonly settled: boolean;
  readonly pollPath: string;
  readonly fees: SeedFees;
  readonly quote: PurchaseQuote;
  readonly gatewayReference?: string;
  readonly nextAction?: NextAction;
  readonly failure?: { readonly reason: string; readonly code: string; readonly declineCode?: string };
  /** `pending`: the card is authorized and the risk assessment holds the capture for an analyst. */
  readonly review?: 'pending';
  /** Position of the request event, for read-your-writes on the query side. */
  readonly position: Position | null;
  /** True when this command id had been processed before (a retried request). */
  readonly replayed: boolean;
}

export const paymentIdFor = (commandId: string): string => derivedId(commandId, 'payment');

/**
 * `POST /api/v1/payments/process`: prices the tickets from the catalogue and the purchase at
 * the venue's tier, address taxes and gas, records the request (the purchase process manager
 * takes it to the gateway), then waits up to `waitMs` for the gateway's answer. The payment id derives from the command id, so a
 * retried request finds its payment instead of charging again.
 */
export async function processPayment(deps: ProcessPaymentDeps, input: ProcessPaymentInput, context: CommandContext): Promise<PurchaseOutcome> {
  const paymentId = paymentIdFor(context.commandId);
  const chain = input.chain ?? deps.defaultChain ?? 'polygon';
  const recorded = async () => (await paymentHandler.load(deps.store, paymentId)).state.request?.tickets;
  const { tickets, quote, catalogue } = await pricePurchase(deps, { ...input, chain }, context.now, recorded);
  const purchase = { tenantId: context.tenantId, userId: input.userId, venueId: input.venueId, eventId: input.eventId };
  const access = await admittedBy(deps.access, catalogue, { ...purchase, token: input.accessToken, commandId: context.commandId }, recorded);
  const reserved = await deps.inventory.reserve(
    {
      ...purchase,
      id: paymentId,
      streamId: paymentStreamId(paymentId),
      tickets,
      paymentMethodId: input.paymentMethod.paymentMethodId,
      ...(input.signals?.ip ? { ip: input.signals.ip } : {}),
    },
    catalogue,
    context.now,
    recorded,
  );
  let assessed: Awaited<ReturnType<RiskAssessor['assess']>> | undefined;
  const requested = await (async () => {
    if (access) await deps.access.consume(access.jti, context.commandId);
    assessed = await deps.risk?.assess(
      {
        paymentId,
        subject: 'purchase',
        userId: input.userId,
        venueId: input.venueId,
        eventId: input.eventId,
        amount: quote.total,
        tickets: tickets.reduce((sum, line) => sum + line.quantity, 0),
        paymentMethodId: input.paymentMethod.paymentMethodId,
        signals: input.signals ?? {},
        ...(reserved.limits ? { eventTicketLimit: reserved.limits.perUser } : {}),
      },
      context,
    );
    const assessment = assessed?.assessment;
    return paymentHandler.handle(
      deps.store,
      paymentId,
      {
        type: 'RequestPayment',
        ...(assessment ? { assessment } : {}),
        data: {
          paymentId,
          userId: input.userId,
          venueId: input.venueId,
          eventId: input.eventId,
          tickets,
          quote,
          paymentMethod: input.paymentMethod,
          captureMode: deps.captureMode,
          requestedAt: context.now.toISOString(),
          expiresAt: new Date(context.now.getTime() + deps.pendingTtlMs).toISOString(),
        },
      },
      context,
      // The payment id derives from the command id: only a retry finds the stream already there.
      { expectNew: true },
    );
  })().catch(async (error: unknown) => {
    // Not written: the purchase must not count toward the buyer's limits or hold any ticket.
    if (assessed?.newlyCounted) await deps.risk?.forget(paymentId);
    if (reserved.newlyReserved) await deps.inventory.release(paymentId);
    throw error;
  });
  // A retry of a purchase written before (its stored answer expired): that purchase decided
  // what counts, not this assessment.
  if (requested.replayed && assessed?.newlyCounted) await deps.risk?.forget(paymentId);
  if (requested.replayed && reserved.newlyReserved) await deps.inventory.release(paymentId);
  // The answer's position covers every event its state folded, so a query given it sees that state.
  const settled = await followStream(deps.store, paymentStreamId(paymentId), paymentDecider, { from: requested, until: isSettled, timeoutMs: deps.waitMs });
  return outcomeOf(paymentId, settled.state, settled.position ?? requested.position, requested.replayed);
}

/**
 * The access token of the waiting room the event's catalogue has enabled, checked (403
 * QUEUE_TOKEN_REQUIRED, INVALID_ACCESS_TOKEN); none without a room. A retried request whose
 * purchase was recorded before needs no token: it answers as the first time did.
 */
export async function admittedBy(
  access: PurchaseAccess,
  catalogue: CatalogueState,
  request: Omit<AccessRequest, 'room'>,
  recorded: () => Promise<unknown>,
): Promise<{ readonly jti: string } | undefined> {
  const room = catalogue.waitingRoom;
  if (!room?.enabled) return undefined;
  return access.check({ ...request, room }).catch(async (error: unknown) => {
    if (await recorded()) return undefined;
    throw error;
  });
}

function outcomeOf(paymentId: string, state: PaymentState, position: Position | null, replayed: boolean): PurchaseOutcome {
  const request = state.request!;
  return {
    paymentId,
    status: state.status as PaymentStatus,
    settled: isSettled(state),
    pollPath: `/api/v1/payments/transaction/${paymentId}`,
    fees: seedFees(request.quote),
    quote: request.quote,
    ...(state.gatewayReference ? { gatewayReference: state.gatewayReference } : {}),
    ...(state.nextAction && state.status === 'pending' ? { nextAction: state.nextAction } : {}),
    ...(state.failure ? { failure: state.failure } : {}),
    ...(heldForReview(state) ? { review: 'pending' as const } : {}),
    position,
    replayed,
  };
}

/**
 * The error a route answers a declined purchase with: 402 with the gateway's decline codes, or,
 * declined by the risk assessment, the seed's 403 BOT_DETECTED / FRAUD_DETECTED, 429
 * VELOCITY_LIMIT_EXCEEDED or 403 PURCHASE_LIMIT_EXCEEDED. Nothing was charged.
 */
export function paymentFailedError(outcome: PurchaseOutcome): TesseraError {
  if (outcome.failure?.code === RISK_DECLINED) return riskDeclinedErrorOf(outcome);
  const codes = {
    ...(outcome.failure ? { gatewayCode: outcome.failure.code } : {}),
    ...(outcome.failure?.declineCode ? { declineCode: outcome.failure.declineCode } : {}),
  };
  return new TesseraError('PAYMENT_FAILED', outcome.failure?.reason ?? 'payment failed', {
    paymentId: outcome.paymentId,
    ...codes,
    // The client needs to know which transaction failed and why, to show it or try another card.
    // With the position, a query can read the failed payment back (read-your-writes).
    expose: { transactionId: outcome.paymentId, status: outcome.status, ...codes, ...(outcome.position ? { position: positionToString(outcome.position) } : {}) },
  });
}

function riskDeclinedErrorOf(outcome: PurchaseOutcome): TesseraError {
  return riskDeclinedError(outcome.failure?.declineCode, {
    transactionId: outcome.paymentId,
    status: outcome.status,
    ...(outcome.position ? { position: positionToString(outcome.position) } : {}),
  });
}

/** The Payment aggregate's command handler (`payment-<id>` streams). */
export const paymentHandler = commandHandler(paymentDecider, paymentStreamId);



/** Loads a payment that must exist (PAYMENT_NOT_FOUND otherwise), with its request at hand. */
/**
 * The payment, read from its stream; `recent`: as this process last saw it, for a step that only
 * reads its request (never changed once written).
 */
export async function requirePayment(store: EventStore, paymentId: string, options: { readonly recent?: boolean } = {}) {
  const loaded = await (options.recent ? paymentHandler.loadRecent(store, paymentId) : paymentHandler.load(store, paymentId));
  const request = loaded.state.request;
  if (!request) throw new TesseraError('PAYMENT_NOT_FOUND', `payment ${paymentId} not found`, { paymentId });
  return { ...loaded, request };
}

export interface RefundPaymentInput {
  readonly paymentId: string;
  /** Cents; omitted for a full refund of what remains. */
  readonly amount?: number;
  readonly reason: string;
  /** The caller: only the buyer (in the payment's tenant) or an admin may refund (src/domain/access.ts). */
  readonly requester: Principal;
}

export interface RefundReceipt {
  readonly refund: { readonly id: string; readonly amount: number; readonly status: 'pending' | 'succeeded' | 'failed' };
  readonly allocation: RefundAllocation;
  readonly paymentStatus: PaymentStatus;
  readonly position: Position | null;
  readonly replayed: boolean;
}

export const refundIdFor = (commandId: string): string => derivedId(commandId, 'refund');

/**
 * `POST /api/v1/payments/transaction/:id/refund`: records the refund request (the refund
 * process manager takes it to the gateway) and answers `pending` as the seed does. Refusals:
 * PAYMENT_NOT_FOUND, FORBIDDEN (not the buyer in the payment's tenant, nor an admin),
 * PAYMENT_NOT_REFUNDABLE, REFUND_EXCEEDS_ORIGINAL, and for a buyer REFUND_POLICY_EXCEEDED (the
 * event's refund policy), TICKET_RESOLD / TICKET_IN_RESALE (a ticket of the payment was resold,
 * or is listed or held by an escrow: the buyer no longer has it to give back). Admins are bound
 * by neither.
 */
export async function refundPayment(store: EventStore, input: RefundPaymentInput, context: CommandContext): Promise<RefundReceipt> {
  const refundId = refundIdFor(context.commandId);
  const { userId, role } = input.requester;
  const { state, tenantId } = await paymentHandler.load(store, input.paymentId);
  if (!state.request) throw new TesseraError('PAYMENT_NOT_FOUND', `payment ${input.paymentId} not found`, { paymentId: input.paymentId });
  authorize(asUser(input.requester), 'refund', { kind: 'payment', tenantId: tenantId ?? '', buyerId: state.request.userId });
  const admin = role === 'admin';
  const policy = admin ? undefined : await refundPolicyFor(store, state.request, context.now);
  if (!admin) await refuseResoldTickets(store, state);
  // The refund is the payment's: it acts in the payment's tenant whoever asks (an admin's token
  // names the admin's), so the ledger owes it to the buyer's own account.
  const result = await paymentHandler.handle(
    store,
    input.paymentId,
    {
      type: 'RequestRefund',
      data: {
        refundId,
        reason: input.reason,
        requestedBy: admin ? { kind: 'admin', userId } : { kind: 'user', userId },
        ...(input.amount === undefined ? {} : { amount: input.amount }),
        ...(policy ? { policy: { refundBps: policy.refundBps, source: policy.source } } : {}),
      },
    },
    { ...context, tenantId: tenantId ?? context.tenantId },
  );
  const refund = result.state.refunds[refundId]!;
  return {
    refund: { id: refundId, amount: refund.amount, status: refund.status },
    allocation: refund.allocation,
    paymentStatus: result.state.status as PaymentStatus,
    position: result.position,
    replayed: result.replayed,
  };
}

/**
 * A buyer cannot refund a purchase whose ticket they have listed for resale: the ticket's first
 * listing (`listingIdFor(ticket, 0)`, the buyer's own) is read from its stream, not a read
 * model, so a listing made a moment ago counts. Sold -> TICKET_RESOLD; active or reserved by an
 * escrow -> TICKET_IN_RESALE; reopened after a failed escrow it is active again (withdrawing a
 * listing is not offered). The escrow's release re-reads this payment's stream and refunds the
 * resale's buyer instead when a refund got in first (`src/processmanagers/escrow.ts`).
 */
async function refuseResoldTickets(store: EventStore, state: PaymentState): Promise<void> {
  const tickets = ticketsOf(state);
  const listings = await Promise.all(tickets.map(async (ticketId) => ({ ticketId, listing: (await listingHandler.load(store, listingIdFor(ticketId, 0))).state })));
  for (const { ticketId, listing } of listings) {
    if (listing.status === 'none') continue;
    const details = { ticketId, listingId: listing.terms!.listingId };
    if (listing.status === 'sold') {
      throw new TesseraError('TICKET_RESOLD', `ticket ${ticketId} of this payment was resold; its purchase cannot be refunded`, { expose: details });
    }
    throw new TesseraError('TICKET_IN_RESALE', `ticket ${ticketId} of this payment is ${listing.status} for resale; its purchase cannot be refunded`, {
      expose: { ...details, status: listing.status },
    });
  }
}

/** The payment's ticket ids, units in line order (as `src/resale/tickets.ts` names them). */
const ticketsOf = (state: PaymentState): string[] => {
  const count = (state.request?.tickets ?? []).reduce((sum, line) => sum + line.quantity, 0);
  return Array.from({ length: count }, (_, index) => ticketIdFor(state.request!.paymentId, index));
};

/** What the payment routes call (seed 003 #1-#4, #15). Inputs are validated at the edge. */
export interface PaymentCommands {
  processPayment(input: ProcessPaymentInput, context: CommandContext, options?: { waitMs?: number }): Promise<PurchaseOutcome>;
  refundPayment(input: RefundPaymentInput, context: CommandContext): Promise<RefundReceipt>;
  /** The write side's own view of a payment (its stream folded); PAYMENT_NOT_FOUND when absent. */
  getPayment(paymentId: string): Promise<PaymentState>;
  calculateFees(input: { venueId: string; amount: number; ticketCount: number; chain?: Chain }, now?: Date): Promise<FeeQuote>;
  calculateTax(input: { amount: number; venueAddress: TaxAddress; customerAddress?: Partial<TaxAddress> }): SeedTaxResponse;
}

export interface PaymentCommandsDeps extends Omit<ProcessPaymentDeps, 'waitMs'> {
  readonly waitMs: number;
  readonly clock: () => Date;
  /** `payment_active_transactions`: purchases this instance is handling now. */
  readonly active: { inc(): void; dec(): void };
}

export function paymentCommands(deps: PaymentCommandsDeps): PaymentCommands {
  const { store, volume, clock } = deps;
  return {
    async processPayment(input, context, options) {
      deps.active.inc();
      try {
        return await processPayment({ ...deps, waitMs: options?.waitMs ?? deps.waitMs }, input, context);
      } finally {
        deps.active.dec();
      }
    },
    refundPayment: (input, context) => refundPayment(store, input, context),
    async getPayment(paymentId) {
      const { state } = await paymentHandler.load(store, paymentId);
      if (!state.request) throw new TesseraError('PAYMENT_NOT_FOUND', `payment ${paymentId} not found`, { paymentId });
      return state;
    },
    calculateFees: (input, now = clock()) => calculateFees({ store, volume, ...(deps.defaultChain ? { defaultChain: deps.defaultChain } : {}) }, input, now),
    calculateTax: (input) => calculateTaxForVenue(input),
  };
}
