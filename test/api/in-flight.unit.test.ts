import { describe, expect, it } from 'vitest';
import { createInFlightRequests } from '../../src/api/in-flight.js';

describe('requests in flight', () => {
  it('counts each request once however often it enters or leaves', () => {
    const inFlight = createInFlightRequests();
    const a = {};
    const b = {};
    inFlight.enter(a);
    inFlight.enter(a);
    inFlight.enter(b);
    expect(inFlight.count).toBe(2);
    inFlight.leave(a);
    inFlight.leave(a);
    expect(inFlight.count).toBe(1);
    inFlight.leave({});
    expect(inFlight.count).toBe(1);
  });

  it('resolves idle once the last request leaves, and false when the wait runs out first', async () => {
    const inFlight = createInFlightRequests();
    expect(await inFlight.idle(0)).toBe(true);
    const request = {};
    inFlight.enter(request);
    expect(await inFlight.idle(5)).toBe(false);
    const idle = inFlight.idle(10_000);
    inFlight.leave(request);
    expect(await idle).toBe(true);
  });
});
