import type { Counter } from 'prom-client';
import type Stripe from 'stripe';
import type { SqlClient } from '../db/sql-client.js';
import { derivedId } from '../domain/ids.js';
import { TesseraError } from '../errors.js';
import type { EventStore } from '../eventstore/event-store.js';
import type { Logger } from '../logger.js';
import { paymentStreamId } from '../events/payment.js';
import { mapStripeEvent, type IgnoredReason, type WebhookTarget } from '../gateways/stripe-events.js';
import type { GatewayReferences } from '../gateways/gateway-references.js';
import type { Deadlines } from './runtime/deadlines.js';
import type { Parking } from './runtime/parking.js';
import { backoffMs, describeError, isRetryable, type RetryPolicy } from './runtime/retry.js';
import { paymentHandler } from '../commands/payment.js';

/**
 * The command side of `POST /api/v1/webhooks/stripe` (the route verifies the signature with
 * verifyStripeEvent, then calls `receive`).
 *
 * - Deduplication: each Stripe event id is stored once (`tessera_stripe_webhooks`); a
 *   redelivery answers with the stored status and does nothing. The commands' ids derive from
 *   the Stripe event id as well, so even processing one twice writes nothing twice.
 * - Out-of-order delivery: a fact that builds on one we have not recorded yet (a refund or a
 *   dispute before the capture, a payment whose stream cannot be read yet) is held and retried
 *   by a durable deadline with backoff until it applies, then parked. Nothing is forced onto a
 *   payment in a state that cannot take it.
 * - Not ours: an event about a PaymentIntent that is not one of Tessera's purchases (another
 *   product on the same Stripe account, a group share, a resale charge; the rule is in
 *   gateways/stripe-events.ts) is acknowledged and stored as `ignored` with its reason, counted,
 *   and neither retried nor parked. Only a payment Tessera can tell is its own is waited for.
 */
export type WebhookStatus = 'received' | 'processed' | 'ignored' | 'held' | 'parked';

export interface WebhookReceipt {
  readonly stripeEventId: string;
  readonly duplicate: boolean;
  readonly status: WebhookStatus;
  /** Why it was ignored, when it was. */
  readonly ignoredReason?: IgnoredReason;
}

export const STRIPE_WEBHOOK_RETRY = 'stripe-webhook-retry';

export interface StripeWebhookDeps {
  readonly sql: SqlClient;
  readonly store: EventStore;
  readonly references: GatewayReferences;
  readonly deadlines: Pick<Deadlines, 'schedule'>;
  readonly parking: Parking;
  readonly retry: RetryPolicy;
  readonly clock?: () => Date;
  /** Counts the events acknowledged without acting on them, by reason (stripe_webhooks_ignored_total). */
  readonly ignored?: Pick<Counter<'reason'>, 'inc'>;
  readonly logger?: Pick<Logger, 'info'>;
}

export interface StripeWebhooks {
  receive(event: Stripe.Event): Promise<WebhookReceipt>;
  /** Processes a stored event again (the retry deadline and operators call this). */
  reprocess(stripeEventId: string): Promise<WebhookStatus>;
  status(stripeEventId: string): Promise<{ status: WebhookStatus; attempts: number; lastError: string | null; ignoredReason: IgnoredReason | null } | undefined>;
}

export function stripeWebhooks(deps: StripeWebhookDeps): StripeWebhooks {
  const clock = deps.clock ?? (() => new Date());

  /** Our payment the target names, or undefined when it names only an intent Tessera never indexed. */
  async function resolvePayment(target: WebhookTarget): Promise<string | undefined> {
    if (target.paymentId) return target.paymentId;
    return target.reference ? deps.references.paymentFor('stripe', target.reference) : undefined;
  }

  async function tenantOf(paymentId: string): Promise<string> {
    const [first] = await deps.store.readStream(paymentStreamId(paymentId), { maxCount: 1 });
    // A Tessera-made payment id is ours: Tessera records the payment before it creates the intent,
    // so a stream not readable yet is a read behind the write, retried (held), not ignored.
    if (!first) throw new TesseraError('PAYMENT_NOT_FOUND', `payment ${paymentId} not recorded yet`, { retryable: true });
    return first.metadata.tenantId;
  }

  type Outcome = { readonly status: 'processed' } | { readonly status: 'ignored'; readonly reason: IgnoredReason; readonly detail: string };

  async function apply(event: Stripe.Event): Promise<Outcome> {
    const mapped = mapStripeEvent(event);
    if (mapped.kind === 'ignored') return { status: 'ignored', reason: mapped.reason, detail: mapped.detail };
    const resolved = await Promise.all(mapped.targets.map(async (target) => ({ target, paymentId: await resolvePayment(target) })));
    const ours = resolved.filter((r): r is { target: WebhookTarget; paymentId: string } => r.paymentId !== undefined);
    // A refund or dispute names only its intent. A refund Tessera made of a group share or a resale
    // charge says so in its metadata and is already recorded. Anything else naming an intent Tessera
    // never indexed is money leaving that Tessera cannot attribute: a chargeback or a dashboard
    // refund on a group share or a resale charge (those intents are not indexed), one on a purchase
    // racing its index, or another product's. Held, then parked for an operator; never dropped.
    if (ours.length === 0) {
      const intents = resolved.map((r) => r.target.reference ?? '(none)').join(', ');
      if (mapped.targets.every((target) => target.madeByTessera)) {
        return { status: 'ignored', reason: 'recorded_by_tessera', detail: `a refund Tessera made of PaymentIntent ${intents} (a group share or a resale charge), recorded by its process manager` };
      }
      throw new TesseraError('PAYMENT_NOT_FOUND', `names only PaymentIntent ${intents}, which Tessera has not indexed: held for an operator if it stays unknown`, { retryable: true });
    }
    for (const { target, paymentId } of ours) {
      const n = mapped.targets.indexOf(target);
      // Later events about this intent may name only the intent (disputes, dashboard refunds).
      if (target.paymentId && target.reference) await deps.references.remember('stripe', target.reference, paymentId);
      const now = clock();
      await paymentHandler.handle(deps.store, paymentId, target.command, {
        commandId: derivedId(`stripe:${event.id}`, String(n)),
        now,
        actor: 'gateway:stripe',
        tenantId: await tenantOf(paymentId),
        correlationId: derivedId(`stripe:${event.id}`, 'correlation'),
      });
    }
    return { status: 'processed' };
  }

  async function setStatus(id: string, status: WebhookStatus, error: string | null, ignoredReason: IgnoredReason | null = null): Promise<void> {
    await deps.sql.query(
      `UPDATE tessera_stripe_webhooks SET status = $2, attempts = attempts + 1, last_error = $3, ignored_reason = $5,
         processed_at = CASE WHEN $2 IN ('processed', 'ignored') THEN $4::timestamptz ELSE processed_at END
       WHERE stripe_event_id = $1`,
      [id, status, error, clock(), ignoredReason],
    );
  }

  /** One attempt. A failure that may pass later is held (and rethrown) for the retry deadline. */
  async function attempt(event: Stripe.Event, attempts: number): Promise<{ status: WebhookStatus; ignoredReason?: IgnoredReason }> {
    try {
      const outcome = await apply(event);
      if (outcome.status === 'processed') {
        await setStatus(event.id, 'processed', null);
        return { status: 'processed' };
      }
      await setStatus(event.id, 'ignored', null, outcome.reason);
      deps.ignored?.inc({ reason: outcome.reason });
      deps.logger?.info({ stripeEventId: event.id, type: event.type, reason: outcome.reason, detail: outcome.detail }, 'stripe webhook ignored');
      return { status: 'ignored', ignoredReason: outcome.reason };
    } catch (error) {
      const message = describeError(error);
      if (isRetryable(error)) {
        await setStatus(event.id, 'held', message);
        throw Object.assign(error instanceof Error ? error : new Error(message), { webhookHeld: true });
      }
      await setStatus(event.id, 'parked', message);
      await deps.parking.park({
        id: `webhook:stripe:${event.id}`,
        source: 'webhook:stripe',
        item: { stripeEventId: event.id, type: event.type },
        error: message,
        attempts: attempts,
        at: clock(),
      });
      return { status: 'parked' };
    }
  }

  async function load(id: string) {
    const { rows } = await deps.sql.query<{ payload: Stripe.Event; status: WebhookStatus; attempts: number; last_error: string | null; ignored_reason: IgnoredReason | null }>(
      'SELECT payload, status, attempts, last_error, ignored_reason FROM tessera_stripe_webhooks WHERE stripe_event_id = $1',
      [id],
    );
    return rows[0];
  }

  return {
    async receive(event) {
      const { rows } = await deps.sql.query(
        `INSERT INTO tessera_stripe_webhooks (stripe_event_id, event_type, payload, status, received_at)
         VALUES ($1, $2, $3, 'received', $4) ON CONFLICT (stripe_event_id) DO NOTHING RETURNING stripe_event_id`,
        [event.id, event.type, JSON.stringify(event), clock()],
      );
      if (rows.length === 0) {
        const stored = await load(event.id);
        return { stripeEventId: event.id, duplicate: true, status: stored?.status ?? 'held', ...(stored?.ignored_reason ? { ignoredReason: stored.ignored_reason } : {}) };
      }
      // Scheduled before the first attempt, so an event received just before a crash is still
      // processed; once processed, the deadline finds nothing to do.
      await deps.deadlines.schedule({
        id: `${STRIPE_WEBHOOK_RETRY}:${event.id}`,
        kind: STRIPE_WEBHOOK_RETRY,
        dueAt: new Date(clock().getTime() + backoffMs(deps.retry, 1)),
        payload: { stripeEventId: event.id },
      });
      const outcome = await attempt(event, 1).catch((error: unknown) => {
        if ((error as { webhookHeld?: boolean }).webhookHeld) return { status: 'held' as const };
        throw error;
      });
      return { stripeEventId: event.id, duplicate: false, ...outcome };
    },
    async reprocess(id) {
      const stored = await load(id);
      if (!stored) throw new TesseraError('NOT_FOUND', `no Stripe event ${id} was received`);
      if (stored.status === 'processed' || stored.status === 'ignored') return stored.status;
      // Held or interrupted: a failure is rethrown so the retry deadline backs off and, in the end, parks it.
      return (await attempt(stored.payload, stored.attempts + 1)).status;
    },
    async status(id) {
      const stored = await load(id);
      return stored && { status: stored.status, attempts: stored.attempts, lastError: stored.last_error, ignoredReason: stored.ignored_reason };
    },
  };
}
