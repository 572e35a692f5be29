import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TransientGatewayError } from '../../src/gateways/gateway.js';
import { createSandboxGateway } from '../../src/gateways/sandbox.js';
import { backends, type Backend } from '../support/backends.js';

const charge = (paymentMethodId: string, amount = 1_000) => ({
  idempotencyKey: randomUUID(),
  amount,
  currency: 'USD',
  paymentMethodId,
  metadata: { paymentId: randomUUID() },
});

for (const backend of backends()) {
  describe(`sandbox gateway on ${backend.name}`, () => {
    let db: Backend;
    beforeAll(async () => {
      db = await backend.open();
    });
    afterAll(async () => {
      await db.close();
    });

    it('charges pm_card_visa and answers a retry with the same key from its record', async () => {
      const sandbox = createSandboxGateway(db.sql);
      const request = charge('pm_card_visa');
      const first = await sandbox.charge(request);
      expect(first).toMatchObject({ kind: 'succeeded', amount: 1_000 });
      expect(await sandbox.charge(request)).toEqual(first);
      expect(await sandbox.callsFor(request.idempotencyKey)).toEqual({ calls: 2, executed: true });
      expect(await sandbox.intentsFor(request.metadata.paymentId)).toHaveLength(1);
    });

    it('charges once when the same key arrives concurrently', async () => {
      const sandbox = createSandboxGateway(db.sql);
      const request = charge('pm_card_visa');
      const results = await Promise.all(Array.from({ length: 8 }, () => sandbox.charge(request)));
      for (const result of results) expect(result).toEqual(results[0]);
      expect(await sandbox.intentsFor(request.metadata.paymentId)).toHaveLength(1);
    });

    it('declines the test cards Stripe declines, with their codes', async () => {
      const sandbox = createSandboxGateway(db.sql);
      expect(await sandbox.charge(charge('pm_card_chargeDeclined'))).toMatchObject({ kind: 'declined', code: 'card_declined', declineCode: 'generic_decline' });
      expect(await sandbox.charge(charge('pm_card_chargeDeclinedExpiredCard'))).toMatchObject({ kind: 'declined', code: 'expired_card' });
      expect(await sandbox.charge(charge('pm_unknown'))).toMatchObject({ kind: 'declined', code: 'resource_missing' });
      expect(await sandbox.charge(charge('pm_card_authenticationRequired'))).toMatchObject({ kind: 'requires_action', nextAction: { type: 'authenticate' } });
    });

    it('authorizes, refuses to capture more than authorized, captures, and refunds within what was captured', async () => {
      const sandbox = createSandboxGateway(db.sql);
      const auth = await sandbox.authorize(charge('pm_card_visa', 5_000));
      if (auth.kind !== 'succeeded') throw new Error('expected an authorization');
      expect(await sandbox.capture({ idempotencyKey: randomUUID(), reference: auth.reference, amount: 5_001 })).toMatchObject({ kind: 'declined', code: 'amount_too_large' });
      expect(await sandbox.capture({ idempotencyKey: randomUUID(), reference: auth.reference, amount: 5_000 })).toMatchObject({ kind: 'succeeded' });
      const refund = (amount: number) => sandbox.refund({ idempotencyKey: randomUUID(), reference: auth.reference, amount, metadata: {} });
      expect(await refund(3_000)).toMatchObject({ kind: 'succeeded', amount: 3_000 });
      expect(await refund(2_001)).toMatchObject({ kind: 'failed', code: 'amount_too_large' });
      expect(await sandbox.void({ idempotencyKey: randomUUID(), reference: auth.reference })).toMatchObject({ kind: 'failed' });
    });

    it('voids an authorization hold', async () => {
      const sandbox = createSandboxGateway(db.sql);
      const request = charge('pm_card_visa');
      const auth = await sandbox.authorize(request);
      if (auth.kind !== 'succeeded') throw new Error('expected an authorization');
      expect(await sandbox.void({ idempotencyKey: randomUUID(), reference: auth.reference })).toEqual({ kind: 'voided', reference: auth.reference });
      expect((await sandbox.intentsFor(request.metadata.paymentId))[0]?.status).toBe('canceled');
    });

    it('injects transient failures before and after the effect, and a retry with the key never charges twice', async () => {
      const rolls = [0.1, 0.4, 0.9];
      const sandbox = createSandboxGateway(db.sql, { failureRate: 0.5, random: () => rolls.shift() ?? 0.9 });
      const request = charge('pm_card_visa');
      await expect(sandbox.charge(request)).rejects.toBeInstanceOf(TransientGatewayError);
      expect(await sandbox.callsFor(request.idempotencyKey)).toEqual({ calls: 0, executed: false });
      await expect(sandbox.charge(request)).rejects.toThrow('answer lost');
      expect(await sandbox.callsFor(request.idempotencyKey)).toEqual({ calls: 1, executed: true });
      expect(await sandbox.charge(request)).toMatchObject({ kind: 'succeeded' });
      expect(await sandbox.intentsFor(request.metadata.paymentId)).toHaveLength(1);
    });

    it('refuses an idempotency key reused for a different request', async () => {
      const sandbox = createSandboxGateway(db.sql);
      const request = charge('pm_card_visa');
      await sandbox.charge(request);
      await expect(sandbox.charge({ ...request, amount: 2 })).rejects.toThrow('different charge request');
    });
  });
}
