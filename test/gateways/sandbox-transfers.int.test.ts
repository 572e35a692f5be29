import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSandboxGateway } from '../../src/gateways/sandbox.js';
import { backends, type Backend } from '../support/backends.js';

const transfer = (overrides: Partial<{ amount: number; destination: string; instant: boolean }> = {}) => ({
  idempotencyKey: randomUUID(),
  amount: 45_000,
  currency: 'USD',
  destination: 'acct_venue',
  instant: false,
  metadata: { payoutId: randomUUID() },
  ...overrides,
});

for (const backend of backends()) {
  describe(`sandbox transfers on ${backend.name}`, () => {
    let db: Backend;
    beforeAll(async () => {
      db = await backend.open();
    });
    afterAll(() => db.close());

    it('pays a transfer once per key, answering a retry from its record', async () => {
      const sandbox = createSandboxGateway(db.sql);
      const request = transfer();
      const first = await sandbox.transfer(request);
      expect(first).toMatchObject({ kind: 'paid', amount: 45_000, reference: expect.stringMatching(/^tr_sandbox_/) as unknown });
      const again = await Promise.all([sandbox.transfer(request), sandbox.transfer(request)]);
      expect(again).toEqual([first, first]);
      expect(await sandbox.callsFor(request.idempotencyKey)).toEqual({ calls: 3, executed: true });
    });

    it('names instant payouts apart and refuses a destination that cannot receive', async () => {
      const sandbox = createSandboxGateway(db.sql);
      expect(await sandbox.transfer(transfer({ instant: true }))).toMatchObject({ kind: 'paid', reference: expect.stringMatching(/^po_instant_sandbox_/) as unknown });
      expect(await sandbox.transfer(transfer({ destination: 'acct_sandbox_fails' }))).toMatchObject({ kind: 'failed', code: 'account_invalid' });
      expect(await sandbox.transfer(transfer({ amount: 0 }))).toMatchObject({ kind: 'failed', code: 'amount_invalid' });
    });
  });
}
