import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { VenueTier } from '../../src/domain/fees.js';
import { uuidV5 } from '../../src/domain/ids.js';
import type { PaymentState } from '../../src/aggregates/payment.js';
import { reachableBackends, signToken, type Backend, type TestApp } from './app.js';
import { NASHVILLE } from './payments.js';

/** The SQL backends (PGlite always, PostgreSQL with DATABASE_URL): payments run on either. */
export const sqlBackends = (): Backend[] => reachableBackends().filter((backend) => backend !== 'redis');

export const BUYER = 'buyer-1';

export const authAs = async (role: 'user' | 'admin' | 'venue_manager' = 'user', sub = role === 'admin' ? 'admin-1' : BUYER) => ({
  authorization: `Bearer ${await signToken({ role, sub })}`,
});

/** The event the helpers buy tickets to, and its ticket type at DEFAULT_PRICE. */
export const EVENT_ID = '6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b';
export const TICKET_TYPE_ID = 'c2f1f2a4-0c5e-4d37-9a0d-2f4f0d1c9b11';
export const DEFAULT_PRICE = 10_000;

/** The ticket type the helpers register for `price` (the default one at DEFAULT_PRICE). */
export const ticketTypeFor = (price: number): string => (price === DEFAULT_PRICE ? TICKET_TYPE_ID : uuidV5(`test-ticket-type:${price}`));

/**
 * Registers a Nashville venue through PUT (as an admin), with a ticket type of EVENT_ID at
 * DEFAULT_PRICE in its catalogue, and answers its id.
 */
export async function venueAt(t: TestApp, options: { tierOverride?: VenueTier; city?: string } = {}): Promise<string> {
  const venueId = randomUUID();
  const response = await t.app.inject({
    method: 'PUT',
    url: `/api/v1/venues/${venueId}`,
    headers: await authAs('admin'),
    payload: {
      name: 'Ryman Auditorium',
      address: { ...NASHVILLE, ...(options.city ? { city: options.city } : {}) },
      ...(options.tierOverride ? { tierOverride: options.tierOverride } : {}),
    },
  });
  if (response.statusCode !== 201) throw new Error(`venue setup failed: ${response.statusCode} ${response.body}`);
  await ticketTypeAt(t, venueId, DEFAULT_PRICE);
  return venueId;
}

/** Registers (as an admin) a ticket type of `eventId` at the venue priced `price`; answers its id. */
export async function ticketTypeAt(
  t: TestApp,
  venueId: string,
  price: number,
  options: { eventId?: string; ticketTypeId?: string; saleStartsAt?: string; saleEndsAt?: string } = {},
): Promise<string> {
  const ticketTypeId = options.ticketTypeId ?? ticketTypeFor(price);
  const response = await t.app.inject({
    method: 'PUT',
    url: `/api/v1/venues/${venueId}/events/${options.eventId ?? EVENT_ID}/ticket-types/${ticketTypeId}`,
    headers: await authAs('admin'),
    payload: {
      name: `General admission at ${price}`,
      price,
      ...(options.saleStartsAt ? { saleStartsAt: options.saleStartsAt } : {}),
      ...(options.saleEndsAt ? { saleEndsAt: options.saleEndsAt } : {}),
    },
  });
  if (response.statusCode >= 300) throw new Error(`ticket type setup failed: ${response.statusCode} ${response.body}`);
  return ticketTypeId;
}

export interface PurchaseOptions {
  readonly paymentMethodId?: string;
  /** The price of one ticket: the helpers buy the ticket type registered at it, and send it as the expected price. */
  readonly price?: number;
  readonly quantity?: number;
  readonly key?: string;
  readonly headers?: Record<string, string>;
}

export const purchaseBody = (venueId: string, options: PurchaseOptions = {}) => {
  const price = options.price ?? DEFAULT_PRICE;
  const ticketTypeId = Number.isSafeInteger(price) && price > 0 ? ticketTypeFor(price) : TICKET_TYPE_ID;
  return {
    venueId,
    eventId: EVENT_ID,
    tickets: [{ ticketTypeId, quantity: options.quantity ?? 1, price }],
    paymentMethod: { type: 'card', paymentMethodId: options.paymentMethodId ?? 'pm_card_visa' },
  };
};

/** Buys through the API; a price other than DEFAULT_PRICE has its ticket type registered first. */
export async function purchase(t: TestApp, venueId: string, options: PurchaseOptions = {}): Promise<LightMyRequestResponse> {
  const price = options.price ?? DEFAULT_PRICE;
  if (price !== DEFAULT_PRICE && Number.isSafeInteger(price) && price > 0) await ticketTypeAt(t, venueId, price);
  return t.app.inject({
    method: 'POST',
    url: '/api/v1/payments/process',
    headers: { ...(options.headers ?? (await authAs())), 'idempotency-key': options.key ?? randomUUID() },
    payload: purchaseBody(venueId, options),
  });
}

export interface ProcessAnswer {
  transaction: { id: string; amount: number; status: string; stripePaymentIntentId?: string; pollPath: string };
  fees: Record<string, number>;
}

/** Buys one $100 ticket (11765 at a Pro venue in Nashville) and answers the transaction id. */
export async function completedPurchase(t: TestApp, venueId: string, options: PurchaseOptions = {}): Promise<ProcessAnswer['transaction']> {
  const response = await purchase(t, venueId, options);
  if (response.statusCode !== 200) throw new Error(`purchase failed: ${response.statusCode} ${response.body}`);
  return response.json<ProcessAnswer>().transaction;
}

export async function refund(
  t: TestApp,
  transactionId: string,
  options: { amount?: number; key?: string; headers?: Record<string, string> } = {},
): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: 'POST',
    url: `/api/v1/payments/transaction/${transactionId}/refund`,
    headers: { ...(options.headers ?? (await authAs())), 'idempotency-key': options.key ?? randomUUID() },
    payload: { reason: 'cannot make it', ...(options.amount === undefined ? {} : { amount: options.amount }) },
  });
}

/** The payment as the write side sees it (the query routes are issue 5's). */
export const paymentState = (t: TestApp, paymentId: string): Promise<PaymentState> => t.tessera.services.payments.getPayment(paymentId);
