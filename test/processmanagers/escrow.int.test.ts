import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escrowHandler } from '../../src/commands/escrow.js';
import { splitResale } from '../../src/domain/resale.js';
import type { EventStore } from '../../src/eventstore/event-store.js';
import { createPgliteEventStore } from '../../src/eventstore/pglite.js';
import { TransientChainError, type Minter } from '../../src/gateways/minter.js';
import type { Deadline } from '../../src/processmanagers/runtime/deadlines.js';
import { escrowReleaseDeadlineHandler, MAX_RELEASE_EXTENSIONS, releaseDeadlineId, transferCheckHandler } from '../../src/processmanagers/escrow.js';
import { freshPglite } from '../support/databases.js';
import { context } from '../support/payments.js';

type Answer = 'confirmed' | 'pending' | 'failed' | 'transient';

let store: EventStore;
beforeAll(async () => {
  store = createPgliteEventStore(await freshPglite());
});
afterAll(() => store.close());

/** A chain that answers `answer` for every transaction. */
const chain = (answer: () => Answer): Minter => ({
    name: 'test',
    mint: () => Promise.reject(new Error('not used')),
    transfer: () => Promise.reject(new Error('not used')),
  status: () => {
    const given = answer();
    return given === 'transient' ? Promise.reject(new TransientChainError('chain unreachable')) : Promise.resolve(given);
  },
});

/** A funded escrow, with its transfer recorded unless `submitted` is false. */
async function fundedEscrow(submitted = true): Promise<string> {
  const escrowId = randomUUID();
  const split = splitResale(10_000, { maxPriceBps: 25_000, minPriceBps: 5_000, venueRoyaltyBps: 1_000, platformFeeBps: 500, artistRoyaltyBps: 0 });
  const run = (command: Parameters<typeof escrowHandler.handle>[2]) => escrowHandler.handle(store, escrowId, command, context());
  await run({
    type: 'CreateEscrow',
    data: {
      escrowId,
      listingId: randomUUID(),
      ticketId: randomUUID(),
      buyerId: 'buyer-2',
      sellerId: 'seller-1',
      venueId: 'venue-1',
      eventId: 'event-1',
      chain: 'polygon',
      currency: 'USD',
      amount: 10_000,
      split,
      paymentMethodId: 'pm_card_visa',
      releaseTimeoutMs: 1_000,
      createdAt: new Date().toISOString(),
    },
  });
  await run({ type: 'RecordFunding', data: { gateway: 'sandbox', gatewayReference: `pi_${escrowId}`, fundedAt: new Date().toISOString() } });
  if (submitted) await run({ type: 'RecordTransferSubmission', data: { txHash: `0x${escrowId}`, gasFee: 3, currency: 'USD', submittedAt: new Date().toISOString() } });
  return escrowId;
}

function harness(answer: () => Answer) {
  const scheduled: Deadline[] = [];
  const deps = {
    store,
    minter: chain(answer),
    deadlines: { schedule: (deadline: Deadline) => Promise.resolve(void scheduled.push(deadline)) },
    sourcePaymentOf: () => Promise.resolve(randomUUID()),
    transferCheckMs: 10,
  };
  return { scheduled, release: escrowReleaseDeadlineHandler(deps), check: transferCheckHandler(deps) };
}

const payload = (escrowId: string, extension?: number) => ({ escrowId, tenantId: 'tenant-test', correlationId: randomUUID(), ...(extension ? { extension } : {}) });
const releaseDeadline = (escrowId: string, extension?: number) => ({
  id: extension ? `${releaseDeadlineId(escrowId)}:${extension}` : releaseDeadlineId(escrowId),
  kind: 'escrow-release',
  dueAt: new Date(),
  attempts: 0,
  payload: payload(escrowId, extension),
});
const status = async (escrowId: string) => (await escrowHandler.load(store, escrowId)).state.status;

describe('The escrow release deadline asks the chain before refunding', () => {
  it('releases an escrow whose transfer the chain confirms, even though its deadline passed', async () => {
    const escrowId = await fundedEscrow();
    await harness(() => 'confirmed').release(releaseDeadline(escrowId));
    expect(await status(escrowId)).toBe('released');
  });

  it('pushes the deadline back while the transfer is pending or the chain does not answer, and refunds after the last extension', async () => {
    for (const answer of ['pending', 'transient'] as const) {
      const escrowId = await fundedEscrow();
      const h = harness(() => answer);
      await h.release(releaseDeadline(escrowId));
      expect(await status(escrowId)).toBe('funded');
      expect(h.scheduled).toHaveLength(1);
      expect(h.scheduled[0]).toMatchObject({ id: `${releaseDeadlineId(escrowId)}:1`, kind: 'escrow-release', payload: { extension: 1 } });
      await h.release(releaseDeadline(escrowId, MAX_RELEASE_EXTENSIONS));
      expect(await status(escrowId)).toBe('refunded');
      expect(h.scheduled).toHaveLength(1);
    }
  });

  it('refunds an escrow whose transfer failed or was never submitted', async () => {
    const failed = await fundedEscrow();
    await harness(() => 'failed').release(releaseDeadline(failed));
    expect(await status(failed)).toBe('refunded');
    const unsubmitted = await fundedEscrow(false);
    const h = harness(() => 'confirmed');
    await h.release(releaseDeadline(unsubmitted));
    expect(await status(unsubmitted)).toBe('refunded');
    expect(h.scheduled).toHaveLength(0);
  });
});

describe('The transfer check', () => {
  it('looks again after a transient chain error instead of failing (which parks it), and past the release deadline', async () => {
    const escrowId = await fundedEscrow();
    const h = harness(() => 'transient');
    const check = { id: `escrow-transfer-check:${escrowId}:1`, kind: 'escrow-transfer-check', dueAt: new Date(), attempts: 0 };
    await h.check({ ...check, payload: { ...payload(escrowId), txHash: `0x${escrowId}`, check: 1 } });
    expect(h.scheduled).toHaveLength(1);
    expect(h.scheduled[0]).toMatchObject({ kind: 'escrow-transfer-check', payload: { check: 2 } });
    // The escrow's release deadline (1 s after funding) has passed: a pending transfer is still looked for, and its confirmation releases.
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    const late = harness(() => 'pending');
    await late.check({ ...check, payload: { ...payload(escrowId), txHash: `0x${escrowId}`, check: 2 } });
    expect(late.scheduled).toHaveLength(1);
    await harness(() => 'confirmed').check({ ...check, payload: { ...payload(escrowId), txHash: `0x${escrowId}`, check: 3 } });
    expect(await status(escrowId)).toBe('released');
  });
});
