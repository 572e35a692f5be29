import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireDirectoryLock, DirectoryLockedError } from '../../src/db/directory-lock.js';

describe('data directory lock', () => {
  it('lets one holder in at a time and frees the folder on release', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-lock-'));
    const lock = acquireDirectoryLock(dir);
    expect(readFileSync(join(dir, 'tessera.lock'), 'utf8')).toBe(String(process.pid));
    expect(() => acquireDirectoryLock(dir)).toThrow(DirectoryLockedError);
    lock.release();
    acquireDirectoryLock(dir).release();
  });

  it('takes over a lock left by a process that no longer runs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-lock-'));
    writeFileSync(join(dir, 'tessera.lock'), '999999999');
    const lock = acquireDirectoryLock(dir);
    expect(readFileSync(join(dir, 'tessera.lock'), 'utf8')).toBe(String(process.pid));
    lock.release();
  });

  it('refuses a folder held by another running process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-lock-'));
    writeFileSync(join(dir, 'tessera.lock'), String(process.ppid));
    expect(() => acquireDirectoryLock(dir)).toThrow(/in use by process/);
  });
});
