import { quotePurchase } from '../../src/domain/purchase-quote.js';
import type { PaymentEvent, PaymentRequested } from '../../src/events/payment.js';

export const PAYMENT_ID = '6f1c0e3a-1d2b-4c5d-8e9f-0a1b2c3d4e5f';
export const REF = 'pi_sandbox_1';
export const REQUESTED_AT = '2026-01-01T12:00:00.000Z';
export const EXPIRES_AT = '2026-01-01T12:15:00.000Z';

export const quote = quotePurchase({
  ticketPrice: 10_000,
  ticketCount: 1,
  venueAddress: { city: 'Nashville', state: 'TN' },
  trailingVolume: 5_000_000,
  chain: 'polygon',
});

export const TOTAL = quote.total;

export const requestData: PaymentRequested['data'] = {
  paymentId: PAYMENT_ID,
  userId: 'buyer-1',
  venueId: 'venue-1',
  eventId: 'event-1',
  tickets: [{ ticketTypeId: 'ga', quantity: 1, unitPrice: 10_000, priceSource: 'catalogue' }],
  quote,
  paymentMethod: { type: 'card', paymentMethodId: 'pm_card_visa' },
  captureMode: 'automatic',
  requestedAt: REQUESTED_AT,
  expiresAt: EXPIRES_AT,
};

export const requested: PaymentEvent = { type: 'PaymentRequested', data: requestData };
export const submitted: PaymentEvent = {
  type: 'PaymentSubmitted',
  data: { paymentId: PAYMENT_ID, gateway: 'sandbox', operation: 'charge', idempotencyKey: 'key-1', amount: TOTAL },
};
export const actionRequired: PaymentEvent = {
  type: 'PaymentActionRequired',
  data: { paymentId: PAYMENT_ID, gatewayReference: REF, nextAction: { type: 'authenticate' } },
};
export const authorized: PaymentEvent = {
  type: 'PaymentAuthorized',
  data: { paymentId: PAYMENT_ID, amount: TOTAL, gateway: 'sandbox', gatewayReference: REF },
};
export const captured: PaymentEvent = {
  type: 'PaymentCaptured',
  data: {
    paymentId: PAYMENT_ID,
    venueId: 'venue-1',
    userId: 'buyer-1',
    eventId: 'event-1',
    currency: 'USD',
    amount: TOTAL,
    ticketPrice: 10_000,
    gateway: 'sandbox',
    gatewayReference: REF,
    processingCost: quote.processingCost.amount,
    quote,
  },
};
export const expired: PaymentEvent = { type: 'PaymentExpired', data: { paymentId: PAYMENT_ID, expiresAt: EXPIRES_AT, expiredAt: EXPIRES_AT } };

export const paid: readonly PaymentEvent[] = [requested, submitted, authorized, captured];
