import { sql, type Kysely, type Transaction } from 'kysely';
import type { Position } from '../../eventstore/event-store.js';
import { subscriptionName } from './projection.js';

/** The version of each projection that built its live tables (migrations/0004_projections.sql). */
export async function storedVersions(db: Kysely<object>): Promise<Map<string, number>> {
  const { rows } = await sql<{ name: string; version: number }>`SELECT name, version FROM tessera_projections`.execute(db);
  return new Map(rows.map((row) => [row.name, row.version]));
}

/** Registers a projection the first time it runs; its tables start empty at version `version`. */
export async function registerVersion(db: Kysely<object>, name: string, version: number): Promise<void> {
  await sql`INSERT INTO tessera_projections (name, version) VALUES (${name}, ${version}) ON CONFLICT (name) DO NOTHING`.execute(db);
}

/** Records, in the swap's transaction, that `version` rebuilt the projection's tables. */
export async function recordRebuild(trx: Transaction<object>, name: string, version: number): Promise<void> {
  await sql`INSERT INTO tessera_projections (name, version, rebuilt_at) VALUES (${name}, ${version}, now())
    ON CONFLICT (name) DO UPDATE SET version = excluded.version, rebuilt_at = excluded.rebuilt_at`.execute(trx);
}

/** Sets a projection's live checkpoint outright (the swap does, for the tables it swaps in). */
export async function resetCheckpoint(trx: Transaction<object>, table: string, name: string, position: Position | null): Promise<void> {
  const checkpoints = sql.raw(table);
  if (position === null) {
    await sql`DELETE FROM ${checkpoints} WHERE subscription = ${subscriptionName(name)}`.execute(trx);
    return;
  }
  await sql`INSERT INTO ${checkpoints} (subscription, commit_pos, prepare_pos)
    VALUES (${subscriptionName(name)}, ${position.commit.toString()}, ${position.prepare.toString()})
    ON CONFLICT (subscription) DO UPDATE SET commit_pos = excluded.commit_pos, prepare_pos = excluded.prepare_pos, updated_at = now()`.execute(trx);
}

/** The live checkpoints of some projections, read in `db` (which may be a snapshot). */
export async function liveCheckpoints(db: Kysely<object>, table: string, names: readonly string[]): Promise<Map<string, Position | null>> {
  const { rows } = await sql<{ subscription: string; commit_pos: string; prepare_pos: string }>`
    SELECT subscription, commit_pos::text AS commit_pos, prepare_pos::text AS prepare_pos FROM ${sql.raw(table)}
     WHERE subscription = ANY (${names.map(subscriptionName)}::text[])`.execute(db);
  const found = new Map(rows.map((row) => [row.subscription, { commit: BigInt(row.commit_pos), prepare: BigInt(row.prepare_pos) }]));
  return new Map(names.map((name) => [name, found.get(subscriptionName(name)) ?? null]));
}
