import type { Config } from '../config.js';
import type { SqlClient } from '../db/sql-client.js';
import { calculateFees, calculateTaxForVenue, type FeeQuote, type SeedTaxResponse } from '../commands/fees.js';
import type { CommandContext } from '../commands/handle-command.js';
import { paymentHandler } from '../commands/payment.js';
import { processPayment, type ProcessPaymentInput, type PurchaseOutcome } from '../commands/payment.js';
import { refundPayment, type RefundPaymentInput, type RefundReceipt } from '../commands/payment.js';
import { findVenueProfile, saveVenueProfile, type SaveVenueProfileResult } from '../commands/venue.js';
import { STRIPE_WEBHOOK_RETRY, stripeWebhooks, type StripeWebhooks } from '../processmanagers/stripe-webhook.js';
import type { CatalogueState } from '../aggregates/catalogue.js';
import type { PaymentState } from '../aggregates/payment.js';
import { loadCatalogue, saveTicketType, type SaveTicketTypeResult, type TicketTypeKey } from '../commands/catalogue.js';
import type { TicketTypeTerms } from '../events/catalogue.js';
import type { Chain } from '../domain/fees.js';
import type { TaxAddress } from '../domain/tax.js';
import { TesseraError } from '../errors.js';
import type { EventStore } from '../eventstore/event-store.js';
import { startSubscription, type Subscription } from '../eventstore/subscription.js';
import type { VenueProfileData } from '../events/venue.js';
import type { PaymentGateway } from '../gateways/gateway.js';
import { createSandboxGateway } from '../gateways/sandbox.js';
import { createStripeClient, createStripeGateway } from '../gateways/stripe.js';
import type { Logger } from '../logger.js';
import { createDeadlines, type DeadlineHandler, type Deadlines } from '../processmanagers/runtime/deadlines.js';
import { sqlParking, type ParkedWork, type Parking } from '../processmanagers/runtime/parking.js';
import { paymentExpiryHandler } from '../processmanagers/payment.js';
import { rerunParkedEvent, startProcessManager, type ProcessManager, type RunningProcessManager } from '../processmanagers/runtime/process-manager.js';
import { PAYMENT_EXPIRY, purchaseProcess } from '../processmanagers/payment.js';
import { refundProcess } from '../processmanagers/payment.js';
import type { RetryPolicy } from '../processmanagers/runtime/retry.js';
import { sqlGatewayReferences } from '../gateways/gateway-references.js';
import { createPaymentMetrics, paymentMetricsProjector, type PaymentMetrics } from '../projections/payment-metrics.js';
import { sqlVenueVolume, venueVolumeProjector, type VenueVolume } from '../projections/venue-volume.js';

/** The settings that pick and reach the payment gateway (payments and payouts share them). */
export type GatewayConfig = Pick<Config, 'GATEWAY' | 'SANDBOX_LATENCY_MS' | 'SANDBOX_FAILURE_RATE' | StripeConfigKey>;
type StripeConfigKey = 'STRIPE_SECRET_KEY' | 'STRIPE_API_HOST' | 'STRIPE_API_PORT' | 'STRIPE_API_PROTOCOL';

type PaymentsConfig = GatewayConfig &
  Pick<
    Config,
    | 'PAYMENT_CAPTURE_MODE'
    | 'PAYMENT_WAIT_MS'
    | 'PENDING_PAYMENT_TTL_MS'
    | 'PM_MAX_ATTEMPTS'
    | 'PM_RETRY_INITIAL_MS'
    | 'PM_RETRY_MAX_MS'
    | 'PM_CONCURRENCY'
    | 'DEADLINE_POLL_MS'
    | 'GAS_DEFAULT_CHAIN'
    | 'PAYOUT_ACCOUNT_CHANGE_HOLD_MS'
  >;

export interface PaymentsModuleDeps {
  readonly store: EventStore;
  readonly sql: SqlClient;
  readonly config: PaymentsConfig;
  readonly logger?: Logger;
  /** Defaults to the one `GATEWAY` selects. */
  readonly gateway?: PaymentGateway;
  readonly clock?: () => Date;
  /** Idle wait of the module's subscriptions (tests shorten it). */
  readonly idleWaitMs?: number;
}

/** What routes call. Inputs are already validated (zod at the edge); contexts come from the request. */
export interface PaymentServices {
  processPayment(input: ProcessPaymentInput, context: CommandContext, options?: { waitMs?: number }): Promise<PurchaseOutcome>;
  calculateFees(input: { venueId: string; amount: number; ticketCount: number; chain?: Chain }, now?: Date): Promise<FeeQuote>;
  calculateTax(input: { amount: number; venueAddress: TaxAddress; customerAddress?: Partial<TaxAddress> }): SeedTaxResponse;
  refundPayment(input: RefundPaymentInput, context: CommandContext): Promise<RefundReceipt>;
  /** The write side's own view of a payment (its stream folded); PAYMENT_NOT_FOUND when absent. */
  getPayment(paymentId: string): Promise<PaymentState>;
  saveVenueProfile(input: { venueId: string } & VenueProfileData, context: CommandContext): Promise<SaveVenueProfileResult>;
  /** Registers or revises a ticket type in an event's catalogue at a venue (its prices). */
  saveTicketType(input: TicketTypeKey & TicketTypeTerms, context: CommandContext): Promise<SaveTicketTypeResult>;
  /** The event's catalogue at the venue, from its stream. */
  getCatalogue(venueId: string, eventId: string): Promise<CatalogueState>;
  getVenueProfile(venueId: string): Promise<VenueProfileData>;
  receiveStripeEvent: StripeWebhooks['receive'];
  listParked(options?: { includeResolved?: boolean; limit?: number }): Promise<ParkedWork[]>;
  /** Runs parked work once more; resolves with the row after the attempt (resolved or with the new error). */
  retryParked(id: string): Promise<ParkedWork>;
  /** Seed 003's payment metrics, unregistered: the payments route module puts them on the app's registry. */
  readonly metrics: PaymentMetrics;
}

export interface PaymentsModule {
  readonly services: PaymentServices;
  readonly gateway: PaymentGateway;
  readonly deadlines: Deadlines;
  /** How parked work of other modules is retried, by its source (`pm:escrow`, `mint`). */
  readonly parkedHandlers: Record<string, (work: ParkedWork) => Promise<void>>;
  readonly parking: Parking;
  readonly volume: VenueVolume;
  readonly processManagers: readonly ProcessManager[];
  /**
   * Lets another module (group payments, venues) run its process managers and deadline kinds
   * with this module's retries, parking and deadline poller; call it before start().
   */
  extend(extra: { processManagers?: readonly ProcessManager[]; deadlineHandlers?: Readonly<Record<string, DeadlineHandler>> }): void;
  /** Starts the process managers, the venue-volume and metrics projectors and the deadline poller. */
  start(): void;
  stop(): Promise<void>;
}

/** The Stripe SDK client the settings describe (GATEWAY=stripe). */
export function stripeClientFromConfig(config: Pick<Config, StripeConfigKey>) {
  return createStripeClient({
    secretKey: config.STRIPE_SECRET_KEY!,
    ...(config.STRIPE_API_HOST ? { host: config.STRIPE_API_HOST } : {}),
    ...(config.STRIPE_API_PORT ? { port: config.STRIPE_API_PORT } : {}),
    ...(config.STRIPE_API_PROTOCOL ? { protocol: config.STRIPE_API_PROTOCOL } : {}),
  });
}

export function gatewayFromConfig(config: PaymentsConfig, sql: SqlClient): PaymentGateway {
  if (config.GATEWAY === 'stripe') return createStripeGateway(stripeClientFromConfig(config));
  return createSandboxGateway(sql, { latencyMs: config.SANDBOX_LATENCY_MS, failureRate: config.SANDBOX_FAILURE_RATE });
}

export function createPaymentsModule(deps: PaymentsModuleDeps): PaymentsModule {
  const { store, sql, config } = deps;
  const clock = deps.clock ?? (() => new Date());
  const gateway = deps.gateway ?? gatewayFromConfig(config, sql);
  const retry: RetryPolicy = { maxAttempts: config.PM_MAX_ATTEMPTS, initialMs: config.PM_RETRY_INITIAL_MS, maxMs: config.PM_RETRY_MAX_MS };
  const parking = sqlParking(sql);
  const references = sqlGatewayReferences(sql);
  const volume = sqlVenueVolume(sql);
  const handlers: Record<string, Parameters<typeof createDeadlines>[1]['handlers'][string]> = {};
  const deadlines = createDeadlines(sql, {
    handlers,
    clock,
    pollMs: config.DEADLINE_POLL_MS,
    retry,
    parking,
    ...(deps.logger ? { logger: deps.logger } : {}),
  });
  const webhooks = stripeWebhooks({ sql, store, references, deadlines, parking, retry, clock });
  handlers[PAYMENT_EXPIRY] = paymentExpiryHandler(store, clock);
  handlers[STRIPE_WEBHOOK_RETRY] = async (deadline) => {
    await webhooks.reprocess(String(deadline.payload.stripeEventId));
  };
  const processManagers = [purchaseProcess({ store, gateway, references, deadlines, clock }), refundProcess({ store, gateway, clock })];
  const running: RunningProcessManager[] = [];
  const metrics = createPaymentMetrics();
  let projectors: Subscription[] = [];
  const subscriptionOptions = deps.idleWaitMs === undefined ? {} : { idleWaitMs: deps.idleWaitMs };

  const parkedHandlers: Record<string, (work: ParkedWork) => Promise<void>> = {};
  async function rerun(work: ParkedWork): Promise<void> {
    const other = parkedHandlers[work.source];
    if (other) return other(work);
    if (work.source === 'deadline') return deadlines.retryParked(String(work.item.deadlineId));
    if (work.source === 'webhook:stripe') {
      const status = await webhooks.reprocess(String(work.item.stripeEventId));
      if (status === 'parked') throw new Error('the webhook was parked again');
      return;
    }
    const pm = processManagers.find((p) => `pm:${p.name}` === work.source);
    if (!pm) throw new Error(`no process manager for ${work.source}`);
    return rerunParkedEvent(store, pm, work.item);
  }

  const services: PaymentServices = {
    async processPayment(input, context, options) {
      metrics.active.inc();
      try {
        return await processPayment(
          {
            store,
            volume,
            captureMode: config.PAYMENT_CAPTURE_MODE,
            pendingTtlMs: config.PENDING_PAYMENT_TTL_MS,
            waitMs: options?.waitMs ?? config.PAYMENT_WAIT_MS,
            defaultChain: config.GAS_DEFAULT_CHAIN,
          },
          input,
          context,
        );
      } finally {
        metrics.active.dec();
      }
    },
    calculateFees: (input, now = clock()) => calculateFees({ store, volume, defaultChain: config.GAS_DEFAULT_CHAIN }, input, now),
    calculateTax: (input) => calculateTaxForVenue(input),
    refundPayment: (input, context) => refundPayment(store, input, context),
    async getPayment(paymentId) {
      const { state } = await paymentHandler.load(store, paymentId);
      if (!state.request) throw new TesseraError('PAYMENT_NOT_FOUND', `payment ${paymentId} not found`, { paymentId });
      return state;
    },
    saveVenueProfile: (input, context) =>
      saveVenueProfile(store, input, context, { payoutAccountHoldMs: config.PAYOUT_ACCOUNT_CHANGE_HOLD_MS }),
    saveTicketType: (input, context) => saveTicketType(store, input, context),
    getCatalogue: (venueId, eventId) => loadCatalogue(store, venueId, eventId),
    async getVenueProfile(venueId) {
      const profile = await findVenueProfile(store, venueId);
      if (!profile) throw new TesseraError('VENUE_NOT_FOUND', `venue ${venueId} is not registered`, { venueId });
      return profile;
    },
    receiveStripeEvent: (event) => webhooks.receive(event),
    listParked: (options) => parking.list(options),
    async retryParked(id) {
      const work = await parking.get(id);
      if (!work) throw new TesseraError('PARKED_WORK_NOT_FOUND', `no parked work ${id}`, { id });
      try {
        await rerun(work);
        await parking.recordRetry(id, clock(), { ok: true });
      } catch (error) {
        await parking.recordRetry(id, clock(), { ok: false, error: error instanceof Error ? error.message : String(error) });
      }
      return (await parking.get(id))!;
    },
    metrics,
  };

  return {
    services,
    gateway,
    deadlines,
    parkedHandlers,
    parking,
    volume,
    processManagers,
    extend(extra) {
      processManagers.push(...(extra.processManagers ?? []));
      Object.assign(handlers, extra.deadlineHandlers ?? {});
    },
    start() {
      if (running.length > 0) return;
      for (const pm of processManagers) {
        running.push(
          startProcessManager(store, pm, {
            retry,
            parking,
            concurrency: config.PM_CONCURRENCY,
            clock,
            ...(deps.logger ? { logger: deps.logger } : {}),
            subscription: subscriptionOptions,
          }),
        );
      }
      const projectorOptions = { ...subscriptionOptions, ...(deps.logger ? { logger: deps.logger } : {}) };
      projectors = [
        startSubscription(store, venueVolumeProjector(sql), projectorOptions),
        startSubscription(store, paymentMetricsProjector(store, metrics), projectorOptions),
      ];
      deadlines.start();
    },
    async stop() {
      await deadlines.stop();
      await Promise.all(running.splice(0).map((pm) => pm.stop()));
      await Promise.all(projectors.splice(0).map((projector) => projector.stop()));
    },
  };
}
