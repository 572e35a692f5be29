import { sql } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { ReadSide } from '../../../src/projections/engine/read-side.js';
import type { VerifyReport } from '../../../src/projections/engine/verify.js';
import { CHAIN_CHECK, walkChain, type ChainBreak } from '../../../src/projections/ledger/chain-check.js';
import { GENESIS_HASH } from '../../../src/projections/ledger/hash-chain.js';
import { ledger } from '../../../src/projections/ledger/projection.js';
import { lastPositionOf } from '../../support/payment-records.js';
import { appendPurchaseHistory } from '../../support/purchase-history.js';
import { onEveryDialect, type ReadModelDatabase } from '../../support/read-model-databases.js';

interface ChainRow {
  seq: string;
  entry_id: string;
  source_event_id: string;
  prev_hash: string;
  hash: string;
}

onEveryDialect('the journal hash chain', (open) => {
  let db: ReadModelDatabase;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(() => db.close());

  /** Purchases with partial, full and refused refunds, booked by Tessera's ledger in small batches. */
  async function projectPurchases(payments: number, readSide = db.readSide({ projections: [ledger], batchSize: 7 })): Promise<ReadSide> {
    const ids = await appendPurchaseHistory(db.store, payments);
    await readSide.start();
    // The payments' own last events: the store's head lags while another test's transaction runs.
    expect(await readSide.waitFor('ledger', await lastPositionOf(db.store, ids), 20_000)).toBe(true);
    return readSide;
  }

  const chain = async (readSide: ReadSide) =>
    (
      await sql<ChainRow>`
        SELECT chain_seq::text AS seq, entry_id::text AS entry_id, source_event_id::text AS source_event_id, prev_hash, hash
          FROM ledger_entries ORDER BY commit_pos, prepare_pos, entry_index`.execute(readSide.db)
    ).rows;

  const chainCheckOf = (report: VerifyReport) => report.projections[0]!.checks.find((c) => c.name === CHAIN_CHECK)!;

  it('chains every entry to the one before it, in the order of the events, and verify passes', async () => {
    const readSide = await projectPurchases(6);
    const rows = await chain(readSide);
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => String(i + 1)));
    expect(rows.map((r) => r.prev_hash)).toEqual([GENESIS_HASH, ...rows.slice(0, -1).map((r) => r.hash)]);
    expect(new Set(rows.map((r) => r.hash)).size).toBe(rows.length);

    const report = await readSide.verify();
    expect(report.ok).toBe(true);
    const last = rows[rows.length - 1]!;
    expect(chainCheckOf(report)).toEqual({
      name: CHAIN_CHECK,
      ok: true,
      details: { entries: rows.length, head: { seq: rows.length, entryId: last.entry_id, hash: last.hash } },
    });
  });

  it('names the entry whose posting amount was edited by hand, and a rebuild restores every hash as it was', async () => {
    const readSide = await projectPurchases(6);
    const before = await chain(readSide);
    const edited = before[4]!;
    await sql`UPDATE ledger_postings SET amount = amount + 1 WHERE entry_id = ${edited.entry_id}::uuid AND posting_index = 0`.execute(readSide.db);

    const report = await readSide.verify();
    expect(report.ok).toBe(false);
    const check = chainCheckOf(report);
    expect(check.ok).toBe(false);
    expect(check.details).toEqual([
      {
        seq: 5,
        entryId: edited.entry_id,
        sourceEventId: edited.source_event_id,
        streamId: expect.stringMatching(/^payment-/) as string,
        problem: 'its content (its columns or its postings) does not match its hash',
      } satisfies ChainBreak,
    ]);
    const postings = report.projections[0]!.tables.find((t) => t.table === 'ledger_postings')!;
    expect(postings.differing.map((d) => [d.key, d.columns])).toEqual([[{ entry_id: edited.entry_id, posting_index: 0 }, ['amount']]]);

    await readSide.rebuild('ledger');
    expect(await chain(readSide)).toEqual(before);
    expect((await readSide.verify()).ok).toBe(true);
  });

  it('names the entry after one that was deleted from the middle of the journal', async () => {
    const readSide = await projectPurchases(6);
    const rows = await chain(readSide);
    const [deleted, after] = [rows[3]!, rows[4]!];
    await sql`DELETE FROM ledger_postings WHERE entry_id = ${deleted.entry_id}::uuid`.execute(readSide.db);
    await sql`DELETE FROM ledger_entries WHERE entry_id = ${deleted.entry_id}::uuid`.execute(readSide.db);

    const check = chainCheckOf(await readSide.verify());
    expect(check.ok).toBe(false);
    expect(check.details).toEqual([
      expect.objectContaining({
        seq: 5,
        entryId: after.entry_id,
        sourceEventId: after.source_event_id,
        problem: `chain_seq 4 missing before it; its prev_hash is not the hash of the entry before it (chain_seq 3, ${rows[2]!.entry_id})`,
      }) as unknown,
    ]);
  });

  it('lists every break in chain order: an entry edited with a new hash, the entry after it, an entry moved to the end', async () => {
    const readSide = await projectPurchases(4);
    const rows = await chain(readSide);
    const walk = (limit?: number) => walkChain(readSide.db, { pageSize: 3, ...(limit ? { limit } : {}) });
    // A new hash on an edited entry does not match its content, nor the next entry's prev_hash.
    await sql`UPDATE ledger_entries SET description = 'nothing happened', hash = ${'a'.repeat(64)} WHERE entry_id = ${rows[1]!.entry_id}::uuid`.execute(readSide.db);
    await sql`UPDATE ledger_entries SET chain_seq = chain_seq + 1000 WHERE entry_id = ${rows[5]!.entry_id}::uuid`.execute(readSide.db);
    const { breaks, breakCount, entries } = await walk();
    expect(entries).toBe(rows.length);
    expect(breaks.map((b) => [b.entryId, b.problem.split(';')[0]])).toEqual([
      [rows[1]!.entry_id, 'its content (its columns or its postings) does not match its hash'],
      [rows[2]!.entry_id, `its prev_hash is not the hash of the entry before it (chain_seq 2, ${rows[1]!.entry_id})`],
      [rows[6]!.entry_id, 'chain_seq 6 missing before it'],
      [rows[5]!.entry_id, 'its content (its columns or its postings) does not match its hash'],
    ]);
    expect(breakCount).toBe(4);
    expect((await walk(1)).breaks).toHaveLength(1);
  });

  it('carries the chain on across batches, another process taking over and the first one taking it back', async () => {
    const first = await projectPurchases(3);
    await first.stop();
    // A process that never wrote this ledger reads where its chain ends, then goes on.
    const second = await projectPurchases(3, db.readSide({ projections: [ledger], batchSize: 5 }, db.peer()));
    await second.stop();
    // The first remembers where it left the chain, which is no longer its end: it reads it again.
    await projectPurchases(2, first);
    const rows = await chain(first);
    expect(rows.map((r) => r.prev_hash)).toEqual([GENESIS_HASH, ...rows.slice(0, -1).map((r) => r.hash)]);
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => String(i + 1)));
    expect((await first.verify()).ok).toBe(true);
  });
});
