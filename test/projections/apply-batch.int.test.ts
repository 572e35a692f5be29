import { afterEach, beforeEach, expect, it } from 'vitest';
import { CheckpointConflictError } from '../../src/eventstore/errors.js';
import { applySteps, type ProjectionStep } from '../../src/projections/apply-batch.js';
import type { Projection } from '../../src/projections/projection.js';
import { trialBalance } from '../../src/ledger/queries.js';
import { onEveryDialect, type ReadModelDatabase } from '../support/read-model-databases.js';
import { appendAll, ledgerEvent, testLedger } from '../support/ledger-events.js';

const sold = (venueId: string, price: number) =>
  ledgerEvent('TicketSold', { venueId, currency: 'USD', price, fee: 10, tax: 5, jurisdiction: 'tn' });

onEveryDialect('a projection batch and its checkpoint', (open) => {
  let db: ReadModelDatabase;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(() => db.close());

  it('lets one of two runners that apply the same batch at once win, the other handing over with a checkpoint conflict', async () => {
    await appendAll(db, [sold('v1', 100)]);
    // Each holds its rows a while before committing, so the two transactions overlap.
    const slow = testLedger();
    const ledger: Projection = {
      ...slow,
      handle: async (events, trx) => {
        await slow.handle(events, trx);
        await new Promise((resolve) => setTimeout(resolve, 150));
      },
    };
    const readSide = db.readSide({ projections: [ledger] });
    const [first, ...rest] = await db.store.readAll({ after: 'start', maxCount: 10 });
    await applySteps(readSide.db, [{ projection: ledger, events: [first!], previous: null, next: first!.position }]);
    const more = await appendAll(db, [sold('v1', 200), sold('v2', 300)]);
    const events = [...rest, ...(await db.store.readAll({ after: first!.position, maxCount: 10 }))];
    const step: ProjectionStep = { projection: ledger, events, previous: first!.position, next: more };
    const outcomes = await Promise.allSettled([applySteps(readSide.db, [step]), applySteps(readSide.db, [step])]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const failure = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(failure.reason).toBeInstanceOf(CheckpointConflictError);
    const trial = await trialBalance(readSide.db);
    expect(trial.currencies).toMatchObject([{ currency: 'USD', debits: 645n, credits: 645n }]);
  });
});
