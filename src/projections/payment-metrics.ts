import { Counter, Gauge, Histogram, type Metric } from 'prom-client';
import { exponentOf, isCurrency } from '../domain/money.js';
import type { EventStore } from '../eventstore/event-store.js';
import { checkpointAfter, type SubscriptionConsumer } from '../eventstore/subscription.js';
import { isEscrowEvent, type EscrowEvent } from '../events/escrow.js';
import { isGroupPaymentEvent, type GroupPaymentEvent } from '../events/group-payment.js';
import { isPaymentEvent, paymentStreamId, type PaymentEvent, type PaymentRequested } from '../events/payment.js';
import type { SaleKind } from './payments/rows.js';

/**
 * Seed 003's payment metrics. They are made without a registry: the payments route module
 * registers them on the app's (GET /metrics).
 *
 * Outcomes are counted from the events by one checkpointed subscription, which has one active
 * instance across every process sharing the store. So each fact counts once wherever it was
 * written (process manager, webhook, deadline), a retried request or step counts nothing again,
 * and summing the series over instances gives the cluster's figures. The gauge is the one
 * per-instance figure: purchases this instance is working on right now.
 *
 * `kind` tells the sales apart, as the payments read model does: `purchase` (a card purchase),
 * `group` (a group purchase, completed when every share is captured) and `resale` (an escrow's
 * charge). All three take money into the ledger's `gateway:clearing`, so all three count.
 */
export interface PaymentMetrics {
  /** Sales that reached an outcome: completed, failed, expired, cancelled; by payment method and kind. */
  readonly transactions: Counter<'status' | 'method' | 'kind'>;
  /** Captured amounts in major units (dollars for USD), by kind. */
  readonly amount: Histogram<'kind'>;
  /** Refunds by stage (requested, succeeded, failed) and kind. */
  readonly refunds: Counter<'status' | 'kind'>;
  /** From the request to the gateway's definite answer (captured or failed), by payment method. */
  readonly processingDuration: Histogram<'method'>;
  /** `process` requests this instance is handling now (per instance; sum over instances). */
  readonly active: Gauge;
  readonly all: readonly Metric[];
}

export function createPaymentMetrics(): PaymentMetrics {
  const transactions = new Counter({
    name: 'payment_transactions_total',
    help: 'Sales that reached an outcome (completed, failed, expired, cancelled), by payment method and kind (purchase, group, resale)',
    labelNames: ['status', 'method', 'kind'] as const,
    registers: [],
  });
  const amount = new Histogram({
    name: 'payment_amount_dollars',
    help: 'Captured amounts in major currency units (dollars), by kind (purchase, group, resale)',
    labelNames: ['kind'] as const,
    buckets: [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000],
    registers: [],
  });
  const refunds = new Counter({
    name: 'payment_refunds_total',
    help: 'Refunds by stage (requested, succeeded, failed) and kind (purchase, resale)',
    labelNames: ['status', 'kind'] as const,
    registers: [],
  });
  const processingDuration = new Histogram({
    name: 'payment_processing_duration_seconds',
    help: "Time from a payment's request to the gateway's definite answer (captured or failed)",
    labelNames: ['method'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [],
  });
  const active = new Gauge({
    name: 'payment_active_transactions',
    help: 'Purchase requests this instance is processing now',
    registers: [],
  });
  return { transactions, amount, refunds, processingDuration, active, all: [transactions, amount, refunds, processingDuration, active] };
}

export const PAYMENT_METRICS_SUBSCRIPTION = 'payment-metrics';

interface RequestFacts {
  readonly requestedAt: number;
  readonly method: string;
}

/** One increment or observation, worked out before any is applied. */
type Observation = (metrics: PaymentMetrics) => void;

/**
 * The subscription that counts outcomes from the events. A batch's observations are worked out
 * first and applied only once its checkpoint is stored, so a batch that fails half-way and is
 * handled again counts nothing twice. It keeps the request time and method of payments in
 * flight; for one requested before this process took over, it reads the payment's first event.
 */
/** How often the counters' checkpoints are written under load; they move once it is. */
export const METRICS_CHECKPOINT_EVERY_MS = 250;

export function paymentMetricsProjector(store: EventStore, metrics: PaymentMetrics): SubscriptionConsumer {
  const inFlight = new Map<string, RequestFacts>();

  async function requestOf(paymentId: string): Promise<RequestFacts | undefined> {
    const known = inFlight.get(paymentId);
    if (known) return known;
    const [first] = await store.readStream(paymentStreamId(paymentId), { maxCount: 1 });
    return first?.type === 'PaymentRequested' ? factsOf(first.data as PaymentRequested['data']) : undefined;
  }

  async function ended(paymentId: string, occurredAt: string, status: string, timed: boolean): Promise<Observation> {
    const request = await requestOf(paymentId);
    inFlight.delete(paymentId);
    const method = request?.method ?? 'unknown';
    const seconds = request && timed ? Math.max(0, (Date.parse(occurredAt) - request.requestedAt) / 1000) : undefined;
    return (m) => {
      m.transactions.inc({ status, method, kind: 'purchase' });
      if (seconds !== undefined) m.processingDuration.observe({ method }, seconds);
    };
  }

  async function observe(event: PaymentEvent, occurredAt: string): Promise<Observation | undefined> {
    switch (event.type) {
      case 'PaymentRequested':
        inFlight.set(event.data.paymentId, factsOf(event.data));
        return undefined;
      case 'PaymentCaptured': {
        const { paymentId, amount, currency } = event.data;
        const outcome = await ended(paymentId, occurredAt, 'completed', true);
        return (m) => {
          m.amount.observe({ kind: 'purchase' }, majorUnits(amount, currency));
          outcome(m);
        };
      }
      case 'PaymentFailed':
        return ended(event.data.paymentId, occurredAt, 'failed', true);
      case 'PaymentExpired':
        return ended(event.data.paymentId, occurredAt, 'expired', false);
      case 'PaymentCancelled':
        return ended(event.data.paymentId, occurredAt, 'cancelled', false);
      case 'RefundRequested':
        return (m) => m.refunds.inc({ status: 'requested', kind: 'purchase' });
      case 'RefundSucceeded':
        return (m) => m.refunds.inc({ status: 'succeeded', kind: 'purchase' });
      case 'RefundFailed':
        return (m) => m.refunds.inc({ status: 'failed', kind: 'purchase' });
      case 'PaymentRiskAssessed':
      case 'PaymentReviewed':
      case 'PaymentSubmitted':
      case 'PaymentActionRequired':
      case 'PaymentAuthorized':
      case 'PaymentAuthorizationVoided':
      case 'DisputeOpened':
      case 'DisputeClosed':
        return undefined;
      default: {
        const unhandled: never = event;
        throw new Error(`unhandled payment event ${JSON.stringify(unhandled)}`);
      }
    }
  }

  return checkpointAfter(
    PAYMENT_METRICS_SUBSCRIPTION,
    store.checkpoints,
    async (events) => {
      const observations: Observation[] = [];
      for (const event of events) {
        const observation = isPaymentEvent(event)
          ? await observe({ type: event.type, data: event.data } as PaymentEvent, event.metadata.occurredAt)
          : observeOtherSale(event);
        if (observation) observations.push(observation);
      }
      return () => {
        for (const observation of observations) observation(metrics);
      };
    },
    { handles: (event) => isPaymentEvent(event) || OTHER_SALE_OUTCOMES.has(event.type), writeEveryMs: METRICS_CHECKPOINT_EVERY_MS },
  );
}

/** The group and escrow events that end a sale or move its money: the only ones counted. */
const OTHER_SALE_OUTCOMES = new Set<string>([
  'GroupPaymentCompleted',
  'GroupPaymentExpired',
  'GroupPaymentCancelled',
  'EscrowFunded',
  'EscrowFundingFailed',
  'EscrowRefunded',
  'EscrowRefundPaid',
]);

/** Members and resale buyers pay by card. */
const CARD = 'card';

function observeOtherSale(event: { readonly type: string; readonly data: unknown }): Observation | undefined {
  if (isGroupPaymentEvent(event)) return observeGroup(event);
  if (isEscrowEvent(event)) return observeResale(event);
  return undefined;
}

const saleEnded =
  (kind: SaleKind, status: string, captured?: { amount: number; currency: string }): Observation =>
  (m) => {
    m.transactions.inc({ status, method: CARD, kind });
    if (captured) m.amount.observe({ kind }, majorUnits(captured.amount, captured.currency));
  };

/** A group purchase ends once: completed (every share captured), expired or cancelled. No processing time: its shares are paid whenever each member pays. */
function observeGroup(event: GroupPaymentEvent): Observation | undefined {
  switch (event.type) {
    case 'GroupPaymentCompleted':
      return saleEnded('group', 'completed', event.data);
    case 'GroupPaymentExpired':
      return saleEnded('group', 'expired');
    case 'GroupPaymentCancelled':
      return saleEnded('group', 'cancelled');
    case 'GroupPaymentCreated':
    case 'ContributionSubmitted':
    case 'ContributionRiskAssessed':
    case 'ContributionAuthorized':
    case 'ContributionDeclined':
    case 'GroupPaymentFunded':
    case 'ContributionCaptured':
    case 'ContributionReleased':
    case 'MemberReminded':
      return undefined;
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled group payment event ${JSON.stringify(unhandled)}`);
    }
  }
}

/** A resale is charged (completed) or declined (failed); a refund is owed (requested), then paid (succeeded). */
function observeResale(event: EscrowEvent): Observation | undefined {
  switch (event.type) {
    case 'EscrowFunded':
      return saleEnded('resale', 'completed', event.data);
    case 'EscrowFundingFailed':
      return saleEnded('resale', 'failed');
    case 'EscrowRefunded':
      return (m) => m.refunds.inc({ status: 'requested', kind: 'resale' });
    case 'EscrowRefundPaid':
      return (m) => m.refunds.inc({ status: 'succeeded', kind: 'resale' });
    case 'EscrowCreated':
    case 'EscrowRiskAssessed':
    case 'EscrowTransferSubmitted':
    case 'EscrowReleased':
    case 'EscrowDisputed':
      return undefined;
    default: {
      const unhandled: never = event;
      throw new Error(`unhandled escrow event ${JSON.stringify(unhandled)}`);
    }
  }
}

const factsOf = (data: PaymentRequested['data']): RequestFacts => ({
  requestedAt: Date.parse(data.requestedAt),
  method: data.paymentMethod.type,
});

function majorUnits(amount: number, currency: string): number {
  return amount / 10 ** (isCurrency(currency) ? exponentOf(currency) : 2);
}
