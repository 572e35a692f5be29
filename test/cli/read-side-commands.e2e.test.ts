import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlClient } from '../../src/db/sql-client.js';
import { sqlEventStore, type Storage } from '../../src/runtime.js';
import { testApp, testEnv } from '../support/app.js';
import { freshPgliteDataDir, runCli } from '../support/cli.js';
import { lastPositionOf } from '../support/payment-records.js';
import { env, freshPostgresSchema } from '../support/databases.js';
import { completedPurchase, paymentState, refund, venueAt } from '../support/payments-http.js';
import { eventually } from '../support/payments.js';

/** A database the CLI reaches through its environment, and the test through a client of its own. */
interface Target {
  readonly cliEnv: Record<string, string>;
  open(): Promise<SqlClient>;
  cleanup(): Promise<void>;
}

async function pgliteTarget(): Promise<Target> {
  const dir = await freshPgliteDataDir();
  return { cliEnv: { DATA_DIR: dir.dataDir }, open: () => dir.open(), cleanup: () => Promise.resolve(dir.remove()) };
}

async function postgresTarget(): Promise<Target> {
  const schema = await freshPostgresSchema(env.databaseUrl!);
  return {
    cliEnv: { DATABASE_URL: env.databaseUrl!, PGOPTIONS: `-c search_path=${schema.schema}` },
    open: () => Promise.resolve(schema.connect({ poolSize: 4 })),
    cleanup: () => schema.drop(),
  };
}

const storageOver = (sql: SqlClient): Storage => ({
  sql,
  eventStore: sqlEventStore(sql),
  close: () => sql.close(),
});

interface Traffic {
  readonly venueId: string;
  readonly partlyRefunded: string;
  readonly refunded: string;
}

/** Purchases and refunds through the HTTP app with its background work running, as a server would. */
async function buildHistory(target: Target): Promise<Traffic> {
  const storage = storageOver(await target.open());
  const t = await testApp({ shared: { storage, cleanup: () => storage.close() }, background: true });
  try {
    const venueId = await venueAt(t);
    const [kept, partlyRefunded, refunded] = [
      await completedPurchase(t, venueId),
      await completedPurchase(t, venueId, { quantity: 2 }),
      await completedPurchase(t, venueId),
    ];
    expect((await refund(t, partlyRefunded.id, { amount: 5_000 })).statusCode).toBe(200);
    expect((await refund(t, refunded.id)).statusCode).toBe(200);
    await eventually(async () => ((await paymentState(t, refunded.id)).status === 'refunded' ? true : undefined));
    await eventually(async () => ((await paymentState(t, partlyRefunded.id)).refunded === 5_000 ? true : undefined));
    // The payments' own last events: the store's head lags while another test's transaction runs.
    const last = await lastPositionOf(storage.eventStore, [kept.id, partlyRefunded.id, refunded.id]);
    for (const { name } of t.tessera.readSide.projections) expect(await t.tessera.readSide.waitFor(name, last, 15_000)).toBe(true);
    expect(kept.status).toBe('completed');
    return { venueId, partlyRefunded: partlyRefunded.id, refunded: refunded.id };
  } finally {
    await t.close();
    await storage.close();
  }
}

async function withSql<T>(target: Target, work: (sql: SqlClient) => Promise<T>): Promise<T> {
  const sql = await target.open();
  try {
    return await work(sql);
  } finally {
    await sql.close();
  }
}

function suite(open: () => Promise<Target>): void {
  let target: Target;
  let traffic: Traffic;
  const tessera = (...args: string[]) => runCli(args, testEnv({ ...target.cliEnv, LOG_LEVEL: 'warn' }));

  beforeAll(async () => {
    target = await open();
    traffic = await buildHistory(target);
  }, 60_000);
  afterAll(() => target?.cleanup());

  it('verify passes on a database built by purchases and refunds, trial balance included', async () => {
    const run = await tessera('verify');
    expect(run.stderr).toMatch(/verify ledger(, [a-z-]+)* {2}comparing/);
    expect(run.stdout).toContain('ok   check: trial balance is zero in every currency');
    expect(run.stdout).toContain('verified: every read model equals its rebuild');
    expect(run.code).toBe(0);
  });

  it('verify exits 3 and prints the differing row after a balance was altered by hand', async () => {
    const account = `venue:${traffic.venueId}:pending`;
    await withSql(target, (sql) => sql.query('UPDATE ledger_balances SET balance = balance + 1, debits = debits + 1 WHERE account = $1', [account]));
    const run = await tessera('verify');
    expect(run.code).toBe(3);
    expect(run.stdout).toContain('FAIL ledger');
    expect(run.stdout).toMatch(/FAIL table ledger_balances: \d+ live rows, \d+ rebuilt; 1 differing, 0 missing, 0 extra/);
    expect(run.stdout).toContain(`differing {"account":"${account}","currency":"USD"} in `);
    expect(run.stdout).toMatch(/^ +balance: live -?\d+, rebuilt -?\d+$/m);
    expect(run.stdout).toContain('FAIL check: trial balance is zero in every currency');
    expect(run.stdout).toContain('DIFFERENCES');
  });

  it('replay rebuilds the ledger from the events, undoing the hand edit, with progress on stderr', async () => {
    const run = await tessera('replay', 'ledger');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^rebuilt ledger \(version \d+\) up to \d+\/\d+$/m);
    expect(run.stderr).toMatch(/rebuild ledger {2}replaying/);
    expect(run.stderr).toMatch(/rebuild ledger {2}done .*\d+ \/ \d+ events/);
    expect((await tessera('verify', '--json')).code).toBe(0);
  });

  it('verify names venue-volume and the row after a volume row (the fee tier reads it) was altered by hand; replay venue-volume undoes it', async () => {
    const eventId = await withSql(target, async (sql) => {
      const { rows } = await sql.query<{ id: string }>(
        'SELECT source_event_id::text AS id FROM tessera_venue_volume WHERE venue_id = $1 AND amount > 0 ORDER BY source_event_id LIMIT 1',
        [traffic.venueId],
      );
      await sql.query('UPDATE tessera_venue_volume SET amount = amount + 1 WHERE source_event_id = $1', [rows[0]!.id]);
      return rows[0]!.id;
    });
    const run = await tessera('verify');
    expect(run.code).toBe(3);
    expect(run.stdout).toMatch(/^FAIL venue-volume \(version \d+\) at \d+\/\d+$/m);
    expect(run.stdout).toMatch(/FAIL table tessera_venue_volume: \d+ live rows, \d+ rebuilt; 1 differing, 0 missing, 0 extra/);
    expect(run.stdout).toContain(`differing {"source_event_id":"${eventId}"} in amount`);
    expect(run.stdout).toMatch(/^ +amount: live \d+, rebuilt \d+$/m);
    expect(run.stdout).toMatch(/^OK {3}ledger /m);

    const replay = await tessera('replay', 'venue-volume');
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/^rebuilt venue-volume \(version \d+\) up to \d+\/\d+$/m);
    const again = await tessera('verify');
    expect(again.stdout).toMatch(/^OK {3}venue-volume /m);
    expect(again.code).toBe(0);
    // Three commands, each a process opening the data folder: over 30 s when CI shares the machine.
  }, 60_000);

  it("verify exits 3 with both figures when admin revenue no longer equals the ledger's gateway:clearing debits; replay payments undoes it", async () => {
    await withSql(target, (sql) => sql.query('UPDATE payment_summaries SET captured = captured - 100 WHERE payment_id = $1', [traffic.partlyRefunded]));
    const run = await tessera('verify');
    expect(run.code).toBe(3);
    expect(run.stdout).toMatch(/^FAIL payments \(version \d+\) at \d+\/\d+$/m);
    expect(run.stdout).toContain("FAIL check: admin revenue equals the ledger's gateway:clearing debits in every currency");
    const figures = /^ +\[\{"currency":"USD","adminRevenue":"(\d+)","ledgerClearingDebits":"(\d+)"\}\]$/m.exec(run.stdout);
    expect(figures, run.stdout).not.toBeNull();
    expect(Number(figures![2]) - Number(figures![1])).toBe(100);
    expect(run.stdout).toMatch(/^OK {3}ledger /m);

    expect((await tessera('replay', 'payments')).code).toBe(0);
    const again = await tessera('verify');
    expect(again.stdout).toContain("ok   check: admin revenue equals the ledger's gateway:clearing debits in every currency");
    expect(again.code).toBe(0);
  }, 60_000);

  it('verify exits 3 and names the journal entry whose amount was edited by hand and the entry after a deleted one; replay ledger undoes both', async () => {
    const [edited, deleted, after] = await withSql(target, async (sql) => {
      const { rows } = await sql.query<{ entry_id: string; source_event_id: string }>(
        'SELECT entry_id::text AS entry_id, source_event_id::text AS source_event_id FROM ledger_entries ORDER BY chain_seq LIMIT 3 OFFSET 1',
      );
      await sql.query('UPDATE ledger_postings SET amount = amount + 1 WHERE entry_id = $1 AND posting_index = 0', [rows[0]!.entry_id]);
      await sql.query('DELETE FROM ledger_postings WHERE entry_id = $1', [rows[1]!.entry_id]);
      await sql.query('DELETE FROM ledger_entries WHERE entry_id = $1', [rows[1]!.entry_id]);
      return rows;
    });
    const run = await tessera('verify');
    expect(run.code).toBe(3);
    expect(run.stdout).toContain('FAIL check: every entry matches its hash and follows the one before it');
    const named = (entry: { entry_id: string; source_event_id: string }) => `"entryId":"${entry.entry_id}","sourceEventId":"${entry.source_event_id}"`;
    expect(run.stdout).toContain(`{"seq":2,${named(edited!)},`);
    expect(run.stdout).toContain('"problem":"its content (its columns or its postings) does not match its hash"}');
    expect(run.stdout).toContain(`{"seq":4,${named(after!)},`);
    expect(run.stdout).toContain('"problem":"chain_seq 3 missing before it; its prev_hash is not the hash of the entry before it');
    expect(run.stdout).toMatch(new RegExp(`missing \\(rebuilt, not live\\) .*"entry_id":"${deleted!.entry_id}"`));

    expect((await tessera('replay', 'ledger')).code).toBe(0);
    const again = await tessera('verify');
    expect(again.stdout).toMatch(/^OK {3}ledger /m);
    expect(again.code).toBe(0);
  }, 60_000);

  it('audit prints every event of a payment with the state after it, ending refunded', async () => {
    const run = await tessera('audit', `payment-${traffic.refunded}`, '--format', 'json');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; revision: number; state: { status: string; refunded: number; captured: number } });
    expect(lines.map((l) => l.revision)).toEqual(lines.map((_, i) => i));
    expect(lines[0]).toMatchObject({ type: 'PaymentRequested', state: { status: 'pending' } });
    expect(lines.map((l) => l.type)).toContain('PaymentCaptured');
    const last = lines[lines.length - 1]!;
    expect(last).toMatchObject({ type: 'RefundSucceeded', state: { status: 'refunded' } });
    expect(last.state.refunded).toBe(last.state.captured);
  });

  it('audit exits 4 for a stream with no events and 2 for a missing argument', async () => {
    expect((await tessera('audit', 'payment-00000000-0000-4000-8000-000000000000')).code).toBe(4);
    expect((await tessera('audit')).code).toBe(2);
  });
}

describe('tessera replay, verify and audit on an embedded data folder', () => suite(pgliteTarget));
describe.runIf(env.databaseUrl)('tessera replay, verify and audit on PostgreSQL', () => suite(postgresTarget));
