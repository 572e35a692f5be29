import { isSettled, type PaymentState, type PaymentStatus } from '../aggregates/payment.js';
import { paymentDecider } from '../aggregates/payment.js';
import type { Chain } from '../domain/fees.js';
import { derivedId } from '../domain/ids.js';
import type { RequestedTicketLine } from '../aggregates/catalogue.js';
import { seedFees, type PurchaseQuote, type SeedFees } from '../domain/purchase-quote.js';
import { TesseraError } from '../errors.js';
import { positionToString, type EventStore, type Position } from '../eventstore/event-store.js';
import { paymentStreamId, type NextAction, type PaymentMethodRef } from '../events/payment.js';
import type { VenueVolume } from '../projections/venue-volume.js';
import { pricePurchase } from './catalogue.js';
import type { CommandContext } from './handle-command.js';
import { executePaymentCommand, loadPayment } from './payment-execute.js';

export interface ProcessPaymentInput {
  readonly userId: string;
  readonly venueId: string;
  readonly eventId: string;
  /** Priced from the event's catalogue at the venue; a line's `expectedPrice` only guards against a changed price. */
  readonly tickets: readonly RequestedTicketLine[];
  readonly paymentMethod: PaymentMethodRef;
  readonly chain?: Chain;
}

export interface ProcessPaymentDeps {
  readonly store: EventStore;
  readonly volume: VenueVolume;
  readonly captureMode: 'automatic' | 'manual';
  readonly pendingTtlMs: number;
  readonly waitMs: number;
  readonly defaultChain?: Chain;
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
  const { tickets, quote } = await pricePurchase(deps, { ...input, chain }, context.now, async () => (await loadPayment(deps.store, paymentId)).state.request?.tickets);
  const requested = await executePaymentCommand(
    deps.store,
    paymentId,
    {
      type: 'RequestPayment',
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
  );
  // The answer's position covers every event its state folded, so a query given it sees that state.
  const settled = await followUntilSettled(deps.store, paymentId, deps.waitMs, requested.state, requested.revision);
  return outcomeOf(paymentId, settled.state, settled.position ?? requested.position, requested.replayed);
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
    position,
    replayed,
  };
}

/**
 * Follows the payment's stream until the gateway has answered (isSettled) or `timeoutMs`
 * passes, reading only what was appended since. Appends to this stream in this process wake it
 * at once (and only those: other payments' appends do not make it read); appends by other
 * instances are seen within the short poll interval.
 */
export async function waitForSettledPayment(
  store: EventStore,
  paymentId: string,
  timeoutMs: number,
  from: PaymentState = paymentDecider.initialState(),
  fromRevision: number | null = null,
): Promise<PaymentState> {
  return (await followUntilSettled(store, paymentId, timeoutMs, from, fromRevision)).state;
}

/** waitForSettledPayment, also answering the position of the last event it read (null if none). */
async function followUntilSettled(
  store: EventStore,
  paymentId: string,
  timeoutMs: number,
  from: PaymentState,
  fromRevision: number | null,
): Promise<{ state: PaymentState; position: Position | null }> {
  const deadline = Date.now() + timeoutMs;
  const stream = paymentStreamId(paymentId);
  let state = from;
  let revision = fromRevision;
  let position: Position | null = null;
  for (;;) {
    const events = await store.readStream(stream, { fromRevision: revision === null ? 0 : revision + 1 });
    for (const event of events) {
      if (paymentDecider.isEvent(event)) state = paymentDecider.evolve(state, event);
      revision = event.revision;
      position = event.position;
    }
    const left = deadline - Date.now();
    if (isSettled(state) || left <= 0) return { state, position };
    await store.waitForStream(stream, Math.min(left, 100));
  }
}

/** The error a route answers a declined purchase with (402, the decline's reason and codes). */
export function paymentFailedError(outcome: PurchaseOutcome): TesseraError {
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
