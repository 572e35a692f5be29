import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { migrate } from '../../src/db/migrate.js';
import { openPglite, type PgliteSqlClient } from '../../src/db/sql-client.js';
import { loadTemplate } from './pglite-template.js';

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const CLI = join(import.meta.dirname, '../../src/cli.ts');

/** Where the test's own environment must not lead the child: it gets only the stores `env` names. */
const STORES = ['DATABASE_URL', 'EVENTSTORE_URL', 'REDIS_URL', 'DATA_DIR', 'PGOPTIONS'];

/**
 * Runs `tessera <args>` in a child process, as an operator would, with `env` on top of the test's.
 * With `interruptWhen`, sends it SIGINT (Ctrl-C) once its stderr so far satisfies the predicate.
 */
export function runCli(args: readonly string[], env: Record<string, string>, interruptWhen?: (stderr: string) => boolean): Promise<CliRun> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !STORES.includes(name)));
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    env: { ...inherited, NODE_ENV: 'test', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  let interrupted = false;
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (interruptWhen && !interrupted && interruptWhen(stderr)) interrupted = child.kill('SIGINT');
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface PgliteDataDir {
  /** The folder to give DATA_DIR (or openPglite). */
  readonly dataDir: string;
  /** Opens it (migrated); only one process may have it open at a time. */
  open(): Promise<PgliteSqlClient>;
  remove(): void;
}

/** An embedded database in a folder of its own, started from the run's migrated template. */
export async function freshPgliteDataDir(): Promise<PgliteDataDir> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tessera-data-'));
  const template = loadTemplate();
  const init = await PGlite.create(join(dataDir, 'pgdata'), template ? { loadDataDir: template } : {});
  await init.close();
  return {
    dataDir,
    async open() {
      const sql = await openPglite({ dataDir });
      await migrate(sql);
      return sql;
    },
    remove: () => rmSync(dataDir, { recursive: true, force: true }),
  };
}
