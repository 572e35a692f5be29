import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const CLI = join(import.meta.dirname, '../../src/cli.ts');

/** Where the test's own environment must not lead the child: it gets only the stores `env` names. */
const STORES = ['DATABASE_URL', 'EVENTSTORE_URL', 'REDIS_URL', 'DATA_DIR', 'PGOPTIONS', 'NATS_URL', 'RABBITMQ_URL', 'KAFKA_BROKERS', 'SMTP_URL'];

/** What the subscription log lines say (src/eventstore/subscription.ts), as this instance's state. */
const BECAME_ACTIVE = 'subscription active';
const ENDED = new Set([
  'subscription lock lost; standing by',
  'subscription handed over; standing by',
  'subscription retired; it will not run again in this process',
  'subscription stopped',
]);

export interface ServerProcess {
  readonly name: string;
  /** Where it listens, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  /**
   * The subscriptions (process managers, projectors, projections) this instance runs now, as its
   * log reports them, each with the log time (epoch ms) at which it took it.
   */
  activeSubscriptions(): ReadonlyMap<string, number>;
  /** The last lines it wrote, for a failure message. */
  tail(): string;
  /** Sends a signal (SIGKILL: the process dies without a word). */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, as an operator stops it; SIGKILL if it has not stopped after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

interface LogLine {
  readonly msg?: unknown;
  readonly time?: unknown;
  readonly subscription?: unknown;
}

/**
 * `tessera serve` in a child process, as production runs it (src/cli.ts, config from the
 * environment), with `env` on top of the test's environment. PORT=0 is fine: the URL is read
 * from fastify's "Server listening at" line. Logs (pino JSON on stdout) are followed for the
 * subscriptions' state, so set LOG_LEVEL to info or lower.
 */
export function startServerProcess(name: string, env: Record<string, string>, options: { readyTimeoutMs?: number } = {}): Promise<ServerProcess> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !STORES.includes(key)));
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve'], {
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const active = new Map<string, number>();
  const recent: string[] = [];
  const remember = (line: string) => {
    recent.push(line);
    if (recent.length > 40) recent.shift();
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  createInterface({ input: child.stderr }).on('line', remember);

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not listen within ${options.readyTimeoutMs ?? 30_000} ms:\n${recent.join('\n')}`));
    }, options.readyTimeoutMs ?? 30_000);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it listened (code ${child.exitCode}):\n${recent.join('\n')}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      // Request logs are most of the output; only the lines this helper reads are parsed.
      if (!line.includes('subscription') && !line.includes('Server listening')) return;
      remember(line);
      const entry = parse(line);
      if (typeof entry?.msg !== 'string') return;
      const listening = /^Server listening at (http:\/\/\S+)$/.exec(entry.msg);
      if (listening) {
        clearTimeout(timer);
        resolve(running(listening[1]!));
        return;
      }
      if (typeof entry.subscription !== 'string') return;
      if (entry.msg === BECAME_ACTIVE) active.set(entry.subscription, typeof entry.time === 'number' ? entry.time : Date.now());
      else if (ENDED.has(entry.msg)) active.delete(entry.subscription);
    });
  });

  function running(url: string): ServerProcess {
    return {
      name,
      url,
      activeSubscriptions: () => new Map(active),
      tail: () => recent.join('\n'),
      kill: (signal) => void child.kill(signal),
      async stop(graceMs = 15_000) {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      },
    };
  }
}

function parse(line: string): LogLine | undefined {
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return undefined;
  }
}
