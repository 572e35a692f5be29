import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { SqlClient } from './sql-client.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

export interface MigrationReport {
  readonly applied: readonly string[];
}

/**
 * Applies the SQL files of `migrations/` that this database has not seen, in name order, in one
 * transaction under an advisory lock, so instances starting together cannot apply one twice and
 * a failure leaves the schema as it was.
 */
export async function migrate(sql: SqlClient, dir: string = MIGRATIONS_DIR): Promise<MigrationReport> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  const scripts = await Promise.all(files.map(async (name) => ({ name, script: await readFile(`${dir}/${name}`, 'utf8') })));
  return sql.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('tessera:migrations'))`);
    await tx.query(`CREATE TABLE IF NOT EXISTS tessera_migrations (
      name text PRIMARY KEY,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Set(
      (await tx.query<{ name: string }>('SELECT name FROM tessera_migrations')).rows.map((row) => row.name),
    );
    const applied: string[] = [];
    for (const { name, script } of scripts) {
      if (done.has(name)) continue;
      await tx.exec(script);
      await tx.query('INSERT INTO tessera_migrations (name) VALUES ($1)', [name]);
      applied.push(name);
    }
    return { applied };
  });
}
