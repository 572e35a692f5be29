import { z } from 'zod';
import { TesseraError } from '../../errors.js';
import { positionToString, type RecordedEvent } from '../../eventstore/event-store.js';
import { paymentStreamId } from '../../events/payment.js';
import { findPayment, refundsOf, type PaymentView } from '../../projections/payments/queries.js';
import { PAYMENTS_PROJECTION } from '../../projections/payments/projection.js';
import type { RefundRow } from '../../projections/payments/rows.js';
import { asUser, authorize, type Caller, type Resource } from '../../domain/access.js';
import { awaitReadModel, positionParam } from '../read-your-writes.js';
import type { RouteApi, RouteModule } from '../route.js';
import { uuid } from '../schemas.js';

const amount = z.number().int();

const transaction = z.object({
  id: z.string(),
  userId: z.string(),
  venueId: z.string(),
  eventId: z.string(),
  amount: amount.describe('What the card is charged (fees.total), in cents'),
  currency: z.string(),
  status: z.string().describe('pending, processing, completed, partially_refunded, refunded, disputed, failed, cancelled, expired'),
  createdAt: z.string(),
  updatedAt: z.string(),
  stripePaymentIntentId: z.string().nullable().describe("The gateway's reference (a PaymentIntent id with Stripe)"),
  paymentMethod: z.object({ type: z.string() }),
  ticketCount: z.number().int(),
  fees: z.object({ ticketPrice: amount, platformFee: amount, gasEstimate: amount, stateTax: amount, localTax: amount, total: amount }),
  captured: amount,
  refunded: amount,
  refundPending: amount,
  chargedBack: amount,
  refundable: amount.describe('What a refund may still take back'),
  failure: z.object({ reason: z.string(), code: z.string(), declineCode: z.string().nullable() }).nullable(),
  processingMs: z.number().int().nullable().describe("From the request to the gateway's definite answer"),
});

const refund = z.object({
  id: z.string(),
  amount,
  status: z.enum(['pending', 'succeeded', 'failed']),
  reason: z.string(),
  requestedBy: z.string(),
  requestedAt: z.string(),
  completedAt: z.string().nullable(),
  failureReason: z.string().nullable(),
});

export const nftStatus = z
  .object({ status: z.string(), jobId: z.string().optional(), progress: z.number().optional(), transactionHash: z.string().optional() })
  .describe('`not_minted` or `pending` until minting exists; then the minter\'s job');

const auditEvent = z.object({
  id: z.string(),
  type: z.string(),
  revision: z.number().int(),
  position: z.string(),
  recordedAt: z.string(),
  data: z.unknown(),
  metadata: z.object({
    correlationId: z.string(),
    causationId: z.string(),
    tenantId: z.string(),
    actor: z.string(),
    occurredAt: z.string(),
    schemaVersion: z.number().int(),
  }),
});

/** GET /api/v1/payments/transaction/:transactionId (seed 003 #3) and its audit trail. */
export const paymentQueryRoutes: RouteModule = {
  name: 'payment-queries',
  register(api) {
    api.route({
      method: 'GET',
      url: '/api/v1/payments/transaction/:transactionId',
      summary: 'A transaction: status, amounts, refunds and NFT status (the buyer or an admin)',
      description: 'Pass `position` (from the command that wrote) to read your own write: 409 READ_MODEL_BEHIND if the read model has not reached it within READ_WAIT_MS.',
      tags: ['payments'],
      auth: 'user',
      params: z.object({ transactionId: uuid }),
      query: z.object({ position: positionParam }),
      response: z.object({ transaction, refunds: z.array(refund), nftStatus }),
      handler: async ({ params, query, principal }) => {
        await awaitReadModel(api.services, PAYMENTS_PROJECTION, query.position, api.config.READ_WAIT_MS);
        const view = await projectedPayment(api, params.transactionId, asUser(principal), 'read');
        const [refunds, nft] = await Promise.all([
          refundsOf(api.services.readSide.db, view.paymentId),
          api.services.nftStatus.nftStatusFor({ paymentId: view.paymentId, status: view.status }),
        ]);
        return { transaction: transactionJson(view), refunds: refunds.map(refundJson), nftStatus: nft };
      },
    });

    api.route({
      method: 'POST',
      url: '/internal/payment-complete',
      summary: "The order service confirms an order's payment completed (signed call; other services are refused)",
      description:
        'Seed 003 #16. A read-only confirmation, safe to repeat: Tessera records no order id (the order service keeps the ' +
        "order's link to its payment); it answers the payment's transaction, as the transaction query does, once the payment " +
        'has been captured (completed, and later partly or fully refunded or disputed: the transaction says which). ' +
        '404 PAYMENT_NOT_FOUND, 409 PAYMENT_NOT_COMPLETED while it is pending or processing, and when it failed, was ' +
        'cancelled or expired (`details.status`).',
      tags: ['payments', 'internal'],
      auth: 'internal',
      idempotent: false,
      body: z.object({ orderId: uuid, paymentId: uuid }),
      response: z.object({ success: z.literal(true), orderId: z.string(), paymentId: z.string(), transaction }),
      handler: async ({ body, service }) => {
        const view = await projectedPayment(api, body.paymentId, { kind: 'service', service }, 'confirm');
        if (!CAPTURED_STATUSES.has(view.status)) {
          throw new TesseraError('PAYMENT_NOT_COMPLETED', `Payment ${body.paymentId} has not completed: it is ${view.status}`, {
            expose: { paymentId: body.paymentId, status: view.status },
          });
        }
        return { success: true as const, orderId: body.orderId, paymentId: body.paymentId, transaction: transactionJson(view) };
      },
    });

    api.route({
      method: 'GET',
      url: '/api/v1/payments/transaction/:transactionId/events',
      summary: "A transaction's audit trail: every event of its stream, with its metadata (the buyer or an admin)",
      description:
        'Read from the event store itself, so it is never behind. The buyer sees each event without the fields that concern ' +
        "only the platform and the venue (the venue's trailing volume and tier source, processing cost, venue proceeds, the " +
        "gateway idempotency key); admins see every field.",
      tags: ['payments'],
      auth: 'user',
      params: z.object({ transactionId: uuid }),
      response: z.object({ transactionId: z.string(), streamId: z.string(), events: z.array(auditEvent) }),
      handler: async ({ params, principal }) => {
        const streamId = paymentStreamId(params.transactionId);
        const events = await api.storage.eventStore.readStream(streamId);
        const first = events[0];
        if (!first) throw notFound(params.transactionId);
        authorize(asUser(principal), 'read', paymentOfStream(first));
        return {
          transactionId: params.transactionId,
          streamId,
          events: events.map((event) => ({
            id: event.id,
            type: event.type,
            revision: event.revision,
            position: positionToString(event.position),
            recordedAt: event.recordedAt.toISOString(),
            data: principal.role === 'admin' ? event.data : withoutInternalFields(event.data),
            metadata: { ...event.metadata },
          })),
        };
      },
    });
  },
};

/**
 * Fields of payment events that concern only the platform and the venue: the venue's trailing
 * volume and how its fee tier was chosen, the card network's cost to the platform, the venue's
 * proceeds, and the idempotency key the platform sends the gateway. The buyer's audit trail
 * leaves them out (at any depth); an admin's shows every field.
 */
const INTERNAL_FIELDS = new Set(['trailingVolume', 'tierSource', 'processingCost', 'venueProceeds', 'idempotencyKey']);

function withoutInternalFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutInternalFields);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => !INTERNAL_FIELDS.has(key)).map(([key, field]) => [key, withoutInternalFields(field)]));
}

/** A payment as the access rule sees it, from its stream's first event (the request): its tenant and buyer. */
function paymentOfStream(first: RecordedEvent): Resource {
  const buyer = (first.data as { userId?: unknown }).userId;
  return { kind: 'payment', tenantId: first.metadata.tenantId, buyerId: typeof buyer === 'string' ? buyer : undefined };
}

const notFound = (paymentId: string) => new TesseraError('PAYMENT_NOT_FOUND', `Transaction ${paymentId} not found`, { paymentId });

/**
 * The payment's row. A payment that is in the event store but not yet in the read model (a poll
 * right after `process` answered) waits for the read model to reach the stream's last event, so
 * an existing payment is never answered 404; only a caller who may read it waits, so nobody else
 * can hold a request open on another's payment.
 */
async function projectedPayment(api: RouteApi, paymentId: string, caller: Caller, action: 'read' | 'confirm'): Promise<PaymentView> {
  const { readSide } = api.services;
  const found = await findPayment(readSide.db, paymentId);
  if (found) {
    authorize(caller, action, { kind: 'payment', tenantId: found.tenantId, buyerId: found.userId });
    return found;
  }
  const stream = paymentStreamId(paymentId);
  const [first] = await api.storage.eventStore.readStream(stream, { maxCount: 1 });
  if (!first) throw notFound(paymentId);
  authorize(caller, action, paymentOfStream(first));
  const [last] = await api.storage.eventStore.readStream(stream, { direction: 'backwards', maxCount: 1 });
  await awaitReadModel(api.services, PAYMENTS_PROJECTION, positionToString((last ?? first).position), api.config.READ_WAIT_MS);
  const caughtUp = await findPayment(readSide.db, paymentId);
  if (!caughtUp) throw notFound(paymentId);
  return caughtUp;
}

const REFUNDABLE_STATUSES = new Set(['completed', 'partially_refunded']);
/** The statuses of a payment whose capture happened: it completed, whatever came after. */
const CAPTURED_STATUSES = new Set(['completed', 'partially_refunded', 'refunded', 'disputed']);

function transactionJson(view: PaymentView): z.output<typeof transaction> {
  return {
    id: view.paymentId,
    userId: view.userId,
    venueId: view.venueId,
    eventId: view.eventId,
    amount: view.amount,
    currency: view.currency,
    status: view.status,
    createdAt: view.createdAt,
    updatedAt: view.updatedAt,
    stripePaymentIntentId: view.gatewayReference,
    paymentMethod: { type: view.paymentMethod },
    ticketCount: view.ticketCount,
    fees: view.fees,
    captured: view.captured,
    refunded: view.refunded,
    refundPending: view.refundPending,
    chargedBack: view.chargedBack,
    // What the refund command would take: only a completed or partly refunded payment (a disputed
    // one is refused), before the venue's refund policy, which may allow less at the time.
    refundable: REFUNDABLE_STATUSES.has(view.status) ? Math.max(0, view.captured - view.refunded - view.refundPending - view.chargedBack) : 0,
    failure: view.failure,
    processingMs: view.processingMs,
  };
}

const refundJson = (row: RefundRow): z.output<typeof refund> => ({
  id: row.refundId,
  amount: row.amount,
  status: row.status,
  reason: row.reason,
  requestedBy: row.requestedBy,
  requestedAt: row.requestedAt,
  completedAt: row.completedAt,
  failureReason: row.failureReason,
});
