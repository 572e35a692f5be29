import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface DirectoryLock {
  release(): void;
}

export class DirectoryLockedError extends Error {
  readonly code = 'DATA_DIR_LOCKED';
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`${dir} is in use by process ${pid}; the embedded database allows one process at a time`);
    this.name = 'DirectoryLockedError';
  }
}

/**
 * Claims a folder for this process with an exclusive lock file holding our pid. A lock left by
 * a process that no longer runs is taken over, so a crash never leaves the data unusable.
 */
const heldHere = new Set<string>();

export function acquireDirectoryLock(dir: string): DirectoryLock {
  const file = join(dir, 'tessera.lock');
  if (heldHere.has(file)) throw new DirectoryLockedError(dir, process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      heldHere.add(file);
      return {
        release() {
          if (!heldHere.delete(file)) return;
          rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(holder) && holder !== process.pid && isRunning(holder)) {
        // A file naming our own pid is left by an earlier process that had the same pid.
        throw new DirectoryLockedError(dir, holder);
      }
      rmSync(file, { force: true });
    }
  }
  throw new DirectoryLockedError(dir, -1);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
