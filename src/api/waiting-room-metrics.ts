import { Counter, Gauge } from 'prom-client';
import type { WaitingRoomMetrics } from '../commands/waiting-room.js';

/** The waiting rooms' metrics (issue 21), unregistered until the route module registers them. */
export interface WaitingRoomMetricSet extends WaitingRoomMetrics {
  readonly all: readonly (Counter | Gauge)[];
}

export function createWaitingRoomMetrics(): WaitingRoomMetricSet {
  const queue = new Gauge({ name: 'waiting_room_queue_length', help: 'Buyers waiting, over every room with buyers in it (as the last admission tick saw them)', registers: [] });
  const active = new Gauge({ name: 'waiting_room_active_buyers', help: 'Admitted buyers holding a live, unused access token, over every room', registers: [] });
  const admitted = new Counter({ name: 'waiting_room_admitted_total', help: 'Buyers admitted (access tokens issued) by this instance', registers: [] });
  const checks = new Counter({
    name: 'waiting_room_token_checks_total',
    help: 'Access token checks of purchases, by result (valid, missing, malformed, signature, mismatch, expired, unknown, revoked, used)',
    labelNames: ['result'],
    registers: [],
  });
  return {
    all: [queue, active, admitted, checks],
    tokenChecked: (result) => checks.inc({ result }),
    admitted: (count) => admitted.inc(count),
    observed(totals) {
      queue.set(totals.queueLength);
      active.set(totals.active);
    },
  };
}
