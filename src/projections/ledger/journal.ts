import { isoMicrosOrUndefined } from '../../db/binary-copy.js';
import { uuidV5 } from '../../domain/ids.js';
import type { Position } from '../../eventstore/event-store.js';
import { accountShape, CURRENCY } from './accounts.js';
import { UnbalancedEntryError, type EntryProblem } from './errors.js';

/** One leg of an entry, in minor units: debit positive, credit negative. */
export interface Posting {
  readonly account: string;
  readonly currency: string;
  readonly amount: bigint | number;
}

/**
 * A balanced journal entry as the ledger stores it, booked by one source event. Its id is not
 * given but derived: journalEntryId(sourceEventId, entryIndex).
 */
export interface JournalEntry {
  readonly sourceEventId: string;
  /** Which of the source event's entries this is (0 for the first). */
  readonly entryIndex: number;
  readonly streamId: string;
  readonly streamRevision: number;
  readonly position: Position;
  readonly entryType: string;
  /** Business time (ISO-8601), from the event's metadata. */
  readonly occurredAt: string;
  readonly recordedAt: Date;
  readonly description: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly postings: readonly Posting[];
}

/** Namespace of journal entry ids (UUID v5): fixed forever, or replays would book new ids. */
const JOURNAL_NAMESPACE = 'a3c5e0f2-54b1-4d0c-9f3e-7c1b2d8e6a40';

/** The id of the `entryIndex`-th entry booked by an event: the same on every replay and retry. */
export const journalEntryId = (sourceEventId: string, entryIndex: number): string =>
  uuidV5(`${sourceEventId.toLowerCase()}/${entryIndex}`, JOURNAL_NAMESPACE);

/** An amount as given: a bigint, or a number that must be a safe integer (kept a number: cheaper). */
function minorUnits(amount: bigint | number, what: string): bigint | number {
  if (typeof amount === 'number' && !Number.isSafeInteger(amount)) throw new RangeError(`${what} must be an integer number of minor units, got ${amount}`);
  return amount;
}

/**
 * The exact sum of two amounts: a number while both are numbers and the sum is a safe integer, a
 * bigint otherwise, so sums stay exact without allocating a bigint for every posting.
 */
export function addUnits(a: bigint | number, b: bigint | number): bigint | number {
  if (typeof a === 'number' && typeof b === 'number') {
    const sum = a + b;
    if (Number.isSafeInteger(sum)) return sum;
  }
  return BigInt(a) + BigInt(b);
}

/** A debit of `amount` (≥ 0) minor units to `account`. */
export function debit(account: string, currency: string, amount: bigint | number): Posting {
  const units = minorUnits(amount, 'a debit');
  if (units < 0) throw new RangeError(`a debit must not be negative (${account} ${units})`);
  return { account, currency, amount: units };
}

/** A credit of `amount` (≥ 0) minor units to `account` (stored as a negative amount). */
export function credit(account: string, currency: string, amount: bigint | number): Posting {
  const units = minorUnits(amount, 'a credit');
  if (units < 0) throw new RangeError(`a credit must not be negative (${account} ${units})`);
  return { account, currency, amount: units === 0 ? 0 : -units };
}

/**
 * Throws UnbalancedEntryError unless the entry has postings, each to an account of the chart, in
 * a currency code, of a non-zero integer amount, and they sum to zero in every currency.
 * Answers the entry's occurredAt in microseconds since the epoch, as the ledger stores it.
 */
export function checkEntry(entry: JournalEntry): number | bigint {
  const refuse = (problem: EntryProblem, reason: string, details: Record<string, unknown> = {}): never => {
    const entryId = Number.isSafeInteger(entry.entryIndex) ? journalEntryId(entry.sourceEventId, entry.entryIndex) : '(none)';
    throw new UnbalancedEntryError(problem, { ...entry, entryId }, details, reason);
  };
  if (!Number.isSafeInteger(entry.entryIndex) || entry.entryIndex < 0) refuse('malformed_entry', `entry index ${entry.entryIndex}`);
  const occurred = isoMicrosOrUndefined(entry.occurredAt);
  if (occurred === undefined) return refuse('malformed_entry', `occurredAt "${entry.occurredAt}" is not an ISO-8601 time with an offset`);
  if (entry.postings.length === 0) refuse('no_postings', 'it has no postings');
  const sums = new Map<string, bigint | number>();
  for (let index = 0; index < entry.postings.length; index++) {
    const { account, currency, amount } = entry.postings[index]!;
    if (!accountShape(account)) refuse('malformed_account', `posting ${index}: "${account}" is not an account of the chart`, { account });
    if (!CURRENCY.test(currency)) refuse('invalid_currency', `posting ${index}: "${currency}" is not a currency code`, { currency });
    const valid = typeof amount === 'bigint' || Number.isSafeInteger(amount);
    if (!valid || amount === 0 || amount === 0n) {
      refuse('invalid_amount', `posting ${index}: amount ${String(amount)} is not a non-zero integer of minor units`, { account, amount: String(amount) });
    }
    sums.set(currency, addUnits(sums.get(currency) ?? 0, amount));
  }
  const off = [...sums].filter(([, sum]) => sum !== 0 && sum !== 0n);
  if (off.length > 0) {
    refuse('unbalanced', `debits and credits differ: ${off.map(([c, sum]) => `${c} by ${sum}`).join(', ')}`, {
      imbalance: Object.fromEntries(off.map(([c, sum]) => [c, sum.toString()])),
    });
  }
  return occurred;
}
