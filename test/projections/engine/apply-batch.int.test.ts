import { afterEach, beforeEach, expect, it } from 'vitest';
import { CheckpointConflictError } from '../../../src/eventstore/errors.js';
import { comparePositions, type Position } from '../../../src/eventstore/event-store.js';
import { eventually } from '../../support/poll.js';
import { applySteps, type ProjectionStep } from '../../../src/projections/engine/apply-batch.js';
import type { Projection } from '../../../src/projections/engine/projection.js';
import { trialBalance } from '../../../src/projections/ledger/queries.js';
import { onEveryDialect, type ReadModelDatabase } from '../../support/read-model-databases.js';
import { appendAll, ledgerEvent, testLedger } from '../../support/ledger-events.js';

const sold = (venueId: string, price: number) =>
  ledgerEvent('TicketSold', { venueId, currency: 'USD', price, fee: 10, tax: 5, jurisdiction: 'tn' });

onEveryDialect('a projection batch and its checkpoint', (open) => {
  let db: ReadModelDatabase;
  beforeEach(async () => {
    db = await open();
  });
  afterEach(() => db.close());

  it('lets one of two runners that apply the same batch at once win, the other handing over with a checkpoint conflict', async () => {
    const bought = await appendAll(db, [sold('v1', 100)]);
    // Each holds its rows a while before committing, so the two transactions overlap.
    const slow = testLedger();
    const ledger: Projection = {
      ...slow,
      handle: async (events, trx, batch) => {
        await slow.handle(events, trx, batch);
        await new Promise((resolve) => setTimeout(resolve, 150));
      },
    };
    const readSide = db.readSide({ projections: [ledger] });
    // $all shows an append once no older transaction on the server is still open: wait for it.
    const readTo = (position: Position, after: Position | 'start') =>
      eventually(async () => {
        const read = await db.store.readAll({ after, maxCount: 10 });
        return read.some((e) => comparePositions(e.position, position) === 0) ? read : undefined;
      }, { timeoutMs: 15_000 });
    const [first] = await readTo(bought, 'start');
    await applySteps(readSide.db, [{ projection: ledger, events: [first!], previous: null, next: first!.position }]);
    const more = await appendAll(db, [sold('v1', 200), sold('v2', 300)]);
    const events = await readTo(more, first!.position);
    const step: ProjectionStep = { projection: ledger, events, previous: first!.position, next: more };
    const outcomes = await Promise.allSettled([applySteps(readSide.db, [step]), applySteps(readSide.db, [step])]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const failure = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(failure.reason).toBeInstanceOf(CheckpointConflictError);
    const trial = await trialBalance(readSide.db);
    expect(trial.currencies).toMatchObject([{ currency: 'USD', debits: 645n, credits: 645n }]);
  });
});
