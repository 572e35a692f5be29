import { paymentDecider, type PaymentCommand, type PaymentState } from '../aggregates/payment.js';
import { derivedId } from '../domain/ids.js';
import { TesseraError } from '../errors.js';
import type { EventStore, RecordedEvent } from '../eventstore/event-store.js';
import { paymentStreamId, type PaymentEvent, type PaymentRequested } from '../events/payment.js';
import { handleCommand, loadAggregate, type CommandContext, type CommandResult } from './handle-command.js';

/** Sends one command to a payment's stream. */
export function executePaymentCommand(
  store: EventStore,
  paymentId: string,
  command: PaymentCommand,
  context: CommandContext,
): Promise<CommandResult<PaymentState, PaymentEvent>> {
  return handleCommand(store, { streamId: paymentStreamId(paymentId), decider: paymentDecider, command, context });
}

export interface LoadedPayment {
  readonly state: PaymentState;
  readonly revision: number | null;
  /** The tenant of the payment: that of the purchase's request. */
  readonly tenantId: string | undefined;
}

export async function loadPayment(store: EventStore, paymentId: string): Promise<LoadedPayment> {
  const { state, revision, tenantId } = await loadAggregate(store, paymentStreamId(paymentId), paymentDecider);
  return { state, revision, tenantId };
}

/** Loads a payment that must exist (PAYMENT_NOT_FOUND otherwise), with its request at hand. */
export async function requirePayment(store: EventStore, paymentId: string): Promise<LoadedPayment & { request: PaymentRequested['data'] }> {
  const loaded = await loadPayment(store, paymentId);
  const request = loaded.state.request;
  if (!request) throw new TesseraError('PAYMENT_NOT_FOUND', `payment ${paymentId} not found`, { paymentId });
  return { ...loaded, request };
}

/**
 * The context of a command a process manager sends because of `cause`: its id derives from the
 * cause's id and the step, so sending it again after a crash is recognised as the same command.
 */
export function contextFromEvent(cause: RecordedEvent, step: string, actor: string, now: Date): CommandContext {
  return {
    commandId: derivedId(cause.id, step),
    now,
    actor,
    tenantId: cause.metadata.tenantId,
    correlationId: cause.metadata.correlationId,
    causationId: cause.id,
  };
}
