import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWebhookSecret, type RetrySchedule } from '../../src/domain/webhooks.js';
import { DEFAULT_INTEGRATION_OPTIONS, type CloudEvent } from '../../src/events/integration.js';
import type { RecordedEvent } from '../../src/eventstore/event-store.js';
import type { WebhookRequest, WebhookSender } from '../../src/gateways/webhook-sender.js';
import { createSqlWebhookStore, type WebhookStore } from '../../src/gateways/webhook-store.js';
import { deliveriesFor, startWebhooks, type WebhookRuntime } from '../../src/processmanagers/webhooks.js';
import { backends, type Backend } from '../support/backends.js';
import { eventually, sleep } from '../support/poll.js';
import { appendPayments } from './publisher-contract.js';

/**
 * Webhooks out's runtime on each SQL backend (issue 22): the fan-out makes one delivery per
 * endpoint and event however often it runs over the same events, a restart loses and repeats
 * nothing, and senders side by side (two instances) never send one delivery twice.
 */
const TENANT = 'tenant-test';
const schedule: RetrySchedule = { initialMs: 10, maxMs: 50, windowMs: 60_000 };
/** The deliveries of `endpointId` made from `events` (told as the tenant's), for an endpoint registered before them. */
const madeFor = (events: readonly RecordedEvent[], endpointId: string, tenantId: string) =>
  deliveriesFor(
    events.map((e) => ({ ...e, metadata: { ...e.metadata, tenantId } })),
    [{ id: endpointId, tenantId, eventTypes: ['*'], createdAt: new Date(0) }],
    DEFAULT_INTEGRATION_OPTIONS,
    new Date(),
    schedule.windowMs,
  );

/** An endpoint's sender that keeps what it was sent (the HTTP sender has tests of its own). */
function recordingSender(delayMs = 0): WebhookSender & { readonly sent: WebhookRequest[] } {
  const sent: WebhookRequest[] = [];
  return {
    sent,
    async send(request) {
      if (delayMs > 0) await sleep(delayMs);
      sent.push(request);
      return { statusCode: 200, excerpt: '' };
    },
  };
}

for (const backend of backends()) {
  describe(`the webhook runtime on ${backend.name}`, () => {
    let db: Backend;
    let webhooks: WebhookStore;
    beforeAll(async () => {
      db = await backend.open();
      webhooks = createSqlWebhookStore(db.sql);
    });
    afterAll(async () => {
      await db.close();
    });

    const endpoint = async (tenantId = TENANT, eventTypes = ['*']) => {
      const id = randomUUID();
      const created = await webhooks.createEndpoint(
        { id, tenantId, url: `https://hooks.example.com/${id}`, eventTypes, description: null, status: 'enabled', createdBy: 'admin-1', createdAt: new Date() },
        newWebhookSecret(),
        16,
      );
      expect(created).toBe(true);
      return id;
    };
    const run = (sender: WebhookSender, overrides: Partial<Parameters<typeof startWebhooks>[0]> = {}): WebhookRuntime =>
      startWebhooks({
        store: db.store,
        webhooks,
        sender,
        integration: DEFAULT_INTEGRATION_OPTIONS,
        schedule,
        pollMs: 20,
        concurrency: 8,
        // Above the slots: two instances side by side compete for one endpoint's deliveries.
        perEndpoint: 64,
        timeoutMs: 1_000,
        retentionMs: 86_400_000,
        subscription: { idleWaitMs: 20, retryInitialMs: 5, retryMaxMs: 20, standbyRetryMs: 20, batchSize: 7 },
        ...overrides,
      });
    const deliveryCount = async (endpointId: string) =>
      Number((await db.sql.query<{ n: string }>('SELECT count(*) AS n FROM tessera_webhook_deliveries WHERE endpoint_id = $1', [endpointId])).rows[0]!.n);

    it('stopped and started again, delivers every event to every endpoint at least once, and stores each delivery once', async () => {
      const [all, completedOnly, otherTenant] = [await endpoint(), await endpoint(TENANT, ['com.tessera.payment.completed']), await endpoint('tenant-other')];
      const expected = await appendPayments(db.store, 6, 9);
      const eventIds = new Set([...expected.values()].flat());
      const first = recordingSender(5);
      const runtime = run(first);
      await eventually(() => (first.sent.length >= 20 ? true : undefined), { timeoutMs: 10_000 });
      await runtime.stop();

      const second = recordingSender();
      const restarted = run(second);
      const received = () => [...first.sent, ...second.sent].map((request) => ({ url: request.url, event: JSON.parse(request.body) as CloudEvent }));
      const of = (id: string) => received().filter((r) => r.url.endsWith(id));
      await eventually(() => (new Set(of(all).map((r) => r.event.id)).size === eventIds.size ? true : undefined), { timeoutMs: 15_000 });
      await eventually(async () => ((await webhooks.counts()).pending === 0 ? true : undefined), { timeoutMs: 10_000 });
      await restarted.stop();

      // 54 events: every one to the endpoint that wants all types, the 30 captures to the other, none to another tenant's.
      expect(await deliveryCount(all)).toBe(54);
      expect(await deliveryCount(completedOnly)).toBe(30);
      expect(await deliveryCount(otherTenant)).toBe(0);
      expect(new Set(of(completedOnly).map((r) => r.event.id)).size).toBe(30);
      expect(of(completedOnly).every((r) => r.event.type === 'com.tessera.payment.completed')).toBe(true);
      // A delivery is sent again only if it was in hand at the stop: at most one round (8) repeated.
      expect(of(all).length - 54).toBeLessThanOrEqual(8);
    });

    it('makes no second delivery when the fan-out handles the same events again (its checkpoint lost in a crash)', async () => {
      const id = await endpoint('tenant-again');
      const events = await db.store.readAll({ after: 'start', maxCount: 20 });
      const again = events.map((e) => ({ ...e, metadata: { ...e.metadata, tenantId: 'tenant-again' } }));
      const make = () => deliveriesFor(again, [{ id, tenantId: 'tenant-again', eventTypes: ['*'], createdAt: new Date(0) }], DEFAULT_INTEGRATION_OPTIONS, new Date(), schedule.windowMs);
      const added = await webhooks.enqueue(make());
      expect(added).toBeGreaterThan(0);
      expect(await webhooks.enqueue(make())).toBe(0);
      expect(await deliveryCount(id)).toBe(added);
      await webhooks.deleteEndpoint('tenant-again', id, new Date());
    });

    it('lets two senders side by side take each delivery once', async () => {
      const id = await endpoint('tenant-pair');
      const events = (await db.store.readAll({ after: 'start', maxCount: 200 })).map((e) => ({ ...e, metadata: { ...e.metadata, tenantId: 'tenant-pair' } }));
      const made = deliveriesFor(events, [{ id, tenantId: 'tenant-pair', eventTypes: ['*'], createdAt: new Date(0) }], DEFAULT_INTEGRATION_OPTIONS, new Date(), schedule.windowMs);
      const [a, b] = [recordingSender(2), recordingSender(2)];
      const [one, two] = [run(a), run(b)];
      await webhooks.enqueue(made);
      one.wake();
      two.wake();
      const mine = () => [...a.sent, ...b.sent].filter((request) => request.url.endsWith(id));
      await eventually(() => (mine().length >= made.length ? true : undefined), { timeoutMs: 15_000 });
      await sleep(100);
      await Promise.all([one.stop(), two.stop()]);
      expect(mine()).toHaveLength(made.length);
      expect(a.sent.filter((r) => r.url.endsWith(id)).length).toBeGreaterThan(0);
      expect(b.sent.filter((r) => r.url.endsWith(id)).length).toBeGreaterThan(0);
    });

    it('refuses an attempt recorded by a worker whose claim was taken over', async () => {
      const id = await endpoint('tenant-stale');
      const [source] = await db.store.readAll({ after: 'start', maxCount: 1 });
      const [delivery] = deliveriesFor([{ ...source!, metadata: { ...source!.metadata, tenantId: 'tenant-stale' } }], [{ id, tenantId: 'tenant-stale', eventTypes: ['*'], createdAt: new Date(0) }], DEFAULT_INTEGRATION_OPTIONS, new Date(), schedule.windowMs);
      await webhooks.enqueue([delivery!]);
      const now = new Date();
      // The first worker's lease ends at once (it died); the second takes the delivery over.
      const [stale] = (await webhooks.claimDue(now, 100, now, randomUUID(), 8)).filter((d) => d.endpointId === id);
      const [fresh] = (await webhooks.claimDue(new Date(now.getTime() + 1), 100, new Date(now.getTime() + 60_000), randomUUID(), 8)).filter((d) => d.endpointId === id);
      expect(fresh?.id).toBe(stale?.id);
      const attempt = { attemptedAt: new Date(), statusCode: 200, error: null, responseExcerpt: null, durationMs: 1 };
      expect(await webhooks.recordAttempt(stale!, attempt, { status: 'delivered' })).toBe(false);
      expect(await webhooks.recordAttempt(fresh!, attempt, { status: 'delivered' })).toBe(true);
      expect((await webhooks.findDelivery('tenant-stale', fresh!.id))?.log).toHaveLength(1);
    });

    it('holds a tenant to its endpoint limit when registrations race', async () => {
      const tenant = `tenant-race-${randomUUID()}`;
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          webhooks.createEndpoint(
            { id: randomUUID(), tenantId: tenant, url: 'https://hooks.example.com/x', eventTypes: ['*'], description: null, status: 'enabled', createdBy: 'a', createdAt: new Date() },
            newWebhookSecret(),
            3,
          ),
        ),
      );
      expect(results.filter(Boolean)).toHaveLength(3);
      expect(await webhooks.listEndpoints(tenant)).toHaveLength(3);
    });

    it('keeps a slow endpoint to its share of the slots: the others are delivered meanwhile', async () => {
      const [slow, fast] = [await endpoint('tenant-slow'), await endpoint('tenant-fast')];
      const events = await db.store.readAll({ after: 'start', maxCount: 20 });
      let inFlightSlow = 0;
      let mostSlow = 0;
      const fastSent: string[] = [];
      const sender: WebhookSender = {
        async send(request, signal) {
          if (request.url.endsWith(slow)) {
            inFlightSlow += 1;
            mostSlow = Math.max(mostSlow, inFlightSlow);
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, 5_000);
              signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
            });
            inFlightSlow -= 1;
            if (signal?.aborted) throw new Error('stopped');
          } else fastSent.push(request.url);
          return { statusCode: 200, excerpt: '' };
        },
      };
      const runtime = run(sender, { perEndpoint: 2, timeoutMs: 10_000 });
      await webhooks.enqueue(madeFor(events, slow, 'tenant-slow'));
      await webhooks.enqueue(madeFor(events, fast, 'tenant-fast'));
      runtime.wake();
      const started = Date.now();
      await eventually(() => (fastSent.filter((url) => url.endsWith(fast)).length >= events.length ? true : undefined), { timeoutMs: 4_000 });
      expect(Date.now() - started).toBeLessThan(4_000);
      expect(mostSlow).toBeLessThanOrEqual(2);
      await runtime.stop();
      await webhooks.deleteEndpoint('tenant-slow', slow, new Date());
    });

    it('delivers and logs an attempt whose answer holds a NUL byte or a lone surrogate', async () => {
      const id = await endpoint('tenant-nul');
      const [source] = await db.store.readAll({ after: 'start', maxCount: 1 });
      await webhooks.enqueue(madeFor([source!], id, 'tenant-nul'));
      let sent = 0;
      const runtime = run({
        send() {
          sent += 1;
          return Promise.resolve({ statusCode: 200, excerpt: 'ok\u0000\uD800!' });
        },
      });
      runtime.wake();
      const [made] = madeFor([source!], id, 'tenant-nul');
      const delivered = await eventually(async () => {
        const found = await webhooks.findDelivery('tenant-nul', made!.id);
        return found?.status === 'delivered' ? found : undefined;
      });
      await runtime.stop();
      expect(sent).toBe(1);
      expect(delivered.log).toEqual([expect.objectContaining({ attempt: 1, statusCode: 200, responseExcerpt: 'ok\uFFFD!' })]);
    });

    it('sends a new endpoint only what happens after it was registered', () => {
      const at = new Date('2026-12-07T12:00:00Z');
      const before = { id: randomUUID(), type: 'PaymentCaptured', streamId: 'payment-x', revision: 0, position: { commit: 1n, index: 0 }, recordedAt: new Date(at.getTime() - 1), metadata: { tenantId: TENANT, occurredAt: at.toISOString() }, data: { paymentId: 'x', venueId: 'v', eventId: 'e', userId: 'u', currency: 'USD', amount: 100 } } as unknown as RecordedEvent;
      const after = { ...before, id: randomUUID(), recordedAt: at } as RecordedEvent;
      const made = deliveriesFor([before, after], [{ id: randomUUID(), tenantId: TENANT, eventTypes: ['*'], createdAt: at }], DEFAULT_INTEGRATION_OPTIONS, at, schedule.windowMs);
      expect(made.map((d) => d.eventId)).toEqual([after.id]);
    });

    it('ends what no attempt will: a deleted endpoint\'s pending deliveries are cancelled, a disabled one\'s past their window dead', async () => {
      const [deleted, disabled] = [await endpoint('tenant-sweep'), await endpoint('tenant-sweep')];
      const events = await db.store.readAll({ after: 'start', maxCount: 3 });
      await webhooks.enqueue(madeFor(events, deleted, 'tenant-sweep'));
      await webhooks.enqueue(madeFor(events, disabled, 'tenant-sweep').map((d) => ({ ...d, giveUpAt: new Date(Date.now() - 1) })));
      await webhooks.updateEndpoint('tenant-sweep', disabled, { status: 'disabled' }, new Date());
      // The delete's own cancel missed them (they were written as it ran): the sweep ends them.
      await db.sql.query(`UPDATE tessera_webhook_endpoints SET status = 'deleted' WHERE id = $1`, [deleted]);
      expect(await webhooks.sweep(new Date())).toEqual({ cancelled: 3, dead: 3 });
      const statuses = await webhooks.listDeliveries('tenant-sweep', { limit: 10 });
      expect(statuses.filter((d) => d.endpointId === deleted).map((d) => d.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
      expect(statuses.filter((d) => d.endpointId === disabled).map((d) => d.status)).toEqual(['dead', 'dead', 'dead']);
    });

    it('redelivers with the backoff from its start, and refuses while an attempt is in flight', async () => {
      const id = await endpoint('tenant-redeliver');
      const [source] = await db.store.readAll({ after: 'start', maxCount: 1 });
      const [made] = madeFor([source!], id, 'tenant-redeliver');
      await webhooks.enqueue([made!]);
      const attempt = { attemptedAt: new Date(), statusCode: 500, error: 'the endpoint answered 500', responseExcerpt: null, durationMs: 1 };
      for (let i = 0; i < 5; i += 1) {
        const [claimed] = (await webhooks.claimDue(new Date(Date.now() + 86_400_000), 100, new Date(Date.now() + 86_400_000 + 60_000), randomUUID(), 8)).filter((d) => d.id === made!.id);
        await webhooks.recordAttempt(claimed!, attempt, i < 4 ? { status: 'pending', nextAttemptAt: new Date() } : { status: 'dead' });
      }
      const now = new Date();
      const back = await webhooks.redeliver('tenant-redeliver', made!.id, now, new Date(now.getTime() + schedule.windowMs));
      expect(back).toMatchObject({ status: 'pending', attempts: 5 });
      const [claimed] = (await webhooks.claimDue(new Date(), 100, new Date(Date.now() + 60_000), randomUUID(), 8)).filter((d) => d.id === made!.id);
      expect(claimed).toMatchObject({ attempts: 5, windowAttempts: 0 });
      expect(await webhooks.redeliver('tenant-redeliver', made!.id, new Date(), new Date(Date.now() + schedule.windowMs))).toBe('in_flight');
    });
  });
}
