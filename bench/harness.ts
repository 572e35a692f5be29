import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { SqlClient } from '../src/db/sql-client.js';

/** Drives `operation` from `concurrency` workers for `seconds` and reports throughput and latency. */
export interface RunResult {
  readonly operations: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export async function runFor(
  seconds: number,
  concurrency: number,
  operation: (worker: number, iteration: number) => Promise<void>,
): Promise<RunResult> {
  return summarize([await sample(seconds, concurrency, operation)]);
}

export interface Sample {
  readonly latencies: number[];
  readonly seconds: number;
}

export async function sample(
  seconds: number,
  concurrency: number,
  operation: (worker: number, iteration: number) => Promise<void>,
): Promise<Sample> {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  let iteration = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await operation(worker, iteration++);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

/** Merges samples taken in several rounds into one figure. */
export function summarize(samples: readonly Sample[]): RunResult {
  const latencies = samples.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const elapsed = samples.reduce((sum, s) => sum + s.seconds, 0);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    operations: latencies.length,
    seconds: round(elapsed, 2),
    perSecond: round(latencies.length / elapsed, 0),
    p50Ms: round(at(0.5), 2),
    p99Ms: round(at(0.99), 2),
  };
}

/**
 * Measures several systems fairly on a noisy machine: `rounds` rounds, each giving every system
 * an equal slice in a rotating order, so drift in the machine's load and background work (such
 * as a database checkpoint) falls on all of them alike.
 */
export async function interleave<Name extends string>(
  systems: readonly { readonly name: Name; open(): Promise<{ purchase(): Promise<void>; close(): Promise<void> }> }[],
  options: { readonly seconds: number; readonly rounds: number; readonly warmupSeconds: number; readonly concurrency: number },
): Promise<Map<Name, RunResult>> {
  const samples = new Map<Name, Sample[]>(systems.map((s) => [s.name, []]));
  for (let round = 0; round < options.rounds; round++) {
    for (let i = 0; i < systems.length; i++) {
      const system = systems[(i + round) % systems.length]!;
      const opened = await system.open();
      try {
        await sample(options.warmupSeconds, options.concurrency, () => opened.purchase());
        samples.get(system.name)!.push(await sample(options.seconds / options.rounds, options.concurrency, () => opened.purchase()));
      } finally {
        await opened.close();
      }
    }
  }
  return new Map([...samples].map(([name, taken]) => [name, summarize(taken)]));
}

export const round = (value: number, digits: number) => Number(value.toFixed(digits));

/** Drops and creates `name` on the server of `url`, answering its connection string. */
export async function freshDatabase(url: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const target = new URL(url);
  target.pathname = `/${name}`;
  return target.toString();
}

export async function dropDatabase(url: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}

/** A purchase's events, the same bytes for every system measured. */
export function purchaseEvents(paymentId: string) {
  const requested = {
    type: 'PaymentRequested',
    data: {
      paymentId,
      userId: '8d0d6f64-3f4e-4d2a-9a51-0d1c1f0b6a11',
      venueId: '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed',
      eventId: '6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b',
      currency: 'USD',
      tickets: [{ ticketTypeId: 'c2f1f2a4-0c5e-4d37-9a0d-2f4f0d1c9b11', quantity: 2, unitPrice: 5000 }],
      fees: { ticketPrice: 10000, platformFee: 790, gasEstimate: 50, stateTax: 700, localTax: 225, total: 11765 },
      feeSchedule: { tier: 'pro', platformFeeBps: 790 },
    },
  };
  const authorized = { type: 'PaymentAuthorized', data: { paymentId, gatewayReference: `pi_${paymentId.slice(0, 18)}`, amount: 11765 } };
  const captured = { type: 'PaymentCaptured', data: { paymentId, amount: 11765 } };
  return { requested, authorized, captured };
}

export const benchMetadata = (paymentId: string) => ({
  correlationId: paymentId,
  causationId: paymentId,
  tenantId: 'bench',
  actor: 'system:bench',
  occurredAt: new Date().toISOString(),
  schemaVersion: 1,
});

/**
 * CPU seconds used so far by each client backend serving `sql`'s database, by process id, when
 * the server runs on this machine (read from /proc); null otherwise.
 */
export async function serverCpuSeconds(sql: SqlClient): Promise<Map<number, number> | null> {
  const { rows } = await sql.query<{ pid: number }>(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'",
  );
  try {
    // Fields 14 and 15 of /proc/<pid>/stat: user and system time in clock ticks (100 per second).
    const fields = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return new Map(rows.map(({ pid }) => [pid, (Number(fields(pid)[11]) + Number(fields(pid)[12])) / 100]));
  } catch {
    return null;
  }
}

/**
 * The server CPU seconds spent between two readings: backends present in both count their
 * difference, new ones all they used (a backend that exited meanwhile is not counted).
 */
export function serverCpuBetween(before: Map<number, number> | null, after: Map<number, number> | null): number | null {
  if (!before || !after) return null;
  let seconds = 0;
  for (const [pid, used] of after) seconds += used - (before.get(pid) ?? 0);
  return round(seconds, 2);
}
