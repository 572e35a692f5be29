import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS_DIR, migrate } from '../../src/db/migrate.js';
import { openPglite } from '../../src/db/sql-client.js';

/**
 * A migrated PGlite cluster, dumped once per set of migrations, so each test file loads it in
 * about a second instead of running initdb (several seconds on two cores).
 */
const CACHE_DIR = join(import.meta.dirname, '../../node_modules/.cache/tessera');

export function templatePath(): string {
  const hash = createHash('sha256');
  for (const name of readdirSync(MIGRATIONS_DIR).sort()) {
    hash.update(name).update(readFileSync(join(MIGRATIONS_DIR, name)));
  }
  return join(CACHE_DIR, `pglite-template-${hash.digest('hex').slice(0, 16)}.tar`);
}

export async function ensureTemplate(): Promise<string> {
  const path = templatePath();
  if (existsSync(path)) return path;
  const sql = await openPglite({ dataDir: 'memory://' });
  await migrate(sql);
  const dump = await sql.db.dumpDataDir('none');
  await sql.close();
  mkdirSync(CACHE_DIR, { recursive: true });
  const partial = `${path}.${process.pid}`;
  writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
  renameSync(partial, path);
  return path;
}

export function loadTemplate(): Blob | undefined {
  const path = templatePath();
  return existsSync(path) ? new Blob([readFileSync(path)]) : undefined;
}
