import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readlinkSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface DirectoryLock {
  release(): void;
}

const ONE_AT_A_TIME = 'the embedded database allows one process at a time';

export class DirectoryLockedError extends Error {
  readonly code = 'DATA_DIR_LOCKED';
  constructor(
    readonly dir: string,
    /** The holder's process id, when the lock file names one. */
    readonly pid: number | undefined,
    reason = ONE_AT_A_TIME,
  ) {
    super(`${dir} is in use${pid === undefined ? '' : ` by process ${pid}`}: ${reason}`);
    this.name = 'DirectoryLockedError';
  }
}

/**
 * Who holds a lock. On Linux a process is known by its id and its start time (ids are reused,
 * the pair is not) within one boot of one kernel and one process-id namespace. Elsewhere only
 * `pid` and `host` are known, and a live process with the recorded id is taken for the holder.
 */
interface Holder {
  readonly pid: number;
  readonly host: string | undefined;
  /** Field 22 of /proc/<pid>/stat: clock ticks from boot to the process's start. */
  readonly startTime: string | undefined;
  /** /proc/sys/kernel/random/boot_id: changes at every boot. */
  readonly bootId: string | undefined;
  /** /proc/self/ns/pid: process ids of one container mean nothing in another. */
  readonly pidNamespace: string | undefined;
  /** When the lock was taken: for people, and so that no two locks read the same. */
  readonly takenAt: string | undefined;
}

/**
 * Claims a folder for this process with an exclusive lock file naming it. A lock whose holder
 * has certainly gone (exited, its id reused, or the machine restarted) is taken over, so a crash
 * never leaves the data unusable; one whose holder cannot be checked from here is refused.
 */
const heldHere = new Set<string>();

export function acquireDirectoryLock(dir: string): DirectoryLock {
  const file = join(dir, 'tessera.lock');
  if (heldHere.has(file)) throw new DirectoryLockedError(dir, process.pid);
  const here = thisProcess();
  for (let attempt = 0; attempt < 3; attempt++) {
    if (createExclusive(file, format(here))) {
      heldHere.add(file);
      return {
        release() {
          if (!heldHere.delete(file)) return;
          rmSync(file, { force: true });
        },
      };
    }
    const found = readIfPresent(file);
    // Released between our attempt and the read: try again.
    if (found === undefined) continue;
    const holder = parse(found);
    // Empty or partial: perhaps being written this very moment, so it may not be removed.
    if (holder === undefined) throw new DirectoryLockedError(dir, undefined, `${file} is not a lock file this version can read; remove it if no Tessera uses the folder`);
    const held = stillHeld(holder, here);
    if (held !== undefined) throw new DirectoryLockedError(dir, holder.pid, held);
    takeOver(dir, file, found);
  }
  throw new DirectoryLockedError(dir, undefined, 'other processes kept taking it over');
}

/** Why the recorded holder may still use the folder, or undefined when it certainly does not. */
function stillHeld(holder: Holder, here: Holder): string | undefined {
  const elsewhere = holder.host !== undefined && holder.host !== here.host;
  const unseen = `it was taken on ${holder.host}, whose processes cannot be checked from here; remove tessera.lock if Tessera no longer runs there`;
  if (holder.bootId !== undefined && here.bootId !== undefined) {
    // Another boot id on the same host: this machine restarted since, which ended the holder.
    if (holder.bootId !== here.bootId) return elsewhere ? unseen : undefined;
    if (holder.pidNamespace !== here.pidNamespace) {
      return 'it was taken in another container on this machine, whose processes cannot be checked from here; remove tessera.lock if Tessera no longer runs there';
    }
    const startTime = startTimeOf(holder.pid);
    if (startTime === holder.startTime) return ONE_AT_A_TIME;
    // Gone, or its id now names another process; unless /proc hides a running process (hidepid).
    return startTime === undefined && isRunning(holder.pid) ? `process ${holder.pid} runs but /proc does not show when it started` : undefined;
  }
  if (elsewhere) return unseen;
  // Only the pid to go by. A file naming our own pid was left by an earlier process with that pid.
  if (holder.pid === process.pid || !isRunning(holder.pid)) return undefined;
  return here.bootId === undefined
    ? ONE_AT_A_TIME
    : 'the lock, written by an older Tessera, records no start time, so a process that reused its id cannot be told apart; remove tessera.lock if that process is not Tessera';
}

/**
 * Removes the stale lock `stale` so the next attempt can create ours with 'wx'. Two processes may
 * judge the same lock stale at once, and the slower one must not remove the lock the faster one
 * has created meanwhile: each first claims the stale lock exclusively, then removes the file only
 * if it still holds `stale`, which is never written again (it names a process that is gone, and
 * the time it took the lock).
 */
function takeOver(dir: string, file: string, stale: string): void {
  const claim = `${file}.takeover-${createHash('sha256').update(stale).digest('hex').slice(0, 16)}`;
  if (!createExclusive(claim, String(process.pid))) {
    throw new DirectoryLockedError(dir, undefined, `another process is taking over its stale lock; remove ${claim} if none is`);
  }
  try {
    if (readIfPresent(file) === stale) rmSync(file);
  } finally {
    rmSync(claim, { force: true });
  }
}

function thisProcess(): Holder {
  const pidOnly = { pid: process.pid, host: hostname(), takenAt: new Date().toISOString() };
  const startTime = startTimeOf(process.pid);
  try {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const pidNamespace = readlinkSync('/proc/self/ns/pid');
    if (startTime !== undefined) return { ...pidOnly, startTime, bootId, pidNamespace };
  } catch {
    // No /proc (macOS, Windows): the lock records the pid alone, as before, and a live process
    // with that id keeps the folder locked, even one that merely reused the id.
  }
  return { ...pidOnly, startTime: undefined, bootId: undefined, pidNamespace: undefined };
}

function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from its end.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

// The pid comes first, alone on its line: older versions read the whole file as a bare pid.
function format(holder: Holder): string {
  const fields = { host: holder.host, start: holder.startTime, boot: holder.bootId, pidns: holder.pidNamespace, taken: holder.takenAt };
  const lines = Object.entries(fields).flatMap(([name, value]) => (value === undefined ? [] : [`${name}=${value}`]));
  return `${[String(holder.pid), ...lines].join('\n')}\n`;
}

function parse(text: string): Holder | undefined {
  const [first, ...rest] = text.split('\n');
  if (first === undefined || !/^[1-9][0-9]{0,9}$/.test(first.trim())) return undefined;
  const fields = new Map(rest.flatMap((line) => (line.includes('=') ? [[line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const] : [])));
  return {
    pid: Number(first.trim()),
    host: fields.get('host'),
    startTime: fields.get('start'),
    bootId: fields.get('boot'),
    pidNamespace: fields.get('pidns'),
    takenAt: fields.get('taken'),
  };
}

function createExclusive(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
