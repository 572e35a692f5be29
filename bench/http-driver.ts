/**
 * What the HTTP benchmarks share: running the load generator (bench/http-load.ts) in a child
 * process, merging the figures of several rounds, and the address a listening app got.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { round } from './harness.js';
import type { LoadOptions, LoadResult } from './http-load.js';

export function load(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const script = fileURLToPath(new URL('./http-load.ts', import.meta.url));
    execFile(process.execPath, ['--import', 'tsx', script, JSON.stringify(options)], (error, stdout) => {
      if (error) reject(new Error(`the load generator failed: ${error.message}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()!) as LoadResult);
    });
  });
}

export function merge(results: readonly LoadResult[]): LoadResult & { rounds: number } {
  const requests = results.reduce((sum, r) => sum + r.requests, 0);
  const time = results.reduce((sum, r) => sum + r.seconds, 0);
  const mean = (pick: (r: LoadResult) => number) => results.reduce((sum, r) => sum + pick(r), 0) / results.length;
  const statusCodes: Record<string, number> = {};
  for (const result of results) {
    for (const [code, count] of Object.entries(result.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + count;
  }
  return {
    requests,
    seconds: round(time, 2),
    requestsPerSecond: round(requests / time, 0),
    p50Ms: round(mean((r) => r.p50Ms), 2),
    p99Ms: round(mean((r) => r.p99Ms), 2),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    timeouts: results.reduce((sum, r) => sum + r.timeouts, 0),
    unansweredAtEnd: results.reduce((sum, r) => sum + r.unansweredAtEnd, 0),
    statusCodes,
    rounds: results.length,
  };
}

export function address(app: FastifyInstance): string {
  const bound = app.server.address();
  if (bound === null || typeof bound === 'string') throw new Error('server is not listening on TCP');
  return `http://127.0.0.1:${bound.port}`;
}
