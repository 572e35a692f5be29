import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Position } from '../../../src/eventstore/event-store.js';
import { LedgerConflictError } from '../../../src/projections/ledger/errors.js';
import { credit, debit, type JournalEntry } from '../../../src/projections/ledger/journal.js';
import { postEntries } from '../../../src/projections/ledger/post-entries.js';
import { accountBalance, accountEntries, balancesUnder, streamEntries, trialBalance } from '../../../src/projections/ledger/queries.js';
import { appendAll, appendAtOnce, glitch, ledgerEvent, testLedger, type TestLedgerEvent } from '../../support/ledger-events.js';
import { onEveryDialect, type ReadModelDatabase } from '../../support/read-model-databases.js';

const sold = (venueId: string, price: number, occurredAt?: string) =>
  ledgerEvent<Extract<TestLedgerEvent, { type: 'TicketSold' }>>('TicketSold', { venueId, currency: 'USD', price, fee: 79, tax: 70, jurisdiction: 'TN' }, occurredAt);

onEveryDialect('the ledger', (open) => {
  let db: ReadModelDatabase;
  beforeEach(async () => {
    db = await open();
    glitch.unbalanced = true;
  });
  afterEach(() => db.close());

  async function project(events: Parameters<typeof appendAll>[1], appended?: Position) {
    // The last append's own position: the store's head lags while another test's transaction runs.
    const position = events.length > 0 ? await appendAll(db, events) : (appended ?? (await db.store.headPosition())!);
    const readSide = db.readSide({ projections: [testLedger()] });
    await readSide.start();
    expect(await readSide.waitFor('ledger', position, 10_000)).toBe(true);
    return readSide;
  }

  it('books every money-moving event as balanced entries and keeps each balance with them', async () => {
    const { db: q } = await project([
      sold('v1', 1000),
      sold('v1', 2000),
      sold('v2', 500),
      ledgerEvent('VenueFundsReleased', { venueId: 'v1', currency: 'USD', amount: 3000 }),
      ledgerEvent('PayoutSent', { venueId: 'v1', currency: 'USD', amount: 1000 }),
      ledgerEvent('VenueFundsReleased', { venueId: 'v2', currency: 'USD', amount: 5 }),
    ]);
    const v1 = await balancesUnder(q, 'venue:v1:');
    expect(v1.accounts.map((a) => [a.account, a.balance])).toEqual([
      ['venue:v1:available', -1700n],
      ['venue:v1:pending', 0n],
      ['venue:v1:reserved', -300n],
    ]);
    expect(v1.totals).toEqual([{ currency: 'USD', balance: -2000n, debits: 4300n, credits: 6300n, postings: 7 }]);
    expect(await accountBalance(q, 'gateway:clearing')).toEqual({
      account: 'gateway:clearing',
      asOf: null,
      balances: [{ currency: 'USD', balance: 2947n, debits: 3947n, credits: 1000n, postings: 4 }],
    });
    const trial = await trialBalance(q);
    expect(trial.balanced).toBe(true);
    expect(trial.currencies).toEqual([{ currency: 'USD', debits: 2947n, credits: 2947n, net: 0n, accounts: 7 }]);
    // A 10% reserve of 5 cents is zero: that entry books nothing, the release itself does.
    const { rows } = await sql<{ n: string }>`SELECT count(*)::text AS n FROM ledger_entries`.execute(q);
    expect(rows[0]!.n).toBe('7');
  });

  it('answers balances as of a moment from the journal, by when things occurred', async () => {
    const { db: q } = await project([
      sold('v9', 1000, '2026-01-01T10:00:00.000Z'),
      sold('v9', 2000, '2026-03-01T10:00:00.000Z'),
      // Recorded last, but it occurred first: asOf counts it at its occurredAt.
      sold('v9', 4000, '2025-12-01T10:00:00.000Z'),
    ]);
    const at = async (iso: string) => (await accountBalance(q, 'venue:v9:pending', { asOf: new Date(iso) })).balances.map((b) => b.balance);
    expect(await at('2025-11-30T00:00:00.000Z')).toEqual([]);
    expect(await at('2025-12-01T10:00:00.000Z')).toEqual([-4000n]);
    expect(await at('2026-02-01T00:00:00.000Z')).toEqual([-5000n]);
    expect(await at('2030-01-01T00:00:00.000Z')).toEqual([-7000n]);
    const before = await trialBalance(q, { asOf: new Date('2026-02-01T00:00:00.000Z') });
    expect(before).toMatchObject({ balanced: true, currencies: [{ currency: 'USD', debits: 5298n, credits: 5298n }] });
    expect((await balancesUnder(q, 'venue:v9:', { asOf: new Date('2026-02-01T00:00:00.000Z') })).totals[0]!.balance).toBe(-5000n);
  });

  it('pages through the entries of an account both ways, each with all its postings', async () => {
    const times = ['2026-05-01', '2026-05-02', '2026-05-03', '2026-05-04', '2026-05-05'].map((d) => `${d}T08:00:00.000Z`);
    const { db: q } = await project(times.map((t, i) => sold('v3', 100 * (i + 1), t)));
    const seen: string[] = [];
    let after: string | undefined;
    do {
      const page = await accountEntries(q, 'venue:v3:pending', { limit: 2, ...(after ? { after } : {}) });
      seen.push(...page.entries.map((e) => e.occurredAt.toISOString()));
      for (const e of page.entries) {
        expect(e.postings).toHaveLength(4);
        expect(e.amounts).toEqual([{ currency: 'USD', amount: e.postings.find((p) => p.account === 'venue:v3:pending')!.amount }]);
        expect(e.metadata).toMatchObject({ feeBasisPoints: 790, tenantId: 'tenant-test' });
      }
      after = page.nextCursor ?? undefined;
    } while (after);
    expect(seen).toEqual([...times].reverse());
    const oldestFirst = await accountEntries(q, 'venue:v3:pending', { limit: 10, order: 'asc' });
    expect(oldestFirst.entries.map((e) => e.occurredAt.toISOString())).toEqual(times);
    expect(oldestFirst.nextCursor).toBeNull();
    await expect(accountEntries(q, 'venue:v3:pending', { after: 'garbage' })).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
  });

  it('lists the entries a stream booked, in stream order', async () => {
    const stream = `payment-${randomUUID()}`;
    const events = [sold('v4', 100), ledgerEvent('VenueFundsReleased', { venueId: 'v4', currency: 'USD', amount: 100 })];
    const appended = await appendAll(db, events, () => stream);
    const { db: q } = await project([], appended);
    const entries = await streamEntries(q, stream);
    expect(entries.map((e) => [e.entryType, e.streamRevision, e.entryIndex, e.sourceEventId])).toEqual([
      ['TicketSold', 0, 0, events[0]!.id],
      ['VenueFundsReleased', 1, 0, events[1]!.id],
      ['ReserveHeld', 1, 1, events[1]!.id],
    ]);
    expect(entries[2]!.postings).toEqual([
      { account: 'venue:v4:available', currency: 'USD', amount: 10n },
      { account: 'venue:v4:reserved', currency: 'USD', amount: -10n },
    ]);
  });

  it('answers ACCOUNT_NOT_FOUND for an account nothing was ever posted to', async () => {
    const { db: q } = await project([sold('v5', 100)]);
    await expect(accountBalance(q, 'venue:nobody:pending')).rejects.toMatchObject({ code: 'ACCOUNT_NOT_FOUND', status: 404 });
    expect(await balancesUnder(q, 'venue:nobody:')).toMatchObject({ accounts: [], totals: [] });
  });

  it('books an entry once however often it is posted, and refuses the same id with other postings', async () => {
    const readSide = db.readSide({ projections: [testLedger()] });
    const source = randomUUID();
    const entry = (amount: number): JournalEntry => ({
      sourceEventId: source,
      entryIndex: 0,
      streamId: 'manual',
      streamRevision: 0,
      position: { commit: 1n, prepare: 1n },
      entryType: 'Adjusted',
      occurredAt: '2026-11-22T12:00:00.000Z',
      recordedAt: new Date(),
      description: 'adjustment',
      metadata: {},
      postings: [debit('gateway:clearing', 'JPY', amount), credit('platform:fees', 'JPY', amount)],
    });
    const post = (entries: JournalEntry[]) => readSide.db.transaction().execute((trx) => postEntries(trx, entries));
    const first = await post([entry(500), entry(500)]);
    expect(first).toEqual({ booked: 1, alreadyBooked: 0, tip: { seq: 1, hash: expect.stringMatching(/^[0-9a-f]{64}$/) as string } });
    // Booked already: the chain does not move.
    expect(await post([entry(500)])).toEqual({ booked: 0, alreadyBooked: 1, tip: first.tip });
    expect((await accountBalance(readSide.db, 'platform:fees')).balances[0]!.balance).toBe(-500n);
    await expect(post([entry(501)])).rejects.toBeInstanceOf(LedgerConflictError);
    await expect(post([entry(500), entry(501)])).rejects.toBeInstanceOf(LedgerConflictError);
  });

  it('stops on an unbalanced entry, keeps nothing of its batch, says why, fails verify meanwhile, and resumes once the rule is fixed', async () => {
    // All readable at once, so the first sale cannot be booked in a batch of its own before the glitch.
    const position = await appendAtOnce(db, [sold('v6', 100), ledgerEvent('Glitched', { amount: 50 }), sold('v6', 200)]);
    const readSide = db.readSide({ projections: [testLedger()], retryMaxMs: 20 });
    await readSide.start();
    await expect.poll(async () => (await readSide.status())[0]!.consecutiveFailures, { timeout: 5000, interval: 5 }).toBeGreaterThan(1);
    const [stuck] = await readSide.status();
    expect(stuck).toMatchObject({ state: 'retrying', checkpoint: null });
    expect(stuck!.lastError).toMatch(/refused: debits and credits differ: USD by 1/);
    const { rows } = await sql<{ n: string }>`
      SELECT ((SELECT count(*) FROM ledger_entries) + (SELECT count(*) FROM ledger_postings) + (SELECT count(*) FROM ledger_balances))::text AS n`.execute(readSide.db);
    expect(rows[0]!.n).toBe('0');
    // Its tables match their rebuild up to its checkpoint, but verify does not pass a stopped ledger.
    const stopped = await readSide.verify();
    expect(stopped.ok).toBe(false);
    const ahead = stopped.projections[0]!.checks.find((c) => c.name.startsWith('applies every event after its checkpoint'));
    expect(ahead).toMatchObject({ ok: false, details: { from: null, error: expect.stringMatching(/debits and credits differ: USD by 1/) as unknown } });

    glitch.unbalanced = false;
    expect(await readSide.waitFor('ledger', position, 10_000)).toBe(true);
    expect((await trialBalance(readSide.db)).balanced).toBe(true);
    expect((await readSide.verify()).ok).toBe(true);
    expect((await accountBalance(readSide.db, 'venue:v6:pending')).balances[0]!.balance).toBe(-300n);
  });

  it('rebuilds the ledger beside itself, building its deferred indexes under their own names', async () => {
    const readSide = await project([sold('v10', 100), sold('v11', 200), ledgerEvent('PayoutSent', { venueId: 'v10', currency: 'USD', amount: 50 })]);
    const shape = async () =>
      (
        await sql<{ table: string; index: string; persistence: string }>`
          SELECT t.relname AS table, i.relname AS index, t.relpersistence AS persistence
            FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
           WHERE t.relname LIKE 'ledger\_%' AND t.relnamespace = current_schema()::regnamespace ORDER BY 1, 2`.execute(readSide.db)
      ).rows;
    const before = await shape();
    const balancesBefore = await balancesUnder(readSide.db, 'venue:');
    expect((await readSide.rebuild('ledger')).events).toBe(3);
    expect(await shape()).toEqual(before);
    expect(before.every((row) => row.persistence === 'p')).toBe(true);
    expect(before.map((row) => row.index)).toContain('ledger_postings_account_occurred_at_entry_id_idx');
    expect(await balancesUnder(readSide.db, 'venue:')).toEqual(balancesBefore);
    expect((await readSide.verify()).ok).toBe(true);
  });

  it('fails verify when a balance was altered by hand, naming the row and the broken invariant', async () => {
    const readSide = await project([sold('v7', 1000), sold('v8', 300)]);
    const clean = await readSide.verify();
    expect(clean.ok).toBe(true);
    expect(clean.projections[0]!.checks.map((c) => [c.name, c.ok])).toEqual([
      ['version', true],
      ['trial balance is zero in every currency', true],
      ['every entry balances in every currency', true],
      ['every entry has postings and every posting an entry', true],
      ['account balances equal the sum of their postings', true],
      ['every entry matches its hash and follows the one before it', true],
      ['applies every event after its checkpoint, up to the head', true],
    ]);

    await sql`UPDATE ledger_balances SET balance = balance - 1, credits = credits + 1 WHERE account = 'venue:v7:pending'`.execute(readSide.db);
    const report = await readSide.verify();
    expect(report.ok).toBe(false);
    const balances = report.projections[0]!.tables.find((t) => t.table === 'ledger_balances')!;
    expect(balances).toMatchObject({
      ok: false,
      keyColumns: ['account', 'currency'],
      differing: [{ key: { account: 'venue:v7:pending', currency: 'USD' }, columns: ['balance', 'credits'], live: { balance: -1001 }, rebuilt: { balance: -1000 } }],
    });
    const failed = report.projections[0]!.checks.filter((c) => !c.ok).map((c) => c.name);
    expect(failed).toEqual(['trial balance is zero in every currency', 'account balances equal the sum of their postings']);
  });
});
