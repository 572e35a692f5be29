import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter } from 'prom-client';
import { cacheAggregates, createAggregateCache } from './commands/aggregate-cache.js';
import { catalogueCommands, type CatalogueCommands } from './commands/catalogue.js';
import { escrowCommands, type EscrowCommands } from './commands/escrow.js';
import { groupPaymentCommands, type GroupPaymentCommands } from './commands/group-payment.js';
import { listingCommands, type ListingCommands } from './commands/listing.js';
import { paymentCommands, type PaymentCommands } from './commands/payment.js';
import { setRefundPolicy } from './commands/refund-policy.js';
import { payeeAccountCommands, type PayeeAccountCommands } from './commands/payee-account.js';
import { venueAccountCommands, type VenueAccountCommands } from './commands/venue-account.js';
import { venueProfileCommands, type VenueProfileCommands } from './commands/venue.js';
import type { Config } from './config.js';
import type { EventStore } from './eventstore/event-store.js';
import type { ResaleRules } from './domain/resale.js';
import type { RefundPolicySet } from './events/refund-policy.js';
import { createSharedTail, type SharedTail } from './eventstore/shared-tail.js';
import { startSubscription, type Subscription } from './eventstore/subscription.js';
import { sqlGatewayReferences } from './gateways/gateway-references.js';
import type { PaymentGateway, PayoutGateway } from './gateways/gateway.js';
import { logMailer, type Mailer } from './gateways/mailer.js';
import { sqlContactAddresses, type ContactAddresses } from './gateways/contact-addresses.js';
import { createSmtpMailer } from './gateways/mailer-smtp.js';
import { createUnaddressedCounter, notificationsProcess } from './processmanagers/notifications.js';
import type { Minter } from './gateways/minter.js';
import { createSandboxChain } from './gateways/sandbox-chain.js';
import { createSandboxGateway } from './gateways/sandbox.js';
import { createStripeClient, createStripeGateway, createStripePayoutGateway } from './gateways/stripe.js';
import type { Logger } from './logger.js';
import { ESCROW_RELEASE, ESCROW_TRANSFER_CHECK, escrowProcess, escrowReleaseDeadlineHandler, transferCheckHandler } from './processmanagers/escrow.js';
import { GROUP_PAYMENT_EXPIRY, GROUP_PAYMENT_REMINDER, groupDeadlineHandler, groupPaymentProcess } from './processmanagers/group-payment.js';
import { createMintWorker, MINT_PARKING_SOURCE, mintingProcess, type MintPriority } from './processmanagers/minting.js';
import { PAYMENT_EXPIRY, PAYMENT_REVIEW, paymentExpiryHandler, paymentReviewHandler, purchaseProcess, refundProcess } from './processmanagers/payment.js';
import { riskAssessor, riskCommands, type RiskAssessor, type RiskCommands } from './commands/risk.js';
import { fraudModel } from './domain/fraud-model.js';
import { createRedisRiskFeatureStore } from './gateways/risk-features-redis.js';
import { createSqlRiskFeatureStore } from './gateways/risk-features-sql.js';
import { createRiskMetrics, type RiskMetricSet } from './api/risk-metrics.js';
import { waitingRoomService, type WaitingRoomService } from './commands/waiting-room.js';
import { createWaitingRoomMetrics, type WaitingRoomMetricSet } from './api/waiting-room-metrics.js';
import { waitingRoomSecret, waitingRoomStores } from './runtime.js';
import type { ParkedWork } from './processmanagers/runtime/parking.js';
import type { RetryPolicy } from './processmanagers/runtime/retry.js';
import { createProcessManagerRuntime, type ProcessManagerRuntime } from './processmanagers/runtime/runtime.js';
import { STRIPE_WEBHOOK_RETRY, stripeWebhooks, type StripeWebhooks } from './processmanagers/stripe-webhook.js';
import {
  payoutProcess,
  reserveReleaseHandler,
  settlementHandler,
  settlementProcess,
  VENUE_RESERVE_RELEASE,
  VENUE_SETTLEMENT,
} from './processmanagers/venue-account.js';
import { payeeCreditProcess, payeePayoutProcess } from './processmanagers/payee-account.js';
import { projections } from './projections/all.js';
import { createReadSide, readSideSettings, type ReadSide } from './projections/engine/read-side.js';
import { groupMetricsProjector } from './projections/group-metrics.js';
import { royaltyReport, type RoyaltyReport } from './projections/ledger/queries.js';
import { payeePaidOutAccount, payeePayableAccount } from './projections/ledger/rules/payee-account.js';
import { payeeStatement, type PayeeStatement } from './projections/ledger/statements.js';
import type { Payee } from './events/payee-account.js';
import { createPaymentMetrics, paymentMetricsProjector, type PaymentMetrics } from './projections/payment-metrics.js';
import { findTicket } from './projections/tickets.js';
import { sqlVenueVolume } from './projections/venue-volume.js';
import type { Storage } from './runtime.js';
import { ticketInventory } from './commands/ticket-inventory.js';
import { createSqlTicketInventoryStore } from './gateways/ticket-inventory-sql.js';
import { ticketInventoryProcess } from './processmanagers/ticket-inventory.js';
import type { BrokerPublisher } from './gateways/broker.js';
import type { PublisherMetricSet } from './api/publisher-metrics.js';
import { brokersFor, createPublishing, integrationOptions } from './publishing.js';
import { webhookEndpointCommands, type WebhookEndpointCommands } from './commands/webhook-endpoints.js';
import { createSqlWebhookStore } from './gateways/webhook-store.js';
import { createHttpWebhookSender, type WebhookSender } from './gateways/webhook-sender.js';
import { startWebhooks, type WebhookRuntime } from './processmanagers/webhooks.js';
import { createWebhookMetrics, type WebhookMetricSet } from './api/webhook-metrics.js';
import type { RetrySchedule } from './domain/webhooks.js';

/**
 * The composition root: every adapter is picked here and nowhere else, and every command
 * service, process manager, deadline kind, worker and projection of Tessera is named here, once.
 * Building it starts nothing; `start()` starts the one process-manager runtime and the read side,
 * and `stop()` waits for the work in hand.
 */
export interface TesseraServices {
  readonly payments: PaymentCommands;
  readonly catalogue: CatalogueCommands;
  readonly venues: VenueProfileCommands &
    VenueAccountCommands & {
      setRefundPolicy: (policy: RefundPolicySet['data'], context: Parameters<typeof setRefundPolicy>[2]) => ReturnType<typeof setRefundPolicy>;
    };
  readonly groups: GroupPaymentCommands;
  /** Resale sellers' and royalty holders' payouts and statements (issue 23). */
  readonly payees: PayeeAccountCommands & {
    statement(
      payee: Payee,
      options: { currency: string; startDate: Date; endDate: Date; limit: number; after?: string },
    ): Promise<PayeeStatement>;
  };
  readonly resale: ListingCommands &
    EscrowCommands & {
      royaltyReport(venueId: string, range: { startDate?: Date; endDate?: Date }): Promise<RoyaltyReport>;
      /** The caps and split rates that apply at a venue (config, overridden per venue). */
      rulesFor(venueId: string): ResaleRules;
    };
  readonly webhooks: Pick<StripeWebhooks, 'receive'>;
  /** Work that failed for good: listed and retried by an operator. */
  readonly parked: Pick<ProcessManagerRuntime, 'listParked' | 'retryParked'>;
  /** The fraud operator's commands: reviews, lists, thresholds (issue 20). */
  readonly risk: RiskCommands;
  /** Seed 003's metrics, counted from the events; unregistered (the routes put them on the app's registry). */
  readonly metrics: {
    readonly payments: PaymentMetrics;
    readonly groupReminders: Counter;
    readonly risk: RiskMetricSet;
    readonly publishing: PublisherMetricSet;
    readonly notificationsUnaddressed: Counter<'kind'>;
    readonly webhooks: WebhookMetricSet;
    /** Stripe events acknowledged without acting on them (not one of Tessera's payments, a type it ignores), by reason. */
    readonly stripeWebhooksIgnored: Counter<'reason'>;
  };
  /** Webhooks out (issue 22): a tenant's endpoints, their secrets and their delivery log. */
  readonly webhookEndpoints: WebhookEndpointCommands;
  /** Buyers' e-mail addresses for receipts (issue 22), from their tokens' `email` claim; not in any event. */
  readonly contacts: Pick<ContactAddresses, 'record'>;
  /** Waiting rooms (issue 21): queues, admission, access tokens; `PurchaseAccess` for purchases. */
  readonly waitingRoom: WaitingRoomService;
  readonly waitingRoomMetrics: WaitingRoomMetricSet;
}

export interface Tessera {
  readonly services: TesseraServices;
  /** The read models: projections, the ledger, their status, rebuild and verify. */
  readonly readSide: ReadSide;
  readonly runtime: ProcessManagerRuntime;
  /** The payment gateway (the sandbox's books are read by tests and the CLI). */
  readonly gateway: PaymentGateway;
  readonly minter: Minter;
  /** The process's one reader of `$all` (its status shows in /admin and /metrics). */
  readonly tail: SharedTail;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface TesseraDependencies {
  readonly config: Config;
  readonly logger: Logger;
  readonly storage: Storage;
  readonly clock?: () => Date;
  /** Defaults to the one GATEWAY selects (tests put a faulty one here). */
  readonly gateway?: PaymentGateway;
  readonly payoutGateway?: PayoutGateway;
  readonly minter?: Minter;
  readonly mailer?: Mailer;
  /** Idle wait of the subscriptions (tests shorten it). */
  readonly idleWaitMs?: number;
  /** Events out: the brokers to publish to (default: those the config names; none when unset). */
  readonly brokers?: readonly BrokerPublisher[];
  /** Webhooks out: how deliveries are POSTed (default: HTTP with the config's address rules). */
  readonly webhookSender?: WebhookSender;
}

export function composeTessera(deps: TesseraDependencies): Tessera {
  const { config, logger, storage } = deps;
  const { sql, eventStore } = storage;
  // One reader of $all for the whole process: every subscription and every waiting request reads
  // the tail it keeps in memory (appends and stream reads still go straight to the store).
  // Aggregates just written or read stay in memory, so the next step on a stream need not read
  // it back; the tail drops any entry another writer has moved past.
  const aggregates = createAggregateCache();
  const tail = createSharedTail(eventStore, {
    logger,
    onEvents: (events) => aggregates.observe(events),
    // While the tail cannot read, the cache cannot learn of other writers: it stands down.
    onReading: (ok) => aggregates.setActive(ok && started),
    ...(deps.idleWaitMs === undefined ? {} : { idleWaitMs: deps.idleWaitMs }),
  });
  const store = tail.store;
  cacheAggregates(store, aggregates);
  const clock = deps.clock ?? (() => new Date());
  const gateway = deps.gateway ?? paymentGatewayFor(config, storage);
  const payoutGateway = deps.payoutGateway ?? payoutGatewayFor(config, storage);
  const minter =
    deps.minter ??
    createSandboxChain(sql, { confirmDelayMs: config.CHAIN_CONFIRM_DELAY_MS, failureRate: config.CHAIN_FAILURE_RATE, revertRate: config.CHAIN_REVERT_RATE, clock });
  // SMTP_URL set: receipts, refund confirmations and group links go out by SMTP, each key once (issue 22).
  const smtp = !deps.mailer && config.SMTP_URL && config.MAIL_FROM ? createSmtpMailer({ sql, url: config.SMTP_URL, from: config.MAIL_FROM, logger }) : undefined;
  const mailer = deps.mailer ?? smtp ?? logMailer(logger);
  const contacts = sqlContactAddresses(sql);
  const notificationsUnaddressed = createUnaddressedCounter();
  // Outside production (config requires it there) an unset secret is ephemeral: links live as long as the process.
  const linkSecret = config.GROUP_PAYMENT_LINK_SECRET ?? randomBytes(32).toString('hex');
  if (config.GROUP_PAYMENT_LINK_SECRET === undefined) logger.warn('no GROUP_PAYMENT_LINK_SECRET set: group payment links are signed with an ephemeral key');
  const retry: RetryPolicy = { maxAttempts: config.PM_MAX_ATTEMPTS, initialMs: config.PM_RETRY_INITIAL_MS, maxMs: config.PM_RETRY_MAX_MS };
  const subscription = deps.idleWaitMs === undefined ? {} : { idleWaitMs: deps.idleWaitMs };

  const readSide = createReadSide({ sql, store, logger, projections, ...readSideSettings(config), ...subscription });
  const volume = sqlVenueVolume(sql);
  const references = sqlGatewayReferences(sql);
  const rulesFor = resaleRules(config);
  const sourcePaymentOf = async (ticketId: string) => (await findTicket(readSide.db, ticketId))?.paymentId;
  let webhooks!: StripeWebhooks;
  const stripeWebhooksIgnored = new Counter({
    name: 'stripe_webhooks_ignored_total',
    help: "Stripe events acknowledged without acting on them, by reason: unhandled_type, nothing_to_record, not_a_tessera_payment, recorded_by_tessera",
    labelNames: ['reason'] as const,
    registers: [],
  });

  const inventory = ticketInventory({ store: createSqlTicketInventoryStore(sql), events: store, defaultLimits: config.PURCHASE_LIMITS, clock, logger });
  const riskMetrics = createRiskMetrics();
  const risk = config.FRAUD_CHECKS ? riskAssessorFor(config, storage, store, riskMetrics) : undefined;
  // Events out (issue 22): one checkpointed publisher per configured broker; none configured, none runs.
  const publishing = createPublishing({ config, store, brokers: deps.brokers ?? brokersFor(config), clock, logger, subscription });
  // Webhooks out (issue 22): a fan-out subscription stores a delivery per endpoint and event; a sender delivers them.
  const webhookStore = createSqlWebhookStore(sql);
  const webhookSchedule: RetrySchedule = { initialMs: config.WEBHOOK_RETRY_INITIAL_MS, maxMs: config.WEBHOOK_RETRY_MAX_MS, windowMs: config.WEBHOOK_RETRY_WINDOW_MS };
  const webhookMetrics = createWebhookMetrics(webhookStore);
  let webhookRuntime: WebhookRuntime | undefined;
  const webhookEndpoints = webhookEndpointCommands({
    store: webhookStore,
    urls: { allowHttp: config.WEBHOOK_ALLOW_HTTP, allowPrivateNetworks: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS },
    schedule: webhookSchedule,
    maxPerTenant: config.WEBHOOK_MAX_ENDPOINTS,
    clock,
    wake: () => webhookRuntime?.wake(),
  });
  const startWebhookRuntime = () =>
    startWebhooks({
      store,
      webhooks: webhookStore,
      sender:
        deps.webhookSender ??
        createHttpWebhookSender({ timeoutMs: config.WEBHOOK_TIMEOUT_MS, allowPrivateNetworks: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS, allowHttp: config.WEBHOOK_ALLOW_HTTP }),
      integration: integrationOptions(config),
      schedule: webhookSchedule,
      pollMs: config.WEBHOOK_POLL_MS,
      concurrency: config.WEBHOOK_CONCURRENCY,
      perEndpoint: config.WEBHOOK_CONCURRENCY_PER_ENDPOINT,
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      retentionMs: config.WEBHOOK_RETENTION_DAYS * 86_400_000,
      clock,
      logger,
      metrics: webhookMetrics,
      subscription,
    });
  const runtime = createProcessManagerRuntime(
    { store, sql, retry, concurrency: config.PM_CONCURRENCY, deadlinePollMs: config.DEADLINE_POLL_MS, clock, logger, subscription },
    ({ deadlines, parking }) => {
      webhooks = stripeWebhooks({ sql, store, references, deadlines, parking, retry, clock, ignored: stripeWebhooksIgnored, logger });
      const mintWorker = createMintWorker({
        sql,
        store,
        minter,
        parking,
        retry: { maxAttempts: config.MINT_MAX_ATTEMPTS, initialMs: config.MINT_RETRY_INITIAL_MS, maxMs: config.MINT_RETRY_MAX_MS },
        clock,
        pollMs: config.MINT_POLL_MS,
        logger,
      });
      const settlement = { delayMs: config.SETTLEMENT_DELAY_MS, reserveBps: config.VENUE_RESERVE_BPS, reservePeriodMs: config.VENUE_RESERVE_PERIOD_MS };
      const escrow = { store, minter, deadlines, sourcePaymentOf, clock, ...(risk ? { risk } : {}) };
      return {
        processManagers: {
          purchase: purchaseProcess({ store, gateway, references, deadlines, clock, reviewTimeoutMs: config.FRAUD_REVIEW_TIMEOUT_MS, ...(risk ? { risk } : {}) }),
          refund: refundProcess({ store, gateway, clock }),
          'ticket-inventory': ticketInventoryProcess({ store, inventory }),
          'group-payment': groupPaymentProcess({ store, gateway, deadlines, mailer, linkBase: config.GROUP_PAYMENT_LINK_BASE, linkSecret, clock, ...(risk ? { risk } : {}) }),
          escrow: escrowProcess({ ...escrow, gateway, transferCheckMs: config.ESCROW_TRANSFER_CHECK_MS }),
          minting: mintingProcess({ store, sql, clock, priorityFor: (venueId): MintPriority => config.MINT_VENUE_PRIORITY[venueId] ?? 'standard' }),
          'venue-settlement': settlementProcess({ store, deadlines, settings: settlement, clock }),
          'venue-payout': payoutProcess({ store, gateway: payoutGateway, clock }),
          'payee-credit': payeeCreditProcess({ store, clock }),
          'payee-payout': payeePayoutProcess({ store, gateway: payoutGateway, clock }),
          notifications: notificationsProcess({ store, mailer, contacts, unaddressed: notificationsUnaddressed, logger }),
        },
        deadlineHandlers: {
          [PAYMENT_EXPIRY]: paymentExpiryHandler(store, clock),
          [PAYMENT_REVIEW]: paymentReviewHandler(store, clock),
          [STRIPE_WEBHOOK_RETRY]: async (deadline) => {
            await webhooks.reprocess(String(deadline.payload.stripeEventId));
          },
          [GROUP_PAYMENT_EXPIRY]: groupDeadlineHandler(store, 'expire', clock),
          [GROUP_PAYMENT_REMINDER]: groupDeadlineHandler(store, 'remind', clock),
          [ESCROW_RELEASE]: escrowReleaseDeadlineHandler(escrow),
          [ESCROW_TRANSFER_CHECK]: transferCheckHandler({ ...escrow, transferCheckMs: config.ESCROW_TRANSFER_CHECK_MS }),
          [VENUE_SETTLEMENT]: settlementHandler({ store, deadlines, settings: settlement }, clock),
          [VENUE_RESERVE_RELEASE]: reserveReleaseHandler(store, clock),
        },
        workers: { mint: mintWorker },
        parkedWork: {
          'webhook:stripe': async (work: ParkedWork) => {
            const status = await webhooks.reprocess(String(work.item.stripeEventId));
            if (status === 'parked') throw new Error('the webhook was parked again');
          },
          [MINT_PARKING_SOURCE]: (work: ParkedWork) => mintWorker.retryParkedBatch(String(work.item.batchId)),
          ...publishing.parkedWork,
        },
      };
    },
  );

  const waitingRoomMetrics = createWaitingRoomMetrics();
  const waitingRoom = waitingRoomService({
    store,
    ...waitingRoomStores(config, storage),
    secret: waitingRoomSecret(config, logger),
    clock,
    metrics: waitingRoomMetrics,
    logger,
  });
  const paymentMetrics = createPaymentMetrics();
  const groupReminders = new Counter({ name: 'group_payment_reminders_total', help: 'Reminders sent to unpaid members of group payments', registers: [] });
  const settings = { waitMs: config.PAYMENT_WAIT_MS };
  const resaleDeps = { store, readDb: readSide.db, rulesFor };
  const services: TesseraServices = {
    payments: paymentCommands({
      store,
      volume,
      captureMode: config.PAYMENT_CAPTURE_MODE,
      pendingTtlMs: config.PENDING_PAYMENT_TTL_MS,
      waitMs: settings.waitMs,
      defaultChain: config.GAS_DEFAULT_CHAIN,
      clock,
      active: paymentMetrics.active,
      inventory,
      access: waitingRoom,
      ...(risk ? { risk } : {}),
    }),
    catalogue: catalogueCommands(store, inventory, config.PURCHASE_LIMITS),
    venues: {
      ...venueProfileCommands(store, { payoutAccountHoldMs: config.PAYOUT_ACCOUNT_CHANGE_HOLD_MS }),
      ...venueAccountCommands(store),
      setRefundPolicy: (policy, context) => setRefundPolicy(store, policy, context),
    },
    payees: {
      ...payeeAccountCommands(store, { payoutAccountHoldMs: config.PAYOUT_ACCOUNT_CHANGE_HOLD_MS }),
      statement: (payee, options) =>
        payeeStatement(readSide.db, { payable: payeePayableAccount(payee), paidOut: payeePaidOutAccount(payee) }, options),
    },
    groups: groupPaymentCommands({
      store,
      volume,
      settings: { ttlMs: config.GROUP_PAYMENT_TTL_MS, reminderMs: config.GROUP_PAYMENT_REMINDER_MS, defaultChain: config.GAS_DEFAULT_CHAIN },
      waitMs: settings.waitMs,
      linkBase: config.GROUP_PAYMENT_LINK_BASE,
      linkSecret,
      inventory,
      access: waitingRoom,
      ...(risk ? { risk } : {}),
    }),
    resale: {
      ...listingCommands(resaleDeps),
      ...escrowCommands({ ...resaleDeps, releaseTimeoutMs: config.ESCROW_RELEASE_TIMEOUT_MS, waitMs: settings.waitMs, ...(risk ? { risk } : {}) }),
      royaltyReport: (venueId, range) => royaltyReport(readSide.db, venueId, range),
      rulesFor,
    },
    webhooks: { receive: (event) => webhooks.receive(event) },
    parked: { listParked: (options) => runtime.listParked(options), retryParked: (id) => runtime.retryParked(id) },
    risk: riskCommands(store),
    metrics: { payments: paymentMetrics, groupReminders, risk: riskMetrics, publishing: publishing.metrics, notificationsUnaddressed, webhooks: webhookMetrics, stripeWebhooksIgnored },
    webhookEndpoints,
    contacts,
    waitingRoom,
    waitingRoomMetrics,
  };

  // Counted from the events, once each: subscriptions of their own until one reader serves them all.
  const projectorOptions = { ...subscription, logger };
  let projectors: Subscription[] = [];
  let started = false;
  // Counted purchases older than 90 days (past every window) are folded into per-user totals.
  let riskPurge: ReturnType<typeof setInterval> | undefined;
  // Every instance ticks the rooms with buyers in them; the store serializes their admissions.
  let roomTimer: ReturnType<typeof setInterval> | undefined;
  let roomTicking = false;
  const tickRooms = () => {
    if (roomTicking) return;
    roomTicking = true;
    void waitingRoom
      .tick()
      .catch((error: unknown) => logger.warn({ err: error }, 'waiting room: admission tick failed; will try again'))
      .finally(() => (roomTicking = false));
  };
  const purgeRisk = () =>
    void risk
      ?.purge(new Date(clock().getTime() - RISK_RETENTION_MS))
      .then((purged) => purged > 0 && logger.info({ purged }, 'fraud screening: old counted purchases folded into totals'))
      .catch((error: unknown) => logger.warn({ err: error }, 'fraud screening: purge failed; will try again'));
  // Holds of purchases never written (the process died between reserving and writing) are released.
  let inventorySweep: ReturnType<typeof setInterval> | undefined;
  const sweepInventory = () =>
    void inventory.sweep(clock()).catch((error: unknown) => logger.warn({ err: error }, 'ticket inventory: sweep failed; will try again'));
  return {
    services,
    readSide,
    runtime,
    gateway,
    minter,
    tail,
    async start() {
      if (started) return;
      started = true;
      await tail.start();
      aggregates.setActive(true);
      runtime.start();
      publishing.start(runtime.parking);
      webhookRuntime = startWebhookRuntime();
      projectors = [
        startSubscription(store, paymentMetricsProjector(store, paymentMetrics), projectorOptions),
        startSubscription(store, groupMetricsProjector(store, groupReminders), projectorOptions),
      ];
      await readSide.start();
      inventorySweep = setInterval(sweepInventory, INVENTORY_SWEEP_EVERY_MS);
      inventorySweep.unref();
      roomTimer = setInterval(tickRooms, config.WAITING_ROOM_TICK_MS);
      roomTimer.unref();
      if (risk) {
        riskPurge = setInterval(purgeRisk, RISK_PURGE_EVERY_MS);
        riskPurge.unref();
      }
      logger.info('background work started: process managers, deadlines, projections');
    },
    async stop() {
      if (!started) return;
      started = false;
      clearInterval(riskPurge);
      clearInterval(inventorySweep);
      clearInterval(roomTimer);
      await Promise.all([runtime.stop(), publishing.stop(), webhookRuntime?.stop(), readSide.stop(), ...projectors.splice(0).map((projector) => projector.stop())]);
      await tail.stop();
      aggregates.setActive(false);
      smtp?.close();
    },
  };
}

const RISK_RETENTION_MS = 90 * 86_400_000;
const INVENTORY_SWEEP_EVERY_MS = 60_000;
const RISK_PURGE_EVERY_MS = 6 * 3_600_000;

/**
 * The risk assessor: features in Redis when REDIS_URL is set (shared by every instance), else in
 * the SQL store; the live model FRAUD_MODEL and, when set, FRAUD_SHADOW_MODEL scoring beside it.
 */
function riskAssessorFor(config: Config, storage: Storage, store: EventStore, metrics: RiskMetricSet): RiskAssessor {
  const features = storage.redis ? createRedisRiskFeatureStore(storage.redis, config.REDIS_KEY_PREFIX) : createSqlRiskFeatureStore(storage.sql);
  const shadow = config.FRAUD_SHADOW_MODEL ? loadModel(config.FRAUD_SHADOW_MODEL) : undefined;
  return riskAssessor({ store, features, model: loadModel(config.FRAUD_MODEL), metrics, ...(shadow ? { shadow } : {}) });
}

/** A model artefact by path: relative paths from the project's root, where `npm run train:fraud` writes them. */
function loadModel(path: string) {
  const file = isAbsolute(path) ? path : fileURLToPath(new URL(`../${path}`, import.meta.url));
  try {
    return fraudModel(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    throw new Error(`cannot load the fraud model ${file}: ${(error as Error).message}`);
  }
}

/** The payment gateway GATEWAY selects: Stripe, or the embedded sandbox (like Stripe's test mode) over the SQL store. */
function paymentGatewayFor(config: Config, storage: Storage): PaymentGateway {
  if (config.GATEWAY === 'stripe') return createStripeGateway(stripeClientOf(config));
  return createSandboxGateway(storage.sql, { latencyMs: config.SANDBOX_LATENCY_MS, failureRate: config.SANDBOX_FAILURE_RATE });
}

function payoutGatewayFor(config: Config, storage: Storage): PayoutGateway {
  if (config.GATEWAY === 'stripe') return createStripePayoutGateway(stripeClientOf(config));
  return createSandboxGateway(storage.sql, { latencyMs: config.SANDBOX_LATENCY_MS, failureRate: config.SANDBOX_FAILURE_RATE });
}

/** The Stripe SDK client the settings describe (GATEWAY=stripe). */
export function stripeClientOf(config: Pick<Config, 'STRIPE_SECRET_KEY' | 'STRIPE_API_HOST' | 'STRIPE_API_PORT' | 'STRIPE_API_PROTOCOL'>) {
  return createStripeClient({
    secretKey: config.STRIPE_SECRET_KEY!,
    ...(config.STRIPE_API_HOST ? { host: config.STRIPE_API_HOST } : {}),
    ...(config.STRIPE_API_PORT ? { port: config.STRIPE_API_PORT } : {}),
    ...(config.STRIPE_API_PROTOCOL ? { protocol: config.STRIPE_API_PROTOCOL } : {}),
  });
}

/** The resale caps and split at a venue: the configured defaults, overridden per venue. */
function resaleRules(config: Config): (venueId: string) => ResaleRules {
  return (venueId) => {
    const venue = config.RESALE_VENUE_RULES[venueId] ?? {};
    return {
      maxPriceBps: venue.maxPriceBps ?? config.RESALE_MAX_PRICE_BPS,
      minPriceBps: venue.minPriceBps ?? config.RESALE_MIN_PRICE_BPS,
      venueRoyaltyBps: venue.venueRoyaltyBps ?? config.RESALE_VENUE_ROYALTY_BPS,
      artistRoyaltyBps: venue.artistRoyaltyBps ?? config.RESALE_ARTIST_ROYALTY_BPS,
      platformFeeBps: config.RESALE_PLATFORM_FEE_BPS,
      ...(venue.artistId === undefined ? {} : { artistId: venue.artistId }),
    };
  };
}
