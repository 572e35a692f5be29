import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { EventData, Position } from '../../../src/eventstore/event-store.js';
import { accountBalance, balancesUnder, trialBalance } from '../../../src/projections/ledger/queries.js';
import type { ReadSide } from '../../../src/projections/engine/read-side.js';
import { appendAll, appendAtOnce, glitch, ledgerEvent, testLedger, type TestLedgerEvent } from '../../support/ledger-events.js';
import { onEveryDialect, type ReadModelDatabase } from '../../support/read-model-databases.js';

/** Accounts of one property run: every path carries the run's id, so runs never share an account. */
const accountsOf = (run: string) => [
  `venue:${run}:pending`,
  `venue:${run}:available`,
  `venue:${run}:reserved`,
  `venue:${run}:paid_out`,
  `escrow:${run}`,
  `seller:${run}:payable`,
  `royalty:artist:${run}`,
  `customer:${run}:refunds`,
  `tax:${run}:payable`,
];

interface Leg {
  readonly account: number;
  readonly currency: string;
  readonly amount: bigint;
}

/** Amounts up to 10^15 minor units, so sums pass 2^53 and only exact integers survive. */
const amount = fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }).filter((a) => a !== 0n);
const leg = fc.record({ account: fc.nat({ max: 8 }), currency: fc.constantFrom('USD', 'EUR', 'JPY', 'KWD'), amount });
const day = fc.integer({ min: 0, max: 60 });

/** A balanced transfer: random legs, plus in each currency one leg that brings the sum to zero. */
const transfer = fc.record({ legs: fc.array(leg, { minLength: 1, maxLength: 5 }), balancer: fc.nat({ max: 8 }), day });

type Transfer = { legs: Leg[]; balancer: number; day: number };

function balanced({ legs, balancer }: Transfer): Leg[] {
  const sums = new Map<string, bigint>();
  for (const l of legs) sums.set(l.currency, (sums.get(l.currency) ?? 0n) + l.amount);
  return [...legs, ...[...sums].filter(([, sum]) => sum !== 0n).map(([currency, sum]) => ({ account: balancer, currency, amount: -sum }))];
}

const occurredAt = (d: number) => new Date(Date.UTC(2026, 0, 1 + d, 12)).toISOString();

function transferEvent(run: string, t: Transfer): EventData {
  const accounts = accountsOf(run);
  const legs = balanced(t).map((l) => ({ account: accounts[l.account]!, currency: l.currency, amount: l.amount.toString() }));
  return ledgerEvent<Extract<TestLedgerEvent, { type: 'Transferred' }>>('Transferred', { legs }, occurredAt(t.day));
}

/** What the ledger must say: each account's postings, with the day they occurred. */
function model(run: string, transfers: readonly Transfer[]) {
  const accounts = accountsOf(run);
  const postings = transfers.flatMap((t) => balanced(t).map((l) => ({ account: accounts[l.account]!, currency: l.currency, amount: l.amount, day: t.day })));
  const balanceAt = (account: string, untilDay = Infinity) => {
    const sums = new Map<string, bigint>();
    for (const p of postings) if (p.account === account && p.day <= untilDay) sums.set(p.currency, (sums.get(p.currency) ?? 0n) + p.amount);
    return [...sums].filter(([, s]) => s !== 0n).sort(([a], [b]) => (a < b ? -1 : 1));
  };
  return { postings, balanceAt };
}

const nonZero = (balances: readonly { currency: string; balance: bigint }[]) =>
  balances.filter((b) => b.balance !== 0n).map((b) => [b.currency, b.balance] as const);

onEveryDialect('ledger properties', (open, dialect) => {
  let db: ReadModelDatabase;
  let readSide: ReadSide;
  const runs = dialect === 'pglite' ? 12 : 20;

  beforeAll(async () => {
    db = await open();
    readSide = db.readSide({ projections: [testLedger()], retryMaxMs: 20 });
  });
  afterAll(() => db.close());

  // Wait for the events' own position: the store's head can lag behind them while any transaction
  // on the server (another test's) is still running.
  const settle = async (position?: Position) =>
    expect(await readSide.waitFor('ledger', position ?? (await db.store.headPosition())!, 20_000)).toBe(true);

  it('keeps the trial balance at zero in every currency, and asOf balances equal the postings up to then', async () => {
    await readSide.start();
    await fc.assert(
      fc.asyncProperty(fc.array(transfer, { minLength: 1, maxLength: 12 }), fc.array(day, { minLength: 1, maxLength: 3 }), async (transfers, asOfDays) => {
        const run = randomUUID().slice(0, 8);
        await settle(await appendAll(db, transfers.map((t) => transferEvent(run, t))));
        const trial = await trialBalance(readSide.db);
        expect(trial.balanced).toBe(true);
        expect(trial.currencies.every((c) => c.net === 0n && c.debits === c.credits)).toBe(true);

        const expected = model(run, transfers);
        for (const account of accountsOf(run)) {
          const now = expected.balanceAt(account);
          const found = await accountBalance(readSide.db, account).catch(() => null);
          expect(found ? nonZero(found.balances) : [], account).toEqual(now);
          for (const d of asOfDays) {
            const asOf = new Date(occurredAt(d));
            const then = found ? nonZero((await accountBalance(readSide.db, account, { asOf })).balances) : [];
            expect(then, `${account} as of day ${d}`).toEqual(expected.balanceAt(account, d));
          }
        }
        const venue = await balancesUnder(readSide.db, `venue:${run}:`);
        const venueModel = new Map<string, bigint>();
        for (const p of expected.postings) if (p.account.startsWith(`venue:${run}:`)) venueModel.set(p.currency, (venueModel.get(p.currency) ?? 0n) + p.amount);
        expect(Object.fromEntries(venue.totals.map((t) => [t.currency, t.balance]))).toEqual(Object.fromEntries(venueModel));
      }),
      { numRuns: runs },
    );
    await readSide.stop();
  });

  it('stops at an unbalanced entry with nothing of its batch written, then books the batch whole once fixed', async () => {
    await settle().catch(() => undefined);
    await fc.assert(
      fc.asyncProperty(fc.array(transfer, { minLength: 0, maxLength: 8 }), fc.nat(), async (transfers, at) => {
        const run = randomUUID().slice(0, 8);
        const events = transfers.map((t) => transferEvent(run, t));
        events.splice(at % (events.length + 1), 0, ledgerEvent('Glitched', { amount: 1000 }));
        const before = await ledgerSnapshot(readSide);
        glitch.unbalanced = true;
        // All readable at once, so the events before the glitch cannot be booked in a batch of their own.
        const last = await appendAtOnce(db, events);
        await readSide.start();
        await expect.poll(async () => (await readSide.status())[0]!.consecutiveFailures, { timeout: 10_000, interval: 5 }).toBeGreaterThan(0);
        expect((await readSide.status())[0]!.lastError).toMatch(/refused: debits and credits differ/);
        expect(await ledgerSnapshot(readSide)).toEqual(before);

        glitch.unbalanced = false;
        await settle(last);
        expect((await trialBalance(readSide.db)).balanced).toBe(true);
        const expected = model(run, transfers);
        for (const account of accountsOf(run)) {
          const found = await accountBalance(readSide.db, account).catch(() => null);
          expect(found ? nonZero(found.balances) : []).toEqual(expected.balanceAt(account));
        }
        await readSide.stop();
      }),
      { numRuns: dialect === 'pglite' ? 6 : 10 },
    );
    // Each run waits for its events to become readable, and on a server shared with other suites
    // an open transaction elsewhere (a projector killed mid-batch, say) holds them back a while:
    // the runs' own waits (10 s and 20 s each) decide, not the default 30 s for the whole test.
  }, 180_000);
});

/** Everything the ledger holds, summarised exactly: counts and the whole balances table. */
async function ledgerSnapshot(readSide: ReadSide) {
  const counts = await sql<{ entries: string; postings: string }>`
    SELECT (SELECT count(*) FROM ledger_entries)::text AS entries, (SELECT count(*) FROM ledger_postings)::text AS postings`.execute(readSide.db);
  const balances = await sql`SELECT account, currency, balance::text, debits::text, credits::text, postings::text FROM ledger_balances ORDER BY 1, 2`.execute(readSide.db);
  const [status] = await readSide.status();
  return { counts: counts.rows, balances: balances.rows, checkpoint: status!.checkpoint };
}
