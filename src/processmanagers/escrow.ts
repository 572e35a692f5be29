import { z } from 'zod';
import type { EscrowCommand, EscrowState } from '../aggregates/escrow.js';
import { paymentHandler } from '../commands/payment.js';
import { escrowHandler, listingHandler } from '../commands/escrow.js';
import type { CommandContext } from '../commands/handle-command.js';
import { derivedId } from '../domain/ids.js';
import { isTesseraError } from '../errors.js';
import type { EventStore, RecordedEvent } from '../eventstore/event-store.js';
import type { EscrowEvent } from '../events/escrow.js';
import type { PaymentGateway } from '../gateways/gateway.js';
import { TransientChainError, type Minter } from '../gateways/minter.js';
import { contextFromDeadline, deadlineCause, deadlineHandler, type DeadlineHandler, type Deadlines } from './runtime/deadlines.js';
import type { RiskAssessor } from '../commands/risk.js';
import { processManager, type ProcessManager } from './runtime/process-manager.js';
import { PermanentFailure } from '../errors.js';
import { contextFromEvent } from '../commands/handle-command.js';

export const ESCROW_RELEASE = 'escrow-release';
export const ESCROW_TRANSFER_CHECK = 'escrow-transfer-check';

export const releaseDeadlineId = (escrowId: string): string => `${ESCROW_RELEASE}:${escrowId}`;
const transferCheckId = (escrowId: string, check: number): string => `${ESCROW_TRANSFER_CHECK}:${escrowId}:${check}`;

export interface EscrowProcessDeps {
  readonly store: EventStore;
  readonly gateway: PaymentGateway;
  readonly minter: Minter;
  readonly deadlines: Pick<Deadlines, 'schedule'>;
  /** How often the NFT transfer's confirmation is looked for. */
  readonly transferCheckMs: number;
  readonly clock?: () => Date;
  /** The payment that first sold the escrow's ticket (the tickets read model knows it). */
  readonly sourcePaymentOf: (ticketId: string) => Promise<string | undefined>;
  /** Fraud screening's feature store: a resale that ends unpaid or refunded gives its ticket back to the per-event cap. */
  readonly risk?: Pick<RiskAssessor, 'releaseTickets'>;
}

const ACTOR = 'system:escrow';

/** Refusals that mean the listing is not this buyer's to have: the escrow fails without a charge. */
const LISTING_GONE = new Set(['LISTING_NOT_AVAILABLE', 'LISTING_NOT_FOUND', 'CANNOT_BUY_OWN_LISTING']);

/** The payload of the release deadline; `extension` counts the times it was pushed back (absent on the first). */
const releasePayload = z.object({ escrowId: z.string(), extension: z.number().int().optional(), ...deadlineCause });
type ReleasePayload = z.input<typeof releasePayload>;

/** The payload of a transfer check: the `check`th look for the transaction `txHash`. */
const transferCheckPayload = z.object({ escrowId: z.string(), txHash: z.string(), check: z.number().int(), ...deadlineCause });
type TransferCheck = z.input<typeof transferCheckPayload>;

/**
 * The resale: escrow created -> listing reserved -> buyer charged (funded) -> NFT transfer
 * submitted, its confirmation looked for by a durable deadline every `transferCheckMs` ->
 * released once confirmed. The release deadline (durable, `releaseTimeoutMs` after funding)
 * refunds the buyer if the release has not happened by then. Every gateway and chain call is
 * keyed by the triggering event, every command's id derives from it, so a step run twice has
 * one effect.
 */
export function escrowProcess(deps: EscrowProcessDeps): ProcessManager {
  const clock = deps.clock ?? (() => new Date());
  const context = (cause: RecordedEvent, step: string) => contextFromEvent(cause, step, ACTOR, clock());

  const reopen = (event: RecordedEvent, state: EscrowState, reason: string) =>
    listingHandler.handle(
      deps.store,
      state.terms!.listingId,
      { type: 'ReopenListing', data: { escrowId: state.terms!.escrowId, reason } },
      context(event, 'reopen'),
    );

  return processManager<EscrowEvent>('escrow', {
    EscrowCreated: async (event) => {
      const terms = event.data;
      const { state } = await escrowHandler.load(deps.store, terms.escrowId);
      if (state.status !== 'created') return;
      const fail = (code: string, reason: string, declineCode?: string) =>
        escrowHandler.handle(
          deps.store,
          terms.escrowId,
          { type: 'RecordFundingFailure', data: { code, reason, ...(declineCode ? { declineCode } : {}) } },
          context(event, 'outcome'),
        );
      try {
        await listingHandler.handle(
          deps.store,
          terms.listingId,
          { type: 'ReserveListing', data: { escrowId: terms.escrowId, buyerId: terms.buyerId } },
          context(event, 'reserve'),
        );
      } catch (error) {
        if (isTesseraError(error) && LISTING_GONE.has(error.code)) {
          await fail('listing_unavailable', error.message);
          return;
        }
        throw error;
      }
      const result = await deps.gateway.charge({
        idempotencyKey: derivedId(event.id, 'charge'),
        amount: terms.amount,
        currency: terms.currency,
        paymentMethodId: terms.paymentMethodId,
        metadata: { escrowId: terms.escrowId, listingId: terms.listingId },
        ...(terms.threeDSecure ? { threeDSecure: terms.threeDSecure } : {}),
      });
      switch (result.kind) {
        case 'succeeded':
          await escrowHandler.handle(
            deps.store,
            terms.escrowId,
            { type: 'RecordFunding', data: { gateway: deps.gateway.name, gatewayReference: result.reference, fundedAt: clock().toISOString() } },
            context(event, 'outcome'),
          );
          return;
        case 'declined':
          await fail(result.code, result.message, result.declineCode);
          return;
        case 'requires_action': {
          // Resale takes no 3-D Secure round trip: the intent is cancelled and the purchase fails.
          await deps.gateway.void({ idempotencyKey: derivedId(event.id, 'void'), reference: result.reference });
          await fail('authentication_required', 'the card needs authentication, which resale purchases do not support');
          return;
        }
        default: {
          const unknown: never = result;
          throw new Error(`unknown gateway result ${JSON.stringify(unknown)}`);
        }
      }
    },

    EscrowFunded: async (event) => {
      const { data } = event;
      const { state } = await escrowHandler.load(deps.store, data.escrowId);
      const terms = state.terms!;
      const payload = { escrowId: data.escrowId, tenantId: event.metadata.tenantId, correlationId: event.metadata.correlationId } satisfies ReleasePayload;
      await deps.deadlines.schedule({ id: releaseDeadlineId(data.escrowId), kind: ESCROW_RELEASE, dueAt: new Date(data.releaseDeadline), payload });
      if (state.status !== 'funded') return;
      const transfer = await deps.minter.transfer({
        idempotencyKey: derivedId(event.id, 'transfer'),
        chain: terms.chain,
        ticketId: terms.ticketId,
        fromOwnerId: terms.sellerId,
        toOwnerId: terms.buyerId,
      });
      // Recorded before it is looked for: the release deadline asks the chain about this hash, and the ledger books its gas.
      await escrowHandler.handle(
        deps.store,
        data.escrowId,
        { type: 'RecordTransferSubmission', data: { txHash: transfer.txHash, gasFee: transfer.gasFee, currency: transfer.currency, submittedAt: clock().toISOString() } },
        context(event, 'transfer-submitted'),
      );
      await deps.deadlines.schedule({
        id: transferCheckId(data.escrowId, 1),
        kind: ESCROW_TRANSFER_CHECK,
        dueAt: new Date(clock().getTime() + deps.transferCheckMs),
        payload: { ...payload, txHash: transfer.txHash, check: 1 } satisfies TransferCheck,
      });
    },

    EscrowReleased: async (event) => {
      const { data } = event;
      const { state } = await escrowHandler.load(deps.store, data.escrowId);
      await listingHandler.handle(deps.store, state.terms!.listingId, { type: 'CompleteSale', data: { escrowId: data.escrowId } }, context(event, 'sold'));
    },

    EscrowRefunded: async (event) => {
      const { data } = event;
      await deps.risk?.releaseTickets(data.escrowId);
      const { state } = await escrowHandler.load(deps.store, data.escrowId);
      await reopen(event, state, data.reason);
      if (state.refundPaid) return;
      const result = await deps.gateway.refund({
        idempotencyKey: derivedId(event.id, 'gateway-refund'),
        reference: state.gatewayReference!,
        amount: data.amount,
        metadata: { escrowId: data.escrowId },
      });
      if (result.kind === 'failed') throw new PermanentFailure(`refund of escrow ${data.escrowId} refused: ${result.code} ${result.message}`);
      await escrowHandler.handle(deps.store, data.escrowId, { type: 'RecordRefundPaid', data: { gatewayReference: result.reference } }, context(event, 'refund-paid'));
    },

    EscrowFundingFailed: async (event) => {
      const { data } = event;
      await deps.risk?.releaseTickets(data.escrowId);
      const { state } = await escrowHandler.load(deps.store, data.escrowId);
      await reopen(event, state, data.code);
    },
  });
}

/**
 * Looks for the transfer's confirmation: confirmed releases the escrow; still pending, or the
 * chain not answering (a transient error), looks again later (a new deadline, until the escrow
 * is no longer funded: a confirmation after the release deadline still releases while the
 * deadline has pushed itself back); a transfer the chain refused waits for the release deadline
 * to refund the buyer.
 */
export function transferCheckHandler(
  deps: Pick<EscrowProcessDeps, 'store' | 'minter' | 'deadlines' | 'transferCheckMs' | 'clock' | 'sourcePaymentOf'>,
): DeadlineHandler {
  const clock = deps.clock ?? (() => new Date());
  return deadlineHandler(transferCheckPayload, async (deadline) => {
    const { payload } = deadline;
    const { state } = await escrowHandler.load(deps.store, payload.escrowId);
    if (state.status !== 'funded') return;
    const now = clock();
    const status = await chainStatus(deps.minter, payload.txHash);
    if (status === 'confirmed') {
      await releaseUnlessSourceRefunded(deps, state, payload.txHash, contextFromDeadline(deadline, 'release', 'system:escrow-transfer-check', now));
      return;
    }
    // Pending or unanswered (a transient chain error): look again, while the escrow is funded; the release deadline decides the rest.
    if (status === 'failed') return;
    await deps.deadlines.schedule({
      id: transferCheckId(payload.escrowId, payload.check + 1),
      kind: ESCROW_TRANSFER_CHECK,
      dueAt: new Date(now.getTime() + deps.transferCheckMs),
      payload: { ...payload, check: payload.check + 1 } satisfies TransferCheck,
    });
  });
}

/**
 * Releases a funded escrow whose transfer is confirmed, unless the ticket's source payment has
 * seen a refund (requested, paid or charged back): then the seller sold a ticket they were paid
 * back for, and the resale's buyer is refunded instead (`source_payment_refunded`). The payment
 * stream is read right before the escrow's append; the buyer's refund refuses a ticket whose
 * listing exists (`src/commands/refund-payment.ts`), so a refund can only precede the listing.
 */
async function releaseUnlessSourceRefunded(
  deps: Pick<EscrowProcessDeps, 'store' | 'sourcePaymentOf'>,
  state: EscrowState,
  txHash: string,
  context: CommandContext,
): Promise<void> {
  const terms = state.terms!;
  const paymentId = await deps.sourcePaymentOf(terms.ticketId);
  if (!paymentId) throw new Error(`ticket ${terms.ticketId} of escrow ${terms.escrowId} has no known payment yet`);
  const { state: payment } = await paymentHandler.load(deps.store, paymentId);
  const refunded = payment.refunded + payment.refundPending + payment.chargedBack > 0;
  const command: EscrowCommand = refunded
    ? { type: 'RefundEscrow', data: { reason: 'source_payment_refunded', refundedAt: context.now.toISOString() } }
    : { type: 'ReleaseEscrow', data: { transferTxHash: txHash, releasedAt: context.now.toISOString() } };
  await escrowHandler.handle(deps.store, terms.escrowId, command, context);
}

/** How many times the release deadline is pushed back while the transfer is still pending. */
export const MAX_RELEASE_EXTENSIONS = 3;

/** The chain's answer for a transaction, `unknown` when it could not answer (a transient error). */
async function chainStatus(minter: Pick<Minter, 'status'>, txHash: string): Promise<'confirmed' | 'pending' | 'failed' | 'unknown'> {
  try {
    return await minter.status(txHash);
  } catch (error) {
    if (error instanceof TransientChainError) return 'unknown';
    throw error;
  }
}

/**
 * The release deadline of a still-funded escrow asks the chain about the recorded transfer:
 * confirmed -> released (unless the source payment was refunded); pending or unanswered -> the
 * deadline moves back by the escrow's release timeout, at most MAX_RELEASE_EXTENSIONS times;
 * failed, never submitted, or still pending after the last extension -> the buyer is refunded.
 * Past funded (released, refunded, disputed) there is nothing to decide.
 */
export function escrowReleaseDeadlineHandler(
  deps: Pick<EscrowProcessDeps, 'store' | 'minter' | 'deadlines' | 'sourcePaymentOf' | 'clock'>,
): DeadlineHandler {
  const clock = deps.clock ?? (() => new Date());
  return deadlineHandler(releasePayload, async (deadline) => {
    const { payload } = deadline;
    const now = clock();
    const { state } = await escrowHandler.load(deps.store, payload.escrowId);
    const refund = () =>
      escrowHandler.handle(
        deps.store,
        payload.escrowId,
        { type: 'RefundEscrow', data: { reason: 'transfer_not_confirmed', refundedAt: now.toISOString() } },
        contextFromDeadline(deadline, 'refund', 'system:escrow-release', now),
      );
    if (state.status !== 'funded' || !state.transfer) {
      await refund();
      return;
    }
    const status = await chainStatus(deps.minter, state.transfer.txHash);
    if (status === 'confirmed') {
      await releaseUnlessSourceRefunded(deps, state, state.transfer.txHash, contextFromDeadline(deadline, 'release', 'system:escrow-release', now));
      return;
    }
    const extension = (payload.extension ?? 0) + 1;
    if (status === 'failed' || extension > MAX_RELEASE_EXTENSIONS) {
      await refund();
      return;
    }
    await deps.deadlines.schedule({
      id: `${releaseDeadlineId(payload.escrowId)}:${extension}`,
      kind: ESCROW_RELEASE,
      dueAt: new Date(now.getTime() + state.terms!.releaseTimeoutMs),
      payload: { escrowId: payload.escrowId, tenantId: payload.tenantId, correlationId: payload.correlationId, extension } satisfies ReleasePayload,
    });
  });
}
