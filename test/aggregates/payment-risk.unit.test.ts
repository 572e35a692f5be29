import { describe, expect, it } from 'vitest';
import { paymentDecider, type PaymentCommand } from '../../src/aggregates/payment.js';
import type { RiskDecision } from '../../src/domain/risk.js';
import type { PaymentEvent, RiskAssessmentRecord } from '../../src/events/payment.js';
import { DeciderSpecification } from '../support/decider.js';
import { authorized, PAYMENT_ID, requestData, requested, TOTAL } from './payment-fixtures.js';

const { given } = DeciderSpecification.for(paymentDecider);

const assessment = (decision: RiskDecision, declineCode?: 'FRAUD_DETECTED' | 'VELOCITY_LIMIT_EXCEEDED'): RiskAssessmentRecord => ({
  assessmentId: PAYMENT_ID,
  subject: 'purchase',
  userId: 'buyer-1',
  venueId: 'venue-1',
  eventId: 'event-1',
  amount: TOTAL,
  features: {
    amount: TOTAL, ticketCount: 1, userAverageAmount: 0, userPurchaseCount: 0, accountAgeDays: 0, userPurchasesHour: 1, userPurchasesDay: 1,
    userPurchasesWeek: 1, ipPurchasesMinute: 1, ipPurchasesHour: 1, cardPurchasesDay: 1, cardUsers: 1, eventTicketsByUser: 1,
    eventPurchasesTenMinutes: 1, hasDevice: true, newDevice: true, deviceUsers: 1, userDevices: 1, botScore: 0.1, hasSession: true, resaleMarkup: 0, hourOfDay: 12,
  },
  rules: [],
  score: decision === 'approve' ? 10 : decision === 'challenge' ? 55 : decision === 'review' ? 75 : 95,
  level: 'LOW',
  decision,
  ...(declineCode ? { declineCode } : {}),
  botScore: 0.1,
  scalperScore: 0,
  modelVersion: 'fraud-v1',
  modelScore: 0.1,
  latencyMs: 1,
  assessedAt: requestData.requestedAt,
});

const request = (decision: RiskDecision, declineCode?: 'FRAUD_DETECTED' | 'VELOCITY_LIMIT_EXCEEDED'): PaymentCommand => ({
  type: 'RequestPayment',
  data: requestData,
  assessment: assessment(decision, declineCode),
});
const assessed = (decision: RiskDecision): PaymentEvent => ({ type: 'PaymentRiskAssessed', data: { paymentId: PAYMENT_ID, ...assessment(decision) } });
const submit: PaymentCommand = { type: 'SubmitPayment', data: { gateway: 'sandbox', operation: 'charge', idempotencyKey: 'key-1' } };
const review = (verdict: 'approve' | 'decline'): PaymentCommand => ({
  type: 'ReviewPayment',
  data: { verdict, reviewedBy: 'admin:analyst-1', now: '2026-01-01T12:05:00.000Z' },
});
const reviewed = (verdict: 'approve' | 'decline', reviewedBy = 'admin:analyst-1', reviewedAt = '2026-01-01T12:05:00.000Z'): PaymentEvent => ({
  type: 'PaymentReviewed',
  data: { paymentId: PAYMENT_ID, verdict, reviewedBy, reviewedAt },
});
const heldAndAuthorized = [requested, assessed('review'), { type: 'PaymentSubmitted', data: { paymentId: PAYMENT_ID, gateway: 'sandbox', operation: 'authorize', idempotencyKey: 'key-1', amount: TOTAL } }, authorized] as PaymentEvent[];

describe('Payment decider: the risk assessment', () => {
  it('records the assessment with the request, and submits an approved purchase as asked', () => {
    given([]).when(request('approve')).then([requested, assessed('approve')]);
    expect(given([requested, assessed('approve')]).when(submit).decided()).toMatchObject([{ type: 'PaymentSubmitted', data: { operation: 'charge' } }]);
  });

  it('fails a declined purchase in the same append, so nothing is ever submitted', () => {
    const events = given([]).when(request('decline', 'VELOCITY_LIMIT_EXCEEDED')).decided();
    expect(events.map((e) => e.type)).toEqual(['PaymentRequested', 'PaymentRiskAssessed', 'PaymentFailed']);
    expect(events[2]).toMatchObject({ data: { code: 'risk_declined', declineCode: 'VELOCITY_LIMIT_EXCEEDED', gateway: 'risk' } });
    given(events).when(submit).thenNothing();
  });

  it('asks for 3-D Secure when the purchase is challenged', () => {
    expect(given([requested, assessed('challenge')]).when(submit).decided()).toMatchObject([{ type: 'PaymentSubmitted', data: { threeDSecure: 'required' } }]);
  });

  it('only authorizes a purchase held for review, and counts it settled once the hold is in place', () => {
    expect(given([requested, assessed('review')]).when(submit).decided()).toMatchObject([{ type: 'PaymentSubmitted', data: { operation: 'authorize' } }]);
    expect(given(heldAndAuthorized).state()).toMatchObject({ status: 'processing', review: 'pending', authorized: TOTAL });
  });
});

describe('Payment decider: an analyst reviews a held payment', () => {
  it('refuses a verdict before the card is authorized', () => {
    given([requested, assessed('review')]).when(review('approve')).thenRefused('PAYMENT_NOT_REVIEWABLE');
  });

  it('approves once: the same verdict again writes nothing, the other is refused', () => {
    given(heldAndAuthorized).when(review('approve')).then([reviewed('approve')]);
    given([...heldAndAuthorized, reviewed('approve')]).when(review('approve')).thenNothing();
    given([...heldAndAuthorized, reviewed('approve')]).when(review('decline')).thenRefused('PAYMENT_NOT_REVIEWABLE');
  });

  it('declining cancels the payment, so its hold is voided', () => {
    given(heldAndAuthorized)
      .when(review('decline'))
      .then([reviewed('decline'), { type: 'PaymentCancelled', data: { paymentId: PAYMENT_ID, reason: 'declined on review' } }]);
  });

  it('refuses a review of a payment that was never held', () => {
    given([requested, assessed('approve')]).when(review('approve')).thenRefused('PAYMENT_NOT_REVIEWABLE');
  });

  it('expires a held payment nobody decided by its deadline, and does nothing once decided', () => {
    const expire: PaymentCommand = { type: 'ExpireReview', data: { now: '2026-01-02T12:00:00.000Z', dueAt: '2026-01-02T12:00:00.000Z' } };
    given(heldAndAuthorized)
      .when(expire)
      .then([
        reviewed('decline', 'system:review-deadline', '2026-01-02T12:00:00.000Z'),
        { type: 'PaymentExpired', data: { paymentId: PAYMENT_ID, expiresAt: '2026-01-02T12:00:00.000Z', expiredAt: '2026-01-02T12:00:00.000Z' } },
      ]);
    given([...heldAndAuthorized, reviewed('approve')]).when(expire).thenNothing();
  });
});
