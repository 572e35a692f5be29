import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accountPrefixSchema, accountSchema, accountShape, CHART_OF_ACCOUNTS, normalSide } from '../../../src/projections/ledger/accounts.js';
import { UnbalancedEntryError } from '../../../src/projections/ledger/errors.js';
import { addUnits, checkEntry, credit, debit, journalEntryId, type JournalEntry, type Posting } from '../../../src/projections/ledger/journal.js';

function entry(postings: readonly Posting[], overrides: Partial<JournalEntry> = {}): JournalEntry {
  return {
    sourceEventId: randomUUID(),
    entryIndex: 0,
    streamId: 'payment-1',
    streamRevision: 0,
    position: { commit: 1n, prepare: 1n },
    entryType: 'TicketSold',
    occurredAt: '2026-11-22T12:00:00.000Z',
    recordedAt: new Date('2026-11-22T12:00:01.000Z'),
    description: 'test',
    metadata: {},
    postings,
    ...overrides,
  };
}

const problemOf = (e: JournalEntry) => {
  try {
    checkEntry(e);
    return 'accepted';
  } catch (error) {
    return error instanceof UnbalancedEntryError ? error.problem : `threw ${String(error)}`;
  }
};

describe('journal entries', () => {
  it('accepts a purchase whose debits equal its credits in every currency', () => {
    const purchase = entry([
      debit('gateway:clearing', 'USD', 11_765),
      credit('venue:v-1:pending', 'USD', 10_000),
      credit('platform:fees', 'USD', 790),
      credit('platform:gas', 'USD', 50),
      credit('tax:TN:payable', 'USD', 700),
      credit('tax:TN-nashville:payable', 'USD', 225),
      debit('gateway:clearing', 'EUR', 10n),
      credit('escrow:listing-9', 'EUR', 10n),
    ]);
    expect(problemOf(purchase)).toBe('accepted');
  });

  it('refuses entries that do not balance, naming the currency and the difference', () => {
    const off = entry([debit('gateway:clearing', 'USD', 100), credit('platform:fees', 'USD', 99), debit('gateway:clearing', 'EUR', 5), credit('platform:fees', 'EUR', 5)]);
    expect(() => checkEntry(off)).toThrow(/refused: debits and credits differ: USD by 1$/);
    expect(problemOf(entry([debit('gateway:clearing', 'USD', 100), credit('platform:fees', 'EUR', 100)]))).toBe('unbalanced');
  });

  it('refuses entries without postings, with unknown accounts, odd currencies or non-integer amounts', () => {
    expect(problemOf(entry([]))).toBe('no_postings');
    expect(problemOf(entry([debit('venu:1:pending', 'USD', 1), credit('platform:fees', 'USD', 1)]))).toBe('malformed_account');
    expect(problemOf(entry([debit('gateway:clearing', 'usd', 1), credit('platform:fees', 'usd', 1)]))).toBe('invalid_currency');
    expect(problemOf(entry([{ account: 'gateway:clearing', currency: 'USD', amount: 1.5 }, { account: 'platform:fees', currency: 'USD', amount: -1.5 }]))).toBe('invalid_amount');
    expect(problemOf(entry([{ account: 'gateway:clearing', currency: 'USD', amount: 0 }]))).toBe('invalid_amount');
    expect(problemOf(entry([debit('gateway:clearing', 'USD', 1), credit('platform:fees', 'USD', 1)], { occurredAt: 'yesterday' }))).toBe('malformed_entry');
    expect(problemOf(entry([debit('gateway:clearing', 'USD', 1), credit('platform:fees', 'USD', 1)], { entryIndex: -1 }))).toBe('malformed_entry');
  });

  it('refuses negative or fractional amounts in debit and credit', () => {
    expect(() => debit('gateway:clearing', 'USD', -1)).toThrow(RangeError);
    expect(() => credit('platform:fees', 'USD', 0.1)).toThrow(RangeError);
    expect(credit('platform:fees', 'USD', 7)).toEqual({ account: 'platform:fees', currency: 'USD', amount: -7 });
    expect(credit('platform:fees', 'USD', 7n)).toEqual({ account: 'platform:fees', currency: 'USD', amount: -7n });
  });

  it('gives each entry of an event an id that every replay derives again', () => {
    const source = randomUUID();
    expect(journalEntryId(source, 0)).toBe(journalEntryId(source.toUpperCase(), 0));
    expect(journalEntryId(source, 0)).not.toBe(journalEntryId(source, 1));
    expect(journalEntryId(source, 0)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('accepts every balanced entry and refuses it once any one amount is changed', () => {
    const account = fc.constantFrom('gateway:clearing', 'platform:fees', 'venue:v-1:available', 'tax:TN:payable', 'customer:c-7:refunds');
    const leg = fc.record({ account, currency: fc.constantFrom('USD', 'EUR', 'JPY'), amount: fc.bigInt({ min: 1n, max: 10n ** 12n }) });
    fc.assert(
      fc.property(fc.array(leg, { minLength: 1, maxLength: 6 }), fc.nat(), fc.bigInt({ min: 1n, max: 1000n }), (legs, pick, delta) => {
        // Each debit is matched by credits in the same currency: balanced by construction.
        const postings = legs.flatMap((l) => [debit(l.account, l.currency, l.amount), credit('gateway:clearing', l.currency, l.amount)]);
        expect(problemOf(entry(postings))).toBe('accepted');
        const i = pick % postings.length;
        const changed = postings.map((p, j) => (j === i ? { ...p, amount: BigInt(p.amount) + delta === 0n ? BigInt(p.amount) + 2n * delta : BigInt(p.amount) + delta } : p));
        expect(problemOf(entry(changed))).toBe('unbalanced');
      }),
    );
  });
});

describe('the chart of accounts', () => {
  it('knows each account shape of the design, and whether it is normally a debit or a credit', () => {
    const cases: [string, string, 'debit' | 'credit'][] = [
      ['gateway:clearing', 'asset', 'debit'],
      ['venue:7f3c:pending', 'liability', 'credit'],
      ['venue:7f3c:available', 'liability', 'credit'],
      ['venue:7f3c:reserved', 'liability', 'credit'],
      ['venue:7f3c:paid_out', 'liability', 'credit'],
      ['platform:fees', 'revenue', 'credit'],
      ['platform:gas', 'revenue', 'credit'],
      ['tax:US-TN:payable', 'liability', 'credit'],
      ['escrow:listing-1', 'liability', 'credit'],
      ['seller:u_2:payable', 'liability', 'credit'],
      ['seller:u_2:paid_out', 'liability', 'credit'],
      ['royalty:artist:a.9', 'liability', 'credit'],
      ['royalty:artist:a.9:paid_out', 'liability', 'credit'],
      ['customer:c-1:refunds', 'liability', 'credit'],
      ['gateway:fees', 'expense', 'debit'],
    ];
    for (const [account, accountClass, side] of cases) {
      const shape = accountShape(account);
      expect(shape?.class, account).toBe(accountClass);
      expect(normalSide(shape!.class)).toBe(side);
    }
    expect(new Set(cases.map(([a]) => accountShape(a)!.path)).size).toBe(CHART_OF_ACCOUNTS.length);
  });

  it('refuses paths that are not in the chart', () => {
    for (const bad of ['venue:1', 'venue:1:pending:x', 'venue::pending', 'platform:tips', 'gateway', 'Gateway:clearing', 'royalty:Artist:1', 'venue:a b:pending', ':', '']) {
      expect(accountShape(bad), bad).toBeUndefined();
      expect(accountSchema.safeParse(bad).success).toBe(false);
    }
  });

  it('takes account prefixes only at segment boundaries', () => {
    expect(accountPrefixSchema.safeParse('venue:7f3c:').success).toBe(true);
    expect(accountPrefixSchema.safeParse('tax:').success).toBe(true);
    expect(accountPrefixSchema.safeParse('venue:7f').success).toBe(false);
    expect(accountPrefixSchema.safeParse('venue:%:').success).toBe(false);
  });
});

describe('adding amounts', () => {
  it('stays exact past 2^53, turning to bigint only when a number would not be', () => {
    expect(addUnits(2, 3)).toBe(5);
    expect(addUnits(Number.MAX_SAFE_INTEGER, 1)).toBe(2n ** 53n);
    expect(addUnits(Number.MAX_SAFE_INTEGER, 2)).toBe(2n ** 53n + 1n);
    expect(addUnits(5n, -7)).toBe(-2n);
  });
});
