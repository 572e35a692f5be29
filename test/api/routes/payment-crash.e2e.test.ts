import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { IdempotencyStore } from '../../../src/api/idempotency/idempotency-store.js';
import { paymentStreamId, type PaymentSubmitted } from '../../../src/events/payment.js';
import type { PaymentGateway } from '../../../src/gateways/gateway.js';
import { createSandboxGateway, type SandboxGateway } from '../../../src/gateways/sandbox.js';
import type { EdgeStores } from '../../../src/runtime.js';
import { openTestStorage, testApp, type TestApp, type TestStorage } from '../../support/app.js';
import { authAs, purchase, sqlBackends, venueAt, type ProcessAnswer } from '../../support/payments-http.js';
import { eventually } from '../../support/poll.js';

class SimulatedCrash extends Error {}

/**
 * The sandbox, in a process that dies right after the gateway took a charge and before the
 * answer is appended: the charge hangs until `kill()`, after which nothing this process does
 * reaches the gateway again.
 */
function dyingAfterCharge(inner: SandboxGateway) {
  let killed = false;
  let die!: (error: Error) => void;
  const death = new Promise<never>((_resolve, reject) => {
    die = reject;
  });
  death.catch(() => undefined);
  let charged!: () => void;
  const chargedOnce = new Promise<void>((resolve) => {
    charged = resolve;
  });
  const alive = <A, R>(call: (request: A) => Promise<R>) => (request: A) =>
    killed ? Promise.reject(new SimulatedCrash('process is dead')) : call(request);
  const gateway: PaymentGateway = {
    name: inner.name,
    authorize: alive((r) => inner.authorize(r)),
    capture: alive((r) => inner.capture(r)),
    void: alive((r) => inner.void(r)),
    refund: alive((r) => inner.refund(r)),
    charge: alive(async (request) => {
      await inner.charge(request);
      charged();
      return death;
    }),
  };
  return {
    gateway,
    chargedOnce,
    kill() {
      killed = true;
      die(new SimulatedCrash('killed after the gateway call, before the append'));
    },
  };
}

/** The edge's stores as a process that can be cut off from them (it died), e.g. its lease renewals. */
function severable(edge: EdgeStores) {
  let cut = false;
  const guard =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    (...args: A) =>
      cut ? Promise.reject(new Error('this process is dead')) : call(...args);
  const store = edge.idempotency;
  const idempotency: IdempotencyStore = {
    kind: store.kind,
    claim: guard((r) => store.claim(r)),
    renew: guard((id, lease, ms) => store.renew(id, lease, ms)),
    complete: guard((id, lease, response, ttl) => store.complete(id, lease, response, ttl)),
    release: guard((id, lease) => store.release(id, lease)),
    purgeExpired: guard(() => store.purgeExpired()),
  };
  return {
    edge: { ...edge, idempotency },
    cut() {
      cut = true;
    },
  };
}

describe.each(sqlBackends())('a purchase retried after its process died mid-charge (%s)', (backend) => {
  let shared: TestStorage;
  const apps: TestApp[] = [];

  beforeEach(async () => {
    shared = await openTestStorage(backend);
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    await shared.cleanup();
  });

  it('charges the sandbox exactly once and answers the retry with the completed payment', async () => {
    const sandbox = createSandboxGateway(shared.storage.sql);
    const dying = dyingAfterCharge(sandbox);
    let edge!: ReturnType<typeof severable>;
    const first = await testApp({
      shared,
      background: true,
      gateway: dying.gateway,
      edge: (stores) => (edge = severable(stores)).edge,
      env: { IDEMPOTENCY_LEASE_MS: '300', PAYMENT_WAIT_MS: '20000' },
    });
    apps.push(first);
    const venueId = await venueAt(first, { tierOverride: 'pro' });
    const key = randomUUID();
    const headers = await authAs();

    // The client's request reaches the first process, which takes the charge and dies.
    const lost = purchase(first, venueId, { key, headers });
    await dying.chargedOnce;
    edge.cut();
    const stopping = first.tessera.stop();
    dying.kill();
    await stopping;

    // A new process on the same storage; the client retries with the same key once the dead
    // process's lease on it has run out.
    const second = await testApp({ shared, background: true });
    apps.push(second);
    const retry = await eventually(
      async () => {
        const response = await purchase(second, venueId, { key, headers });
        return response.statusCode === 409 ? undefined : response;
      },
      { timeoutMs: 15_000, everyMs: 100 },
    );
    expect(retry.statusCode).toBe(200);
    const { transaction, fees } = retry.json<ProcessAnswer>();
    expect(transaction.status).toBe('completed');
    expect(fees.total).toBe(11_765);

    const events = await shared.storage.eventStore.readStream(paymentStreamId(transaction.id));
    const types = events.map((e) => e.type);
    expect(types.filter((type) => type === 'PaymentRequested')).toHaveLength(1);
    expect(types.filter((type) => type === 'PaymentCaptured')).toHaveLength(1);
    const submitted = events.find((e) => e.type === 'PaymentSubmitted')!.data as PaymentSubmitted['data'];
    expect(await sandbox.callsFor(submitted.idempotencyKey)).toEqual({ calls: 2, executed: true });
    const intents = await sandbox.intentsFor(transaction.id);
    expect(intents).toHaveLength(1);
    expect(intents[0]).toMatchObject({ captured: 11_765 });

    // The retry took the dead process's key over (its lease ran out) rather than finding an answer.
    const metrics = await second.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('http_idempotency_outcomes_total{outcome="taken_over"} 1');

    const again = await purchase(second, venueId, { key, headers });
    expect(again.body).toBe(retry.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    // The dead process's own answer never reaches anyone; let its request finish.
    await lost;
  });
});
