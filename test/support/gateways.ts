import { TransientGatewayError, type PaymentGateway } from '../../src/gateways/gateway.js';

/**
 * Wraps a real gateway so a test can make its next calls fail as an outage would (before the
 * call reaches the gateway), to drive retries and parking.
 */
export interface FlakyGateway extends PaymentGateway {
  failNext(calls: number): void;
}

export function flaky(inner: PaymentGateway): FlakyGateway {
  let failures = 0;
  const guard = <A, R>(call: (request: A) => Promise<R>) => (request: A): Promise<R> => {
    if (failures > 0) {
      failures--;
      return Promise.reject(new TransientGatewayError('simulated gateway outage'));
    }
    return call(request);
  };
  return {
    name: inner.name,
    authorize: guard((r) => inner.authorize(r)),
    capture: guard((r) => inner.capture(r)),
    charge: guard((r) => inner.charge(r)),
    void: guard((r) => inner.void(r)),
    refund: guard((r) => inner.refund(r)),
    failNext(calls) {
      failures = calls;
    },
  };
}
