import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testApp, type TestApp } from '../../support/app.js';
import { authAs, purchase, refund, sqlBackends, venueAt, type ProcessAnswer } from '../../support/payments-http.js';
import { eventually } from '../../support/poll.js';
import { event, metadata } from '../../support/events.js';
import { paymentRequestedV1, VERSION_1_LINES_UPCAST } from '../../support/version-1-events.js';
import { positionToString } from '../../../src/eventstore/event-store.js';

interface TransactionAnswer {
  transaction: Record<string, unknown> & { id: string; status: string; amount: number };
  refunds: { id: string; amount: number; status: string }[];
  nftStatus: { status: string; jobId?: string; progress?: number; transactionHash?: string };
}

const MINTING = ['pending', 'queued', 'processing', 'completed'];

describe.each(sqlBackends())('transaction queries over HTTP (%s)', (backend) => {
  let t: TestApp;
  let venueId: string;
  let paid: { id: string; position: string };

  beforeAll(async () => {
    t = await testApp({ backend, background: true, env: { CHAIN_CONFIRM_DELAY_MS: '50', MINT_POLL_MS: '20' } });
    venueId = await venueAt(t, { tierOverride: 'pro' });
    const body = (await purchase(t, venueId)).json<ProcessAnswer & { position: string }>();
    paid = { id: body.transaction.id, position: body.position };
  });
  afterAll(() => t.close());

  const get = async (url: string, headers?: Record<string, string>) => t.app.inject({ method: 'GET', url, headers: headers ?? (await authAs()) });

  it("answers the buyer their transaction's status, amounts and NFT status once the read model has reached the purchase", async () => {
    const response = await get(`/api/v1/payments/transaction/${paid.id}?position=${paid.position}`);
    expect(response.statusCode).toBe(200);
    const body = response.json<TransactionAnswer>();
    expect(body.transaction).toMatchObject({
      id: paid.id,
      userId: 'buyer-1',
      venueId,
      amount: 11_765,
      currency: 'USD',
      status: 'completed',
      stripePaymentIntentId: expect.stringMatching(/^pi_sandbox_/) as string,
      fees: { ticketPrice: 10_000, platformFee: 790, gasEstimate: 50, stateTax: 700, localTax: 225, total: 11_765 },
      captured: 11_765,
      refunded: 0,
      refundable: 11_765,
      failure: null,
      paymentMethod: { type: 'card' },
    });
    expect(body.transaction.processingMs).toEqual(expect.any(Number));
    expect(body.refunds).toEqual([]);
    expect(MINTING).toContain(body.nftStatus.status);
  });

  it("shows the tickets' NFT minted, with the chain's transaction hash, once the chain confirms", async () => {
    const minted = await eventually(async () => {
      const answer = (await get(`/api/v1/payments/transaction/${paid.id}`)).json<TransactionAnswer>();
      return answer.nftStatus.status === 'completed' ? answer.nftStatus : undefined;
    });
    expect(minted).toEqual({ jobId: `mint-${paid.id}`, status: 'completed', progress: 100, transactionHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) as string });
  });

  it('answers a transaction the read model has not seen yet without a position by waiting for it, never 404', async () => {
    const body = (await purchase(t, venueId)).json<ProcessAnswer>();
    const response = await get(`/api/v1/payments/transaction/${body.transaction.id}`);
    expect(response.statusCode).toBe(200);
    expect(response.json<TransactionAnswer>().transaction.id).toBe(body.transaction.id);
  });

  it('lets an admin read any transaction, and refuses another user with 403', async () => {
    expect((await get(`/api/v1/payments/transaction/${paid.id}`, await authAs('admin'))).statusCode).toBe(200);
    const stranger = await get(`/api/v1/payments/transaction/${paid.id}`, await authAs('user', 'someone-else'));
    expect(stranger.statusCode).toBe(403);
    expect(stranger.json()).toMatchObject({ code: 'FORBIDDEN', path: `/api/v1/payments/transaction/${paid.id}` });
  });

  it('answers an unknown transaction 404 PAYMENT_NOT_FOUND and a malformed id 422', async () => {
    const unknown = await get(`/api/v1/payments/transaction/${randomUUID()}`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'PAYMENT_NOT_FOUND' });
    expect((await get('/api/v1/payments/transaction/not-a-uuid')).statusCode).toBe(422);
    expect((await get(`/api/v1/payments/transaction/${paid.id}?position=later`)).json()).toMatchObject({ code: 'VALIDATION_ERROR' });
  });

  it('shows a refund, read through the position the refund command answered', async () => {
    const bought = (await purchase(t, venueId)).json<ProcessAnswer>();
    const refunded = (await refund(t, bought.transaction.id, { amount: 5_000 })).json<{ position: string; refund: { id: string } }>();
    const response = await get(`/api/v1/payments/transaction/${bought.transaction.id}?position=${refunded.position}`);
    const body = response.json<TransactionAnswer>();
    expect(body.refunds).toEqual([expect.objectContaining({ id: refunded.refund.id, amount: 5_000, reason: 'cannot make it', requestedBy: 'user:buyer-1' })]);
    const settled = await eventually(async () => {
      const again = (await get(`/api/v1/payments/transaction/${bought.transaction.id}`)).json<TransactionAnswer>();
      return again.transaction.status === 'partially_refunded' ? again : undefined;
    });
    expect(settled.transaction).toMatchObject({ refunded: 5_000, refundable: 6_765 });
    expect(settled.refunds[0]).toMatchObject({ status: 'succeeded', completedAt: expect.any(String) as string });
    expect(MINTING).toContain(settled.nftStatus.status);
  });

  it('answers nothing refundable while a dispute is open, as the refund command refuses one then', async () => {
    const bought = (await purchase(t, venueId)).json<ProcessAnswer>();
    const opened = await t.storage.eventStore.append(
      `payment-${bought.transaction.id}`,
      [event('DisputeOpened', { paymentId: bought.transaction.id, disputeId: 'dp_1', amount: 1_000, reason: 'fraudulent' }, { metadata: metadata({ occurredAt: new Date().toISOString() }) })],
      { expected: 'any' },
    );
    const response = await get(`/api/v1/payments/transaction/${bought.transaction.id}?position=${positionToString(opened.position)}`);
    expect(response.json()).toMatchObject({ transaction: { status: 'disputed', refundable: 0 } });
    const refused = await refund(t, bought.transaction.id, { amount: 100 });
    expect(refused.json()).toMatchObject({ code: 'PAYMENT_NOT_REFUNDABLE' });
  });

  it("shows a declined payment's failure and reports nothing to mint", async () => {
    const declined = (await purchase(t, venueId, { paymentMethodId: 'pm_card_chargeDeclined' })).json<{ details: { transactionId: string; position: string } }>();
    // The 402 carries the position of the failure, so reading it back shows it.
    const { transactionId, position } = declined.details;
    const body = (await get(`/api/v1/payments/transaction/${transactionId}?position=${position}`)).json<TransactionAnswer>();
    expect(body.transaction).toMatchObject({
      status: 'failed',
      captured: 0,
      failure: { reason: 'Your card was declined.', code: 'card_declined', declineCode: 'generic_decline' },
    });
    expect(body.nftStatus).toEqual({ status: 'not_minted' });
  });

  it('answers 409 READ_MODEL_BEHIND when the read model does not reach the position within READ_WAIT_MS', async () => {
    const response = await get(`/api/v1/payments/transaction/${paid.id}?position=99999999999/99999999999`);
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ code: 'READ_MODEL_BEHIND', details: { projection: 'payments', position: '99999999999/99999999999' } });
  });

  it('answers the audit trail: every event of the stream in order, with its metadata', async () => {
    const response = await get(`/api/v1/payments/transaction/${paid.id}/events`);
    expect(response.statusCode).toBe(200);
    const body = response.json<{ streamId: string; events: { type: string; revision: number; metadata: Record<string, unknown> }[] }>();
    expect(body.streamId).toBe(`payment-${paid.id}`);
    expect(body.events.map((e) => e.type)).toEqual(['PaymentRequested', 'PaymentSubmitted', 'PaymentAuthorized', 'PaymentCaptured']);
    expect(body.events.map((e) => e.revision)).toEqual([0, 1, 2, 3]);
    expect(body.events[0]!.metadata).toMatchObject({
      actor: 'user:buyer-1',
      tenantId: 'tenant-1',
      correlationId: expect.any(String) as string,
      causationId: expect.any(String) as string,
      occurredAt: expect.any(String) as string,
      schemaVersion: 2,
    });
  });

  it("shows each line's price source in the audit trail: the catalogue for a purchase made now, the request for one stored before it", async () => {
    type Trail = { events: { data: { tickets: unknown }; metadata: { schemaVersion: number } }[] };
    const now = (await get(`/api/v1/payments/transaction/${paid.id}/events`)).json<Trail>().events[0]!;
    expect(now).toMatchObject({ metadata: { schemaVersion: 2 }, data: { tickets: [{ unitPrice: 10_000, priceSource: 'catalogue' }] } });
    const before = randomUUID();
    await t.storage.eventStore.append(`payment-${before}`, [paymentRequestedV1(before, { venueId })], { expected: 'no_stream' });
    const old = (await get(`/api/v1/payments/transaction/${before}/events`)).json<Trail>().events[0]!;
    expect(old).toMatchObject({ metadata: { schemaVersion: 2 }, data: { tickets: VERSION_1_LINES_UPCAST } });
  });

  it('answers a transaction and its audit trail by an id in upper case as by the same id in lower case', async () => {
    const upper = paid.id.toUpperCase();
    const summary = await get(`/api/v1/payments/transaction/${upper}?position=${paid.position}`);
    expect(summary.statusCode).toBe(200);
    expect(summary.json()).toMatchObject({ transaction: { id: paid.id } });
    const trail = await get(`/api/v1/payments/transaction/${upper}/events`);
    expect(trail.statusCode).toBe(200);
    expect(trail.json()).toMatchObject({ transactionId: paid.id, streamId: `payment-${paid.id}` });
  });

  it("leaves the platform's and the venue's own figures out of the buyer's audit trail, and shows them to admins", async () => {
    const url = `/api/v1/payments/transaction/${paid.id}/events`;
    const buyer = (await get(url)).body;
    const admin = (await get(url, await authAs('admin'))).body;
    for (const field of ['trailingVolume', 'tierSource', 'processingCost', 'venueProceeds', 'idempotencyKey']) {
      expect(buyer, field).not.toContain(`"${field}"`);
      expect(admin, field).toContain(`"${field}"`);
    }
    const requested = (JSON.parse(buyer) as { events: { data: { quote: { total: number; platformFee: { amount: number; tier: string } } } }[] }).events[0]!;
    expect(requested.data.quote.total).toBeGreaterThan(0);
    expect(requested.data.quote.platformFee).toMatchObject({ amount: expect.any(Number) as number, tier: 'pro' });
  });

  it('refuses the audit trail to another user (403) and answers an unknown one 404', async () => {
    expect((await get(`/api/v1/payments/transaction/${paid.id}/events`, await authAs('user', 'someone-else'))).statusCode).toBe(403);
    expect((await get(`/api/v1/payments/transaction/${paid.id}/events`, await authAs('admin'))).statusCode).toBe(200);
    const unknown = await get(`/api/v1/payments/transaction/${randomUUID()}/events`);
    expect(unknown.json()).toMatchObject({ code: 'PAYMENT_NOT_FOUND' });
  });
});
