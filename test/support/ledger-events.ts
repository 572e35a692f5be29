import { randomUUID } from 'node:crypto';
import type { EventData, Position } from '../../src/eventstore/event-store.js';
import { credit, debit } from '../../src/projections/ledger/journal.js';
import { ledgerProjection, type PostingRules } from '../../src/projections/ledger/ledger-projection.js';
import { metadata } from './events.js';
import type { ReadModelDatabase } from './read-model-databases.js';

/**
 * A small event catalogue defined by the tests, to exercise the posting-rules mechanism. (The
 * payment catalogue and its rules belong to the payments code.)
 */
export type TestLedgerEvent =
  | { type: 'TicketSold'; data: { venueId: string; currency: string; price: number; fee: number; tax: number; jurisdiction: string } }
  | { type: 'VenueFundsReleased'; data: { venueId: string; currency: string; amount: number } }
  | { type: 'PayoutSent'; data: { venueId: string; currency: string; amount: number } }
  | { type: 'Transferred'; data: { legs: { account: string; currency: string; amount: string }[] } }
  | { type: 'Glitched'; data: { amount: number } };

/** Flip to make `Glitched` book an unbalanced entry. */
export const glitch = { unbalanced: true };

export const testRules: PostingRules<TestLedgerEvent> = {
  TicketSold: ({ data }) => ({
    description: `ticket sold at venue ${data.venueId}`,
    postings: [
      debit('gateway:clearing', data.currency, data.price + data.fee + data.tax),
      credit(`venue:${data.venueId}:pending`, data.currency, data.price),
      credit('platform:fees', data.currency, data.fee),
      credit(`tax:${data.jurisdiction}:payable`, data.currency, data.tax),
    ],
    metadata: { feeBasisPoints: 790 },
  }),
  // Two entries from one event: the release, then a reserve held back from it.
  VenueFundsReleased: ({ data }) => [
    {
      description: 'funds released to available',
      postings: [debit(`venue:${data.venueId}:pending`, data.currency, data.amount), credit(`venue:${data.venueId}:available`, data.currency, data.amount)],
    },
    {
      entryType: 'ReserveHeld',
      description: '10% held in reserve',
      postings: [
        debit(`venue:${data.venueId}:available`, data.currency, Math.floor(data.amount / 10)),
        credit(`venue:${data.venueId}:reserved`, data.currency, Math.floor(data.amount / 10)),
      ],
    },
  ],
  PayoutSent: ({ data }) => ({
    description: 'payout sent',
    postings: [debit(`venue:${data.venueId}:available`, data.currency, data.amount), credit('gateway:clearing', data.currency, data.amount)],
  }),
  Transferred: ({ data }) => ({
    description: 'transfer',
    postings: data.legs.map((leg) => ({ account: leg.account, currency: leg.currency, amount: BigInt(leg.amount) })),
  }),
  Glitched: ({ data }) => ({
    description: 'a rule with a bug',
    postings: [debit('gateway:clearing', 'USD', data.amount), credit('platform:fees', 'USD', glitch.unbalanced ? data.amount - 1 : data.amount)],
  }),
};

export const testLedger = (version = 1) => ledgerProjection<TestLedgerEvent>(testRules, { version });

export function ledgerEvent<E extends TestLedgerEvent>(type: E['type'], data: E['data'], occurredAt = '2026-11-22T12:00:00.000Z'): EventData {
  return { id: randomUUID(), type, data, metadata: metadata({ occurredAt }) };
}

/**
 * Appends each event to its own new stream, each in a transaction of its own; returns the last
 * position. On a server shared with other suites, an open transaction elsewhere can make the
 * first of them readable before the rest: use appendAtOnce where a test needs them in one batch.
 */
export async function appendAll(db: ReadModelDatabase, events: readonly EventData[], stream = () => `payment-${randomUUID()}`): Promise<Position> {
  let last: Position | undefined;
  for (const e of events) ({ position: last } = await db.store.append(stream(), [e], { expected: 'any' }));
  return last!;
}

/** Appends the events to one new stream in one transaction, so they become readable together; returns the last position. */
export async function appendAtOnce(db: ReadModelDatabase, events: readonly EventData[]): Promise<Position> {
  return (await db.store.append(`payment-${randomUUID()}`, events, { expected: 'no_stream' })).position;
}
