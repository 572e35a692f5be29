import { describe, expect, it } from 'vitest';
import { paymentDecider, type PaymentCommand } from '../../src/aggregates/payment.js';
import { refundPolicyDecider } from '../../src/aggregates/refund-policy.js';
import { DEFAULT_REFUND_TIERS, refundShareAt } from '../../src/domain/refund-policy.js';
import { DeciderSpecification } from '../support/decider.js';
import { paid, TOTAL } from '../aggregates/payment-fixtures.js';

const refundPolicy = DeciderSpecification.for(refundPolicyDecider);
const payment = DeciderSpecification.for(paymentDecider);

const START = new Date('2026-06-10T20:00:00Z');
const hoursBefore = (hours: number) => new Date(START.getTime() - hours * 3_600_000);

describe('refund tiers', () => {
  it('gives everything back until 7 days before, half until 48 hours, nothing after', () => {
    expect(refundShareAt(DEFAULT_REFUND_TIERS, START, hoursBefore(200))).toBe(10_000);
    expect(refundShareAt(DEFAULT_REFUND_TIERS, START, hoursBefore(168))).toBe(10_000);
    expect(refundShareAt(DEFAULT_REFUND_TIERS, START, hoursBefore(167.9))).toBe(5_000);
    expect(refundShareAt(DEFAULT_REFUND_TIERS, START, hoursBefore(48))).toBe(5_000);
    expect(refundShareAt(DEFAULT_REFUND_TIERS, START, hoursBefore(47))).toBe(0);
    expect(refundShareAt(DEFAULT_REFUND_TIERS, START, hoursBefore(-5))).toBe(0);
  });

  it('refuses two tiers starting at the same hour, and writes nothing for a policy set again', () => {
    const set = (venueId: string, tiers = [{ hoursBefore: 1, refundBps: 1 }]) =>
      ({ type: 'SetRefundPolicy', data: { scope: 'event', scopeId: 'e', venueId, startsAt: START.toISOString(), tiers } }) as const;
    refundPolicy.given([]).when(set('v', [{ hoursBefore: 1, refundBps: 1 }, { hoursBefore: 1, refundBps: 2 }])).thenRefused('VALIDATION_ERROR');
    const saved = refundPolicy.given([]).after(set('v'));
    refundPolicy.given(saved).when(set('v')).thenNothing();
  });
});

describe('Payment decider: a buyer refund under a policy', () => {
  const givenPaid = payment.given(paid);
  const refund = (refundBps: number, amount?: number, kind: 'user' | 'admin' = 'user'): PaymentCommand => ({
    type: 'RequestRefund',
    data: { refundId: 'r1', reason: 'cannot go', requestedBy: { kind, userId: kind === 'user' ? 'buyer-1' : 'admin-1' }, policy: { refundBps, source: 'default' }, ...(amount === undefined ? {} : { amount }) },
  });
  const half = Math.round(TOTAL / 2);

  it('refunds the share the policy allows when no amount is named', () => {
    expect(givenPaid.when(refund(5_000)).decided()[0]).toMatchObject({ type: 'RefundRequested', data: { amount: half } });
  });

  it('refuses more than the policy allows, naming what is refundable', () => {
    givenPaid.when(refund(5_000, half + 1)).thenRefused('REFUND_POLICY_EXCEEDED', { details: { expose: { refundable: half, refundPercent: 50 } } });
    givenPaid.when(refund(0)).thenRefused('REFUND_POLICY_EXCEEDED');
  });

  it('does not bind an admin', () => {
    expect(givenPaid.when(refund(0, undefined, 'admin')).decided()[0]).toMatchObject({ data: { amount: TOTAL } });
  });
});
