/**
 * A steady load at a fixed arrival rate, run as a child process like bench/http-load.ts: one
 * POST every 1/rate seconds, each with a fresh Idempotency-Key, sent on time whether or not the
 * earlier ones have been answered (an open loop: a slow answer does not hold the next request
 * back, as it would with autocannon's rate limit, which also sends each second's requests in one
 * burst). Reads its options as JSON from argv and prints its figures as one JSON line.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PacedLoadOptions {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Requests per second. */
  readonly rate: number;
  readonly seconds: number;
}

export interface PacedLoadResult {
  readonly sent: number;
  /** From the first request to the end of the last one's slot; the answers may come later. */
  readonly seconds: number;
  /** The arrival rate the schedule kept. */
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Requests that failed without an answer. */
  readonly errors: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  /** How late the latest request left against its schedule: the load was steady if this is small. */
  readonly maxLateMs: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as PacedLoadOptions;
const total = Math.round(options.rate * options.seconds);
const intervalMs = 1000 / options.rate;
const latencies: number[] = [];
const statusCodes: Record<string, number> = {};
let errors = 0;
let maxLateMs = 0;

async function send(): Promise<void> {
  const started = performance.now();
  try {
    const response = await fetch(options.url, { method: 'POST', headers: { ...options.headers, 'idempotency-key': randomUUID() }, body: options.body });
    await response.arrayBuffer();
    statusCodes[response.status] = (statusCodes[response.status] ?? 0) + 1;
    latencies.push(performance.now() - started);
  } catch {
    errors++;
  }
}

const started = performance.now();
const inFlight: Promise<void>[] = [];
for (let i = 0; i < total; i++) {
  // Each request has its time from the start, so a late timer does not push the rest back.
  const due = started + i * intervalMs;
  const wait = due - performance.now();
  if (wait > 0) await sleep(wait);
  maxLateMs = Math.max(maxLateMs, performance.now() - due);
  inFlight.push(send());
}
// The schedule's span: the last request's slot ends one interval after it left.
const seconds = (performance.now() - started + intervalMs) / 1000;
await Promise.all(inFlight);
latencies.sort((a, b) => a - b);
const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
const round = (value: number) => Number(value.toFixed(2));
const result: PacedLoadResult = {
  sent: total,
  seconds: round(seconds),
  requestsPerSecond: round(total / seconds),
  p50Ms: round(at(0.5)),
  p99Ms: round(at(0.99)),
  errors,
  statusCodes,
  maxLateMs: round(maxLateMs),
};
console.log(JSON.stringify(result));
