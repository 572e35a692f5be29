/**
 * The load generator of the HTTP benchmarks, run as a child process so it has a core of its own
 * instead of sharing the event loop of the server it measures. Reads its options as JSON from
 * argv, sends them as a POST with a fresh Idempotency-Key on every request, and prints
 * autocannon's figures as one JSON line. With `buyers`, every request is a purchase by a buyer of
 * its own (bench/buyers.ts): its own user and token, card, device, address and session.
 */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { buyerRequest, type Buyers } from './buyers.js';

export interface LoadOptions {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly connections: number;
  readonly seconds: number;
  /** Each request from a distinct buyer, its body `body` with the buyer's fields added. */
  readonly buyers?: Buyers;
}

export interface LoadResult {
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  /** Requests that failed without an answer, time-outs included. */
  readonly errors: number;
  /** Requests left unanswered for autocannon's time-out (10 s). */
  readonly timeouts: number;
  /**
   * Requests still unanswered when the run ended, in neither the latencies nor the time-outs: a
   * run shorter than the time-out shows its slowest requests only here.
   */
  readonly unansweredAtEnd: number;
  /** Responses by status code (e.g. how many purchases answered 202 rather than 200). */
  readonly statusCodes: Readonly<Record<string, number>>;
}

const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
const buyers = options.buyers;
let buyer = buyers?.first ?? 0;
const result = await autocannon({
  url: options.url,
  method: 'POST',
  headers: options.headers,
  body: options.body,
  connections: options.connections,
  duration: options.seconds,
  requests: [
    {
      setupRequest: (request) =>
        buyers
          ? { ...request, ...buyerRequest(buyers, buyer++, options.body, { ...request.headers, 'idempotency-key': randomUUID() }) }
          : { ...request, headers: { ...request.headers, 'idempotency-key': randomUUID() } },
    },
  ],
});
const answer: LoadResult = {
  requests: result.requests.total,
  seconds: result.duration,
  requestsPerSecond: result.requests.total / result.duration,
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  unansweredAtEnd: Math.max(0, result.requests.sent - result.requests.total - result.errors),
  statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stats]) => [code, stats.count ?? 0])),
};
console.log(JSON.stringify(answer));
