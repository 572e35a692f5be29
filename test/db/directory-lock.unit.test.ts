import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireDirectoryLock, DirectoryLockedError } from '../../src/db/directory-lock.js';
import { eventually } from '../support/poll.js';

const linux = existsSync('/proc/self/stat') && existsSync('/proc/sys/kernel/random/boot_id') && existsSync('/proc/self/ns/pid');

const lockedFolder = (text: string) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-lock-'));
  writeFileSync(join(dir, 'tessera.lock'), text);
  return dir;
};

const lockFile = (dir: string) => readFileSync(join(dir, 'tessera.lock'), 'utf8');

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) is in parentheses and may hold spaces: count from its end.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

/** The lock a process `pid` of this machine would write, with some fields replaced. */
function lockOf(pid: number, replaced: Partial<Record<'host' | 'start' | 'boot' | 'pidns', string>> = {}): string {
  const fields = {
    host: hostname(),
    start: startTimeOf(pid),
    boot: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
    pidns: readlinkSync('/proc/self/ns/pid'),
    ...replaced,
  };
  return `${pid}\n${Object.entries(fields).map(([key, value]) => `${key}=${value}`).join('\n')}\n`;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill();
});

/** A live process that is not Tessera. */
function sleeper(): number {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  return child.pid!;
}

describe('data directory lock', () => {
  it('lets one holder in at a time and frees the folder on release', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-lock-'));
    const lock = acquireDirectoryLock(dir);
    expect(lockFile(dir).split('\n')[0]).toBe(String(process.pid));
    expect(() => acquireDirectoryLock(dir)).toThrow(DirectoryLockedError);
    lock.release();
    acquireDirectoryLock(dir).release();
  });

  it('takes over a lock in the old bare-pid format whose process no longer runs', () => {
    const dir = lockedFolder('999999999');
    const lock = acquireDirectoryLock(dir);
    expect(lockFile(dir).split('\n')[0]).toBe(String(process.pid));
    lock.release();
  });

  it('refuses a lock in the old bare-pid format whose process still runs, since it cannot tell who that is', () => {
    const dir = lockedFolder(String(process.ppid));
    expect(() => acquireDirectoryLock(dir)).toThrow(new RegExp(`in use by process ${process.ppid}: .*older Tessera`));
  });

  it('refuses a lock file it cannot read, which may be being written right now', () => {
    const dir = lockedFolder('');
    expect(() => acquireDirectoryLock(dir)).toThrow(DirectoryLockedError);
    expect(lockFile(dir)).toBe('');
  });

  describe.runIf(linux)('on Linux, where a process is known by its id and start time', () => {
    it('writes its process id on the first line, so an older Tessera still sees who holds the folder', () => {
      const dir = mkdtempSync(join(tmpdir(), 'tessera-lock-'));
      const lock = acquireDirectoryLock(dir);
      expect(lockFile(dir)).toMatch(new RegExp(`^${escape(lockOf(process.pid))}taken=\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\n$`));
      lock.release();
    });

    it('takes over a lock whose process id now belongs to another process', () => {
      const pid = sleeper();
      const dir = lockedFolder(lockOf(pid, { start: String(Number(startTimeOf(pid)) - 1) }));
      const lock = acquireDirectoryLock(dir);
      expect(lockFile(dir).startsWith(lockOf(process.pid))).toBe(true);
      lock.release();
    });

    it('refuses a lock whose process still runs', () => {
      const pid = sleeper();
      const dir = lockedFolder(lockOf(pid));
      expect(() => acquireDirectoryLock(dir)).toThrow(new RegExp(`in use by process ${pid}: the embedded database allows one process at a time`));
    });

    it('refuses a lock recorded by this very process', () => {
      const dir = lockedFolder(lockOf(process.pid));
      expect(() => acquireDirectoryLock(dir)).toThrow(DirectoryLockedError);
    });

    it('takes over a lock written before this machine restarted', () => {
      const pid = sleeper();
      const dir = lockedFolder(lockOf(pid, { boot: '00000000-0000-4000-8000-000000000000' }));
      acquireDirectoryLock(dir).release();
    });

    it('refuses a lock written on another machine, whose processes it cannot see', () => {
      const dir = lockedFolder(lockOf(process.pid, { host: 'elsewhere', boot: '00000000-0000-4000-8000-000000000000' }));
      expect(() => acquireDirectoryLock(dir)).toThrow(/taken on elsewhere/);
    });

    it('refuses a lock written in another container on this machine, whose processes it cannot see', () => {
      const dir = lockedFolder(lockOf(process.pid, { pidns: 'pid:[1]', start: '1' }));
      expect(() => acquireDirectoryLock(dir)).toThrow(/another container/);
    });
  });

  it('lets only one of several processes taking over the same stale lock at once win', async () => {
    const dir = lockedFolder('999999999');
    const module = fileURLToPath(new URL('../../src/db/directory-lock.ts', import.meta.url));
    // Each contender waits for the same moment, tries once, and holds what it got until killed.
    const script = `
      import { acquireDirectoryLock } from ${JSON.stringify(module)};
      const startAt = Number(process.argv[1]);
      while (Date.now() < startAt);
      try { acquireDirectoryLock(${JSON.stringify(dir)}); process.stdout.write('won\\n'); }
      catch (error) { process.stdout.write(error.code + '\\n'); }
      setInterval(() => undefined, 1000);`;
    const startAt = Date.now() + 3_000;
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i++) {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, String(startAt)], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      child.stdout.on('data', (chunk: Buffer) => outcomes.push(chunk.toString().trim()));
    }
    await eventually(() => (outcomes.length === 4 ? true : undefined), { timeoutMs: 20_000 });
    expect(outcomes.sort()).toEqual(['DATA_DIR_LOCKED', 'DATA_DIR_LOCKED', 'DATA_DIR_LOCKED', 'won']);
  });
});
