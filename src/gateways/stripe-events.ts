import Stripe from 'stripe';
import { z } from 'zod';
import type { PaymentCommand } from '../aggregates/payment.js';
import { isNameBasedUuid, uuidV5 } from '../domain/ids.js';
import { TesseraError, type FieldError } from '../errors.js';

/**
 * Stripe webhook events as Payment commands (pure). A target names our payment directly when
 * the Stripe object carries our metadata (intents and refunds we created), or else by the
 * PaymentIntent it belongs to, which the purchase process manager has indexed.
 *
 * Other products may share the Stripe account, and Tessera's own group shares and resale charges
 * are PaymentIntents too, so an event is only taken for one of Tessera's payments when it says so
 * (README "Stripe webhooks", which event is ours):
 * - an intent's own metadata is authoritative: Tessera writes `paymentId` on every purchase's
 *   intent when it creates it, before Stripe can send anything about it. An intent without one
 *   is not a Tessera purchase, and is ignored at once;
 * - a `paymentId` Tessera did not make (every payment id is a name-based UUID, uuidV5) is ignored;
 * - a Tessera-shaped `paymentId` is ours even when its stream cannot be read yet: the process
 *   manager retries it (held), and parks it if it never appears;
 * - a refund or dispute that names only its PaymentIntent is ours when the intent is in the
 *   gateway references (the process manager decides that, src/processmanagers/stripe-webhook.ts).
 */
export interface WebhookTarget {
  readonly paymentId?: string;
  readonly reference?: string;
  readonly command: PaymentCommand;
  /**
   * A refund Tessera itself made of a group share or a resale charge (its metadata names the
   * group or the escrow): that process manager recorded it from the gateway's answer.
   */
  readonly madeByTessera?: true;
}

/**
 * Why an event was acknowledged without acting on it, the `reason` label of
 * stripe_webhooks_ignored_total: Tessera does not act on its type; it records nothing (a refund
 * cancelled, a charge.refunded without its refunds); it names no Tessera payment (an intent
 * without `metadata.paymentId`, or a `paymentId` Tessera did not make); it is a refund Tessera made
 * of a group share or a resale charge, already recorded by that process manager.
 */
export const IGNORED_REASONS = ['unhandled_type', 'nothing_to_record', 'not_a_tessera_payment', 'recorded_by_tessera'] as const;

export type IgnoredReason = (typeof IGNORED_REASONS)[number];

export type MappedStripeEvent =
  | { readonly kind: 'commands'; readonly targets: readonly WebhookTarget[] }
  | { readonly kind: 'ignored'; readonly reason: IgnoredReason; readonly detail: string };

export const ignored = (reason: IgnoredReason, detail: string): MappedStripeEvent => ({ kind: 'ignored', reason, detail });

const GATEWAY = 'stripe';

const idOf = (value: string | { id: string } | null | undefined): string | undefined =>
  typeof value === 'string' ? value : (value?.id ?? undefined);

const target = (metadata: Stripe.Metadata | null | undefined, reference: string | undefined, command: PaymentCommand): WebhookTarget => ({
  ...(metadata?.paymentId ? { paymentId: metadata.paymentId } : {}),
  ...(reference ? { reference } : {}),
  command,
});

/** A refund Stripe reports: ours carry our refund id; one made in Stripe's dashboard gets an id from its own. */
export const refundIdFor = (refund: Stripe.Refund): string => refund.metadata?.refundId ?? uuidV5(`stripe-refund:${refund.id}`);

export function mapStripeEvent(event: Stripe.Event): MappedStripeEvent {
  const mapped = commandsOf(event);
  if (mapped.kind === 'ignored') return mapped;
  if (mapped.targets.length === 0) return ignored('nothing_to_record', 'none of its refunds has an outcome to record');
  const ours = mapped.targets.filter((t) => t.paymentId === undefined || isNameBasedUuid(t.paymentId));
  if (ours.length > 0) return { kind: 'commands', targets: ours };
  return ignored('not_a_tessera_payment', `metadata.paymentId ${JSON.stringify(mapped.targets[0]?.paymentId)} is not a Tessera payment id`);
}

function commandsOf(event: Stripe.Event): MappedStripeEvent {
  // Stripe has hundreds of event types; every one not listed here is ignored on purpose.
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check
  switch (event.type) {
    case 'payment_intent.succeeded': {
      const intent = event.data.object;
      return ofIntent(intent, target(intent.metadata, intent.id, {
        type: 'RecordCapture',
        data: { amount: intent.amount_received, gateway: GATEWAY, gatewayReference: intent.id },
      }));
    }
    case 'payment_intent.amount_capturable_updated': {
      const intent = event.data.object;
      return ofIntent(intent, target(intent.metadata, intent.id, {
        type: 'RecordAuthorization',
        data: { amount: intent.amount_capturable, gateway: GATEWAY, gatewayReference: intent.id },
      }));
    }
    case 'payment_intent.payment_failed': {
      const intent = event.data.object;
      const error = intent.last_payment_error;
      return ofIntent(intent, target(intent.metadata, intent.id, {
        type: 'RecordPaymentFailure',
        data: {
          reason: error?.message ?? 'payment failed',
          code: error?.code ?? 'payment_failed',
          gateway: GATEWAY,
          ...(error?.decline_code ? { declineCode: error.decline_code } : {}),
        },
      }));
    }
    case 'charge.refunded': {
      const charge = event.data.object;
      const refunds = charge.refunds?.data ?? [];
      if (refunds.length === 0) return ignored('nothing_to_record', 'charge.refunded without its refunds; refund.* events carry them');
      return { kind: 'commands', targets: refunds.flatMap((refund) => refundTargets(refund, charge.metadata)) };
    }
    case 'refund.created':
    case 'refund.updated': {
      const targets = refundTargets(event.data.object);
      return targets.length > 0 ? { kind: 'commands', targets } : ignored('nothing_to_record', `refund is ${event.data.object.status}`);
    }
    case 'charge.dispute.created': {
      const dispute = event.data.object;
      return commands(target(dispute.metadata, idOf(dispute.payment_intent), {
        type: 'OpenDispute',
        data: { disputeId: dispute.id, amount: dispute.amount, reason: dispute.reason },
      }));
    }
    case 'charge.dispute.closed': {
      const dispute = event.data.object;
      // `warning_closed`: an inquiry closed without a chargeback, which is a win for us.
      const outcome = dispute.status === 'lost' ? 'lost' : 'won';
      return commands(target(dispute.metadata, idOf(dispute.payment_intent), {
        type: 'CloseDispute',
        data: { disputeId: dispute.id, outcome },
      }));
    }
    default:
      return ignored('unhandled_type', `Tessera does not act on ${event.type}`);
  }
}

const commands = (one: WebhookTarget): MappedStripeEvent => ({ kind: 'commands', targets: [one] });

/** An intent names its payment in its own metadata, or is not a Tessera purchase (see above). */
function ofIntent(intent: Pick<Stripe.PaymentIntent, 'id' | 'metadata'>, one: WebhookTarget): MappedStripeEvent {
  if (one.paymentId !== undefined) return commands(one);
  return ignored('not_a_tessera_payment', `PaymentIntent ${intent.id} has no metadata.paymentId${madeFor(intent.metadata)}`);
}

/** Tessera's own intents that are not purchases: their process managers record their outcomes from the gateway's answers. */
function madeFor(metadata: Stripe.Metadata | null | undefined): string {
  if (metadata?.groupId) return `: a share of group payment ${metadata.groupId}`;
  if (metadata?.escrowId) return `: the charge of resale escrow ${metadata.escrowId}`;
  return '';
}

function refundTargets(refund: Stripe.Refund, fallbackMetadata?: Stripe.Metadata | null): WebhookTarget[] {
  const metadata = refund.metadata?.paymentId ? refund.metadata : fallbackMetadata;
  const reference = idOf(refund.payment_intent);
  const ours = refund.metadata?.escrowId || refund.metadata?.groupId ? { madeByTessera: true as const } : {};
  switch (refund.status) {
    case 'succeeded':
    case 'pending':
      return [
        {
          ...target(metadata, reference, {
            type: 'RecordGatewayRefund',
            data: {
              refundId: refundIdFor(refund),
              amount: refund.amount,
              gateway: GATEWAY,
              gatewayReference: refund.id,
              reason: refund.reason ?? 'refunded at the gateway',
            },
          }),
          ...ours,
        },
      ];
    case 'failed':
      // Only a refund we asked for can fail for us; one never recorded has nothing to undo.
      if (!refund.metadata?.refundId) return [];
      return [
        {
          ...target(metadata, reference, {
            type: 'RecordRefundFailure',
            data: { refundId: refund.metadata.refundId, reason: refund.failure_reason ?? 'refund failed', code: refund.failure_reason ?? 'refund_failed' },
          }),
          ...ours,
        },
      ];
    case 'canceled':
    case 'requires_action':
    case null:
      return [];
    default:
      return [];
  }
}

/**
 * What Tessera reads of an event, checked before anything is stored: a signature proves who sent
 * the bytes, not that they hold an event. The envelope everywhere; for each type Tessera acts on,
 * the fields mapStripeEvent reads, as loosely as it reads them (metadata may be absent, a refund's
 * status null). Other fields, and the objects of types Tessera ignores, are not looked at.
 */
const metadata = z.record(z.string(), z.string()).nullish();
const amount = z.number().int().nonnegative();
const optionalText = z.string().nullish();
const intentReference = z.union([z.string(), z.object({ id: z.string() })]).nullish();

const paymentIntent = z.object({ id: z.string().min(1), metadata });
const refund = z.object({
  id: z.string().min(1),
  amount,
  status: z.string().nullable(),
  payment_intent: intentReference,
  metadata,
  reason: optionalText,
  failure_reason: optionalText,
});
const dispute = z.object({ id: z.string().min(1), payment_intent: intentReference, metadata });

const objectReadByType = {
  'payment_intent.succeeded': paymentIntent.extend({ amount_received: amount }),
  'payment_intent.amount_capturable_updated': paymentIntent.extend({ amount_capturable: amount }),
  'payment_intent.payment_failed': paymentIntent.extend({
    last_payment_error: z.object({ message: optionalText, code: optionalText, decline_code: optionalText }).nullish(),
  }),
  'charge.refunded': z.object({ metadata, refunds: z.object({ data: z.array(refund) }).nullish() }),
  'refund.created': refund,
  'refund.updated': refund,
  'charge.dispute.created': dispute.extend({ amount, reason: z.string() }),
  'charge.dispute.closed': dispute.extend({ status: z.string() }),
} satisfies Partial<Record<Stripe.Event.Type, z.ZodType>>;
// A Map, not the object: a type named `constructor` must find nothing.
const OBJECT_READ_BY_TYPE = new Map<string, z.ZodType>(Object.entries(objectReadByType));

const envelope = z.object({
  id: z.string().regex(/^evt_[A-Za-z0-9_]{1,250}$/, { error: 'must be a Stripe event id (evt_...)' }),
  type: z.string().min(1).max(255),
  created: z.number().int().nonnegative(),
  data: z.object({ object: z.record(z.string(), z.unknown()) }),
});

/**
 * The event, once its envelope and the fields its type is read for are what mapStripeEvent
 * expects; otherwise WEBHOOK_PAYLOAD_INVALID naming each problem, and the caller stores nothing.
 */
export function checkStripeEvent(event: Stripe.Event): Stripe.Event {
  const parsed = envelope.safeParse(event);
  if (!parsed.success) throw payloadInvalid(parsed.error.issues, []);
  const object = OBJECT_READ_BY_TYPE.get(parsed.data.type)?.safeParse(parsed.data.data.object);
  if (object && !object.success) throw payloadInvalid(object.error.issues, ['data', 'object']);
  return event;
}

function payloadInvalid(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]): TesseraError {
  const errors: FieldError[] = issues.map((issue) => {
    const path = [...prefix, ...issue.path].map(String).join('.');
    return { field: path === '' ? 'event' : path, message: issue.message };
  });
  return new TesseraError('WEBHOOK_PAYLOAD_INVALID', 'The Stripe event is not one Tessera can read', { errors });
}

/** Checks the `Stripe-Signature` header over the raw body; the webhook route calls this first. */
export function verifyStripeEvent(rawBody: string | Buffer, signature: string, secret: string, toleranceSeconds = 300): Stripe.Event {
  try {
    return Stripe.webhooks.constructEvent(rawBody, signature, secret, toleranceSeconds);
  } catch (error) {
    throw new TesseraError('WEBHOOK_SIGNATURE_INVALID', 'Stripe signature verification failed', {
      reason: error instanceof Error ? error.message : String(error),
    });
  }
}
