import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheAggregates, createAggregateCache, type AggregateCache } from '../../src/commands/aggregate-cache.js';
import type { CommandContext } from '../../src/commands/handle-command.js';
import { riskAssessor, sendRiskPolicyCommand, type AssessInput, type RiskAssessor, type RiskFeatureStore } from '../../src/commands/risk.js';
import type { PgliteSqlClient } from '../../src/db/sql-client.js';
import type { EventStore } from '../../src/eventstore/event-store.js';
import { createSharedTail, type SharedTail } from '../../src/eventstore/shared-tail.js';
import { createSqlRiskFeatureStore } from '../../src/gateways/risk-features-sql.js';
import { sqlEventStore } from '../../src/runtime.js';
import { freshPglite } from '../support/databases.js';
import { eventually } from '../support/poll.js';

/**
 * The tenant's risk policy as the assessor reads it, wired as src/composition.ts wires it: through
 * the aggregate cache a shared tail keeps fresh. A tenant without a policy must not cost a read of
 * its (empty) stream per purchase, and a policy written later, by this process or another, must
 * apply as soon as the tail has read it.
 */
describe('the risk assessor reads the tenant policy through the aggregate cache', () => {
  let sql: PgliteSqlClient;
  let store: EventStore;
  let tail: SharedTail;
  let cache: AggregateCache;
  let assessor: RiskAssessor;
  let policyReads: number;

  beforeEach(async () => {
    sql = await freshPglite();
    const raw = sqlEventStore(sql);
    policyReads = 0;
    const counted: EventStore = {
      ...raw,
      readStream: (streamId, options) => {
        if (streamId.startsWith('risk-policy-')) policyReads++;
        return raw.readStream(streamId, options);
      },
    };
    cache = createAggregateCache();
    tail = createSharedTail(counted, { idleWaitMs: 10, onEvents: (events) => cache.observe(events) });
    cacheAggregates(tail.store, cache);
    await tail.start();
    cache.setActive(true);
    store = tail.store;
    const features: RiskFeatureStore = createSqlRiskFeatureStore(sql);
    assessor = riskAssessor({ store, features, model: { version: 'test', predict: () => 0.01 } });
  });
  afterEach(async () => {
    await tail.stop();
    await sql.close();
  });

  const context = (tenantId: string): CommandContext => ({ commandId: randomUUID(), now: new Date(), actor: 'user:u', tenantId, correlationId: randomUUID() });
  const input = (userId: string): AssessInput => ({
    paymentId: randomUUID(),
    subject: 'purchase',
    userId,
    venueId: 'venue-1',
    eventId: 'event-1',
    amount: 5_000,
    tickets: 1,
    paymentMethodId: `pm_card_visa--${userId}`,
    signals: { ip: '203.0.113.7', deviceFingerprint: `dev-${userId}` },
  });
  const block = (userId: string) =>
    ({ type: 'AddRiskListEntry', data: { list: 'block', kind: 'user', value: userId, reason: 'test', addedBy: 'admin:a', addedAt: new Date().toISOString() } }) as const;

  it('reads the empty policy stream of a tenant without a policy once, not per purchase', async () => {
    for (let i = 0; i < 5; i++) expect((await assessor.assess(input(`buyer-${i}`), context('quiet'))).assessment.decision).toBe('approve');
    expect(policyReads).toBe(1);
  });

  it('applies a policy this process writes later', async () => {
    await assessor.assess(input('early'), context('t1'));
    await sendRiskPolicyCommand(store, 't1', block('mallory'), context('t1'));
    const assessment = await eventually(async () => {
      const { assessment: found } = await assessor.assess(input('mallory'), context('t1'));
      return found.rules.some((rule) => rule.rule === 'blocked_user') ? found : undefined;
    });
    expect(assessment.rules.map((rule) => rule.rule)).toEqual(['blocked_user']);
  });

  it('applies a policy another process writes later, once the tail has read it', async () => {
    await assessor.assess(input('early'), context('t2'));
    // Another instance: the same database, its own store, no cache of ours.
    await sendRiskPolicyCommand(sqlEventStore(sql), 't2', block('mallory'), context('t2'));
    const assessment = await eventually(async () => {
      const { assessment: found } = await assessor.assess(input('mallory'), context('t2'));
      return found.rules.some((rule) => rule.rule === 'blocked_user') ? found : undefined;
    });
    expect(assessment.rules.map((rule) => rule.rule)).toEqual(['blocked_user']);
  });
});
