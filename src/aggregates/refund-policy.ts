import { TesseraError } from '../errors.js';
import { isRefundPolicyEvent, type RefundPolicyEvent, type RefundPolicySet } from '../events/refund-policy.js';
import type { Decider } from './decider.js';

/**
 * A refund policy record (venue or event) of one venue: its stream is keyed by the venue
 * (src/events/refund-policy-events.ts). Setting the same policy again writes nothing.
 */
export interface RefundPolicyState {
  readonly policy?: RefundPolicySet['data'];
}

export type RefundPolicyCommand = { readonly type: 'SetRefundPolicy'; readonly data: RefundPolicySet['data'] };

export function evolveRefundPolicy(_state: RefundPolicyState, event: RefundPolicyEvent): RefundPolicyState {
  switch (event.type) {
    case 'RefundPolicySet':
      return { policy: event.data };
    default: {
      const unhandled: never = event.type;
      throw new Error(`unhandled refund policy event ${String(unhandled)}`);
    }
  }
}

export function decideRefundPolicy(command: RefundPolicyCommand, state: RefundPolicyState): RefundPolicyEvent[] {
  switch (command.type) {
    case 'SetRefundPolicy': {
      const policy = command.data;
      const tiers = policy.tiers ? [...policy.tiers].sort((a, b) => b.hoursBefore - a.hoursBefore) : undefined;
      const hours = new Set(tiers?.map((t) => t.hoursBefore));
      if (tiers && hours.size !== tiers.length) {
        throw new TesseraError('VALIDATION_ERROR', 'two tiers start at the same time', { errors: [{ field: 'tiers', message: 'hoursBefore must differ' }] });
      }
      const next = { ...policy, ...(tiers ? { tiers } : {}) };
      if (JSON.stringify(state.policy) === JSON.stringify(next)) return [];
      return [{ type: 'RefundPolicySet', data: next }];
    }
    default: {
      const unhandled: never = command.type;
      throw new Error(`unhandled refund policy command ${String(unhandled)}`);
    }
  }
}

export const refundPolicyDecider: Decider<RefundPolicyState, RefundPolicyCommand, RefundPolicyEvent> = {
  initialState: () => ({}),
  evolve: evolveRefundPolicy,
  decide: decideRefundPolicy,
  isEvent: isRefundPolicyEvent,
};
