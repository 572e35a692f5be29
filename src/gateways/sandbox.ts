import { createHash } from 'node:crypto';
import type { SqlClient, SqlExecutor } from '../db/sql-client.js';
import {
  TransientGatewayError,
  type CaptureRequest,
  type ChargeRequest,
  type PaymentGateway,
  type PaymentResult,
  type RefundRequest,
  type RefundResult,
  type PayoutGateway,
  type TransferRequest,
  type TransferResult,
  type VoidRequest,
  type VoidResult,
} from './gateway.js';

/**
 * The embedded gateway, Tessera's answer to Stripe's test mode. Test payment methods behave as
 * Stripe's do (below), it refuses what Stripe refuses (capturing more than authorized, refunding
 * more than captured), and it keeps its books in SQL: the first result per idempotency key is
 * stored in the same transaction as the money it moved, so a retry with that key, after any
 * crash, gets the same answer and moves nothing.
 *
 * Injected trouble, for retry testing: `latencyMs` before every call, and `failureRate`, the
 * chance a call fails transiently: half of those before anything happens, half after the
 * effect committed with the answer "lost", the case idempotency keys exist for.
 */
export interface SandboxOptions {
  readonly latencyMs?: number;
  readonly failureRate?: number;
  /** Random source in [0, 1) for failure injection; tests pass a fixed sequence. */
  readonly random?: () => number;
}

type CardBehaviour =
  | { readonly kind: 'succeeds' }
  | { readonly kind: 'refund_fails' }
  | { readonly kind: 'requires_action' }
  | { readonly kind: 'declined'; readonly code: string; readonly declineCode?: string; readonly message: string };

/** Stripe's test payment methods (https://docs.stripe.com/testing), the ones Tessera's flows need. */
export const SANDBOX_CARDS: Readonly<Record<string, CardBehaviour>> = {
  pm_card_visa: { kind: 'succeeds' },
  pm_card_mastercard: { kind: 'succeeds' },
  pm_card_amex: { kind: 'succeeds' },
  pm_card_visa_debit: { kind: 'succeeds' },
  pm_card_refundFail: { kind: 'refund_fails' },
  pm_card_authenticationRequired: { kind: 'requires_action' },
  pm_card_chargeDeclined: { kind: 'declined', code: 'card_declined', declineCode: 'generic_decline', message: 'Your card was declined.' },
  pm_card_chargeDeclinedInsufficientFunds: {
    kind: 'declined',
    code: 'card_declined',
    declineCode: 'insufficient_funds',
    message: 'Your card has insufficient funds.',
  },
  pm_card_chargeDeclinedExpiredCard: { kind: 'declined', code: 'expired_card', message: 'Your card has expired.' },
  pm_card_chargeDeclinedProcessingError: { kind: 'declined', code: 'processing_error', message: 'An error occurred while processing your card.' },
};

/**
 * A test token, or one naming a card of its own: `pm_card_visa--<card>` behaves as `pm_card_visa`
 * and is another card to fraud screening (its fingerprint), as two real cards of one brand are.
 */
const cardBehaviour = (paymentMethodId: string): CardBehaviour =>
  SANDBOX_CARDS[paymentMethodId.split('--')[0]!] ?? { kind: 'declined', code: 'resource_missing', message: `No such PaymentMethod: '${paymentMethodId}'` };

interface IntentRow {
  reference: string;
  payment_method: string;
  amount: string;
  authorized: string;
  captured: string;
  refunded: string;
  status: string;
  metadata: Record<string, string>;
}

export interface SandboxIntent {
  readonly reference: string;
  readonly paymentMethod: string;
  readonly amount: number;
  readonly authorized: number;
  readonly captured: number;
  readonly refunded: number;
  readonly status: string;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface SandboxGateway extends PaymentGateway, PayoutGateway {
  /** How often a key was called, and whether its effect happened (at most once, by design). */
  callsFor(idempotencyKey: string): Promise<{ calls: number; executed: boolean }>;
  /** The intents created for one of our payments (metadata.paymentId), e.g. to count charges. */
  intentsFor(paymentId: string): Promise<SandboxIntent[]>;
}

/** Stripe-looking references, derived from the idempotency key so a replay names the same one. */
const referenceFor = (prefix: string, key: string) => `${prefix}_sandbox_${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;

export function createSandboxGateway(sql: SqlClient, options: SandboxOptions = {}): SandboxGateway {
  const latencyMs = options.latencyMs ?? 0;
  const failureRate = options.failureRate ?? 0;
  const random = options.random ?? Math.random;

  /** Runs `perform` once per key, in one transaction with the record of its result. */
  function once<R>(operation: string, key: string, request: unknown, perform: (tx: SqlExecutor) => Promise<R>): Promise<R> {
    return onceWith(operation, key, request, (requestHash) =>
      sql.transaction(async (tx) => {
        const { rows } = await tx.query<{ calls: number; result: R | null; request_hash: string }>(
          `INSERT INTO sandbox_gateway_operations (idempotency_key, operation, request_hash) VALUES ($1, $2, $3)
             ON CONFLICT (idempotency_key) DO UPDATE
               SET calls = sandbox_gateway_operations.calls + 1, last_called_at = now()
           RETURNING calls, result, request_hash`,
          [key, operation, requestHash],
        );
        const row = rows[0]!;
        if (row.calls > 1) return row;
        const outcome = await perform(tx);
        await tx.query('UPDATE sandbox_gateway_operations SET result = $2 WHERE idempotency_key = $1', [key, JSON.stringify(outcome)]);
        return { ...row, result: outcome };
      }),
    );
  }

  /**
   * The sandbox's latency and injected failures around `record`, which stores the key's call and
   * answers the key's record: a repeated call gets the first call's result, or an error when the
   * key is reused for a different request.
   */
  async function onceWith<R>(
    operation: string,
    key: string,
    request: unknown,
    record: (requestHash: string) => Promise<{ calls: number; result: R | null; request_hash: string }>,
  ): Promise<R> {
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    const roll = failureRate > 0 ? random() : 1;
    if (roll < failureRate / 2) throw new TransientGatewayError(`sandbox: injected failure before ${operation}`);
    const requestHash = createHash('sha256').update(JSON.stringify({ operation, request })).digest('hex');
    const row = await record(requestHash);
    if (row.calls > 1 && row.request_hash !== requestHash) {
      throw new Error(`sandbox: idempotency key ${key} was used for a different ${operation} request`);
    }
    if (roll < failureRate) throw new TransientGatewayError(`sandbox: injected failure after ${operation} (answer lost)`);
    return row.result as R;
  }

  /**
   * A new intent for a charge or an authorization, once per key. Its outcome depends on the
   * request alone (the card's behaviour), so the key's record, its result and the intent go in
   * one statement: the intent is inserted only by the first call, which the record's count tells.
   */
  async function createIntent(operation: 'charge' | 'authorize', request: ChargeRequest): Promise<PaymentResult> {
    const capture = operation === 'charge';
    const reference = referenceFor('pi', request.idempotencyKey);
    const behaviour = cardBehaviour(request.paymentMethodId);
    // A challenged purchase on a card that would succeed asks for 3-D Secure, as Stripe's test cards do.
    const card: typeof behaviour = request.threeDSecure === 'required' && behaviour.kind === 'succeeds' ? { kind: 'requires_action' } : behaviour;
    const [outcome, status, authorized, captured] = ((): [PaymentResult, string, number, number] => {
      switch (card.kind) {
        case 'declined': {
          const { kind: _kind, ...decline } = card;
          return [{ kind: 'declined', reference, ...decline }, 'requires_payment_method', 0, 0];
        }
        case 'requires_action':
          return [{ kind: 'requires_action', reference, nextAction: { type: 'authenticate', clientSecret: `${reference}_secret` } }, 'requires_action', 0, 0];
        case 'succeeds':
        case 'refund_fails':
          return [{ kind: 'succeeded', reference, amount: request.amount }, capture ? 'succeeded' : 'requires_capture', request.amount, capture ? request.amount : 0];
        default: {
          const unknown: never = card;
          throw new Error(`unknown card behaviour ${JSON.stringify(unknown)}`);
        }
      }
    })();
    return onceWith(operation, request.idempotencyKey, request, async (requestHash) => {
      const { rows } = await sql.query<{ calls: number; result: PaymentResult | null; request_hash: string }>(
        `WITH operation AS (
           INSERT INTO sandbox_gateway_operations (idempotency_key, operation, request_hash, result) VALUES ($1, $2, $3, $4)
             ON CONFLICT (idempotency_key) DO UPDATE
               SET calls = sandbox_gateway_operations.calls + 1, last_called_at = now()
           RETURNING calls, result, request_hash
         ), intent AS (
           INSERT INTO sandbox_gateway_intents (reference, payment_method, currency, amount, authorized, captured, status, metadata)
           SELECT $5, $6, $7, $8, $9, $10, $11, $12 FROM operation WHERE operation.calls = 1
         )
         SELECT calls, result, request_hash FROM operation`,
        [
          request.idempotencyKey,
          operation,
          requestHash,
          JSON.stringify(outcome),
          reference,
          request.paymentMethodId,
          request.currency,
          request.amount,
          authorized,
          captured,
          status,
          JSON.stringify(request.metadata),
        ],
      );
      return rows[0]!;
    });
  }

  const lockIntent = async (tx: SqlExecutor, reference: string): Promise<IntentRow | undefined> =>
    (
      await tx.query<IntentRow>(
        `SELECT reference, payment_method, amount::text AS amount, authorized::text AS authorized, captured::text AS captured,
                refunded::text AS refunded, status, metadata
           FROM sandbox_gateway_intents WHERE reference = $1 FOR UPDATE`,
        [reference],
      )
    ).rows[0];

  async function captureIntent(tx: SqlExecutor, request: CaptureRequest): Promise<PaymentResult> {
    const intent = await lockIntent(tx, request.reference);
    if (!intent) return { kind: 'declined', code: 'resource_missing', message: `No such payment_intent: '${request.reference}'` };
    if (intent.status !== 'requires_capture') {
      return { kind: 'declined', reference: intent.reference, code: 'payment_intent_unexpected_state', message: `intent is ${intent.status}` };
    }
    if (request.amount > Number(intent.authorized)) {
      return { kind: 'declined', reference: intent.reference, code: 'amount_too_large', message: 'cannot capture more than authorized' };
    }
    await tx.query(`UPDATE sandbox_gateway_intents SET captured = $2, status = 'succeeded' WHERE reference = $1`, [intent.reference, request.amount]);
    return { kind: 'succeeded', reference: intent.reference, amount: request.amount };
  }

  async function voidIntent(tx: SqlExecutor, request: VoidRequest): Promise<VoidResult> {
    const intent = await lockIntent(tx, request.reference);
    if (!intent) return { kind: 'failed', code: 'resource_missing', message: `No such payment_intent: '${request.reference}'` };
    if (!['requires_capture', 'requires_action', 'requires_payment_method', 'canceled'].includes(intent.status)) {
      return { kind: 'failed', code: 'payment_intent_unexpected_state', message: `cannot cancel an intent that is ${intent.status}` };
    }
    await tx.query(`UPDATE sandbox_gateway_intents SET status = 'canceled' WHERE reference = $1`, [intent.reference]);
    return { kind: 'voided', reference: intent.reference };
  }

  async function refundIntent(tx: SqlExecutor, request: RefundRequest): Promise<RefundResult> {
    const intent = await lockIntent(tx, request.reference);
    if (!intent) return { kind: 'failed', code: 'resource_missing', message: `No such payment_intent: '${request.reference}'` };
    if (intent.status !== 'succeeded') return { kind: 'failed', code: 'charge_not_captured', message: `intent is ${intent.status}` };
    if (cardBehaviour(intent.payment_method).kind === 'refund_fails') {
      return { kind: 'failed', code: 'refund_failed', message: 'The refund could not be sent to the card.' };
    }
    const left = Number(intent.captured) - Number(intent.refunded);
    if (request.amount <= 0 || request.amount > left) {
      return { kind: 'failed', code: 'amount_too_large', message: `refund of ${request.amount} exceeds the ${left} left on the charge` };
    }
    await tx.query('UPDATE sandbox_gateway_intents SET refunded = refunded + $2 WHERE reference = $1', [intent.reference, request.amount]);
    return { kind: 'succeeded', reference: referenceFor('re', request.idempotencyKey), amount: request.amount };
  }

  return {
    name: 'sandbox',
    authorize: (request) => createIntent('authorize', request),
    charge: (request) => createIntent('charge', request),
    capture: (request) => once('capture', request.idempotencyKey, request, (tx) => captureIntent(tx, request)),
    void: (request) => once('void', request.idempotencyKey, request, (tx) => voidIntent(tx, request)),
    refund: (request) => once('refund', request.idempotencyKey, request, (tx) => refundIntent(tx, request)),
    transfer: (request) => once('transfer', request.idempotencyKey, request, () => Promise.resolve(transferResult(request))),
    async callsFor(idempotencyKey) {
      const { rows } = await sql.query<{ calls: number; executed: boolean }>(
        'SELECT calls, result IS NOT NULL AS executed FROM sandbox_gateway_operations WHERE idempotency_key = $1',
        [idempotencyKey],
      );
      return rows[0] ?? { calls: 0, executed: false };
    },
    async intentsFor(paymentId) {
      const { rows } = await sql.query<IntentRow>(
        `SELECT reference, payment_method, amount::text AS amount, authorized::text AS authorized, captured::text AS captured,
                refunded::text AS refunded, status, metadata
           FROM sandbox_gateway_intents WHERE metadata->>'paymentId' = $1 ORDER BY created_at, reference`,
        [paymentId],
      );
      return rows.map((row) => ({
        reference: row.reference,
        paymentMethod: row.payment_method,
        amount: Number(row.amount),
        authorized: Number(row.authorized),
        captured: Number(row.captured),
        refunded: Number(row.refunded),
        status: row.status,
        metadata: row.metadata,
      }));
    },
  };
}

/**
 * A sandbox payout: paid, unless the destination is `acct_sandbox_fails` (to test a refused
 * transfer) or the amount is not a positive integer. Its record is the operation's stored result.
 */
function transferResult(request: TransferRequest): TransferResult {
  if (!Number.isSafeInteger(request.amount) || request.amount <= 0) {
    return { kind: 'failed', code: 'amount_invalid', message: `cannot transfer ${request.amount}` };
  }
  if (request.destination === 'acct_sandbox_fails') {
    return { kind: 'failed', code: 'account_invalid', message: 'The destination account cannot receive transfers.' };
  }
  return { kind: 'paid', reference: referenceFor(request.instant ? 'po_instant' : 'tr', request.idempotencyKey), amount: request.amount };
}
