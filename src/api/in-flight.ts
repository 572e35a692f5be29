/**
 * Requests the app is still working on, for graceful shutdown. A client that gives up (a load
 * balancer's timeout, a closed tab) closes its connection, so the server can close while the
 * handler of its request still runs; the stores must stay open until that handler and the
 * response's bookkeeping (idempotency record) are done.
 */
export interface InFlightRequests {
  /** Marks a request as started (idempotent per request). */
  enter(request: object): void;
  /** Marks it as done, after its last onSend hook (idempotent per request). */
  leave(request: object): void;
  readonly count: number;
  /** Resolves true once nothing is in flight, or false when `timeoutMs` passes first. */
  idle(timeoutMs: number): Promise<boolean>;
}

declare module 'fastify' {
  interface FastifyInstance {
    inFlight: InFlightRequests;
  }
}

export function createInFlightRequests(): InFlightRequests {
  const running = new WeakSet<object>();
  let count = 0;
  let waiters: (() => void)[] = [];
  return {
    enter(request) {
      if (running.has(request)) return;
      running.add(request);
      count++;
    },
    leave(request) {
      if (!running.delete(request)) return;
      count--;
      if (count === 0) for (const wake of waiters.splice(0)) wake();
    },
    get count() {
      return count;
    },
    idle(timeoutMs) {
      if (count === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== wake);
          resolve(false);
        }, timeoutMs);
        waiters.push(wake);
      });
    },
  };
}
