import { executePaymentCommand } from '../commands/payment-execute.js';
import { derivedId } from '../domain/ids.js';
import type { EventStore } from '../eventstore/event-store.js';
import type { DeadlineHandler } from './runtime/deadlines.js';

/**
 * A pending payment's deadline: expire it if it is still pending. Past pending (submitted,
 * captured, failed) the command decides nothing, so a late or repeated firing is harmless.
 */
export function paymentExpiryHandler(store: EventStore, clock: () => Date = () => new Date()): DeadlineHandler {
  return async (deadline) => {
    const payload = deadline.payload as { paymentId: string; tenantId: string; correlationId: string };
    const now = clock();
    await executePaymentCommand(
      store,
      payload.paymentId,
      { type: 'ExpirePayment', data: { now: now.toISOString() } },
      {
        commandId: derivedId(deadline.id, 'expire'),
        now,
        actor: 'system:payment-expiry',
        tenantId: payload.tenantId,
        correlationId: payload.correlationId,
        causationId: derivedId(deadline.id, 'deadline'),
      },
    );
  };
}
