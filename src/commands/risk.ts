import { listHits, normalizeListValue, policySets, riskPolicyDecider, thresholdsFor, type RiskPolicyCommand, type RiskPolicyState } from '../aggregates/risk-policy.js';
import { ALLOWABLE, botScore, riskVerdict, type RiskFeatures, type RiskListKind, type RiskModel, type RiskThresholds, type SessionSignals } from '../domain/risk.js';
import { TesseraError } from '../errors.js';
import type { PaymentRiskAssessed } from '../events/payment.js';
import { riskPolicyStreamId, type RiskList, type RiskListEntryAdded } from '../events/risk-policy.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import { aggregateCacheOf } from './aggregate-cache.js';
import { commandHandler, type CommandContext } from './handle-command.js';
import { paymentHandler } from './payment.js';

/** One purchase as the feature store counts it. */
export interface RiskObservation {
  /** The payment's id: counting is idempotent by it, so a retried request counts once. */
  readonly id: string;
  readonly at: Date;
  readonly userId: string;
  readonly ip?: string;
  /** The card's fingerprint (the payment method id: one per card on the sandbox). */
  readonly card: string;
  readonly device?: string;
  readonly eventId: string;
  readonly tickets: number;
  readonly amount: number;
}

/** The hard limits the store checks while it counts: over any, the purchase is not recorded. */
export interface VelocityLimits {
  readonly userHour: number;
  readonly userDay: number;
  readonly userWeek: number;
  readonly ipMinute: number;
  readonly ipHour: number;
  readonly cardDay: number;
  readonly cardUsers: number;
  readonly eventTickets: number;
}

/** What the store counted, this purchase included (see RiskFeatures). */
export interface ObservedCounts extends VelocityLimits {
  readonly eventTenMinutes: number;
  readonly deviceUsers: number;
  readonly userDevices: number;
  readonly newDevice: boolean;
  /** Before this purchase. */
  readonly userPurchases: number;
  readonly userAmountSum: number;
  readonly userFirstSeen: Date | null;
}

/**
 * Where a purchase's features are counted: Redis when REDIS_URL is set, the SQL store otherwise
 * (src/gateways/risk-features-*.ts). `observe` counts and records in one atomic step, and records
 * nothing when a limit is exceeded, so concurrent purchases cannot pass a limit together. Both
 * adapters answer the same counts for the same history (test/gateways/risk-features.int.test.ts):
 *
 * - Counts include the purchase itself, and count every other recorded purchase whose `at` is
 *   less than one window before this one's (later ones included): a purchase exactly an hour
 *   earlier is out of the hour. Windows are fixed lengths: a minute, ten minutes, an hour, a day
 *   of 24 hours, a week of 7 x 24 hours, whatever time zone a database session is in.
 * - cardUsers, deviceUsers and userDevices count distinct users or devices with a purchase in the
 *   last 30 days, and newDevice is true when the user has no other purchase from the device in
 *   those 30 days (a device unused for a month is new again, as it is not among userDevices).
 *   Without an address, ipMinute and ipHour are 0 and no address limit applies; without a device,
 *   deviceUsers is 0 and newDevice false.
 * - userPurchases, userAmountSum, userFirstSeen (the earliest recorded purchase) and eventTickets
 *   (tickets by the user for the event, released ones excepted) read the user's whole history.
 * - Idempotent by id: a purchase already recorded is not counted again; observing it again answers
 *   recorded, whatever the limits, with the counts of a purchase not yet in the history (so the
 *   user's history and its first-seen leave it out, and its device is as new as it was).
 *   A purchase not recorded (over a limit) is observed afresh when retried.
 */
export interface RiskFeatureStore {
  readonly kind: 'sql' | 'redis';
  /** `known`: the purchase had been recorded before this call (a retry); `recorded`: it is recorded now. */
  observe(
    observation: RiskObservation,
    limits: VelocityLimits,
  ): Promise<{ readonly counts: ObservedCounts; readonly recorded: boolean; readonly known: boolean }>;
  /**
   * Takes a purchase back out of every count, as if it had never been observed: the windows, the
   * card's and the device's users, the user's devices and newDevice, the tickets, the history and
   * first seen. It was declined, or its request was never written. Unknown ids are a no-op.
   */
  forget(id: string): Promise<void>;
  /** The purchase ended unpaid: its tickets stop counting toward the per-event cap (nothing else changes). */
  releaseTickets(id: string): Promise<void>;
  /**
   * Drops what the store keeps of purchases before `olderThan` (90 days back is the intended
   * retention) and answers how many it dropped. No count changes while the cut-off is more than 30
   * days back: the user's history and tickets are kept as totals. A purge cannot be undone by
   * `forget` or `releaseTickets`; they do nothing for a purged purchase. The SQL store deletes
   * rows; Redis answers 0, its keys expiring by themselves (a user's history and tickets a year
   * after their last purchase, what `forget` and `releaseTickets` need after 31 days).
   */
  purge(olderThan: Date): Promise<number>;
}

/** What the route knows of the buyer's device and session (seed 003's `deviceFingerprint`, `sessionData`). */
export interface RiskSignals {
  readonly ip?: string;
  readonly deviceFingerprint?: string;
  readonly sessionData?: SessionSignals;
  readonly emailDomain?: string;
}

export interface AssessInput {
  readonly paymentId: string;
  readonly subject: PaymentRiskAssessed['data']['subject'];
  readonly userId: string;
  readonly venueId: string;
  readonly eventId: string;
  readonly amount: number;
  readonly tickets: number;
  readonly paymentMethodId: string;
  readonly signals: RiskSignals;
  /** A resale: the listing's markup as a share of the cap (0-1). */
  readonly resaleMarkup?: number;
  /**
   * The event's purchase limit per user (issue 21), when one applies: the per-event ticket cap
   * follows it, so an event has one limit rather than the built-in cap of 4 beside its own; a cap
   * the tenant's risk policy sets itself still holds where it is lower, so a venue's generous
   * limit never loosens what the fraud team decided.
   */
  readonly eventTicketLimit?: number;
}

export type RiskAssessment = Omit<PaymentRiskAssessed['data'], 'paymentId'>;

export interface RiskMetrics {
  observe(assessment: RiskAssessment, seconds: number): void;
}

/**
 * An assessment, and whether this call is what counted the purchase (it was not counted before
 * and the verdict let it through): the caller takes it back out (`forget`) when its request is
 * then not written, or turns out to be a retry of one already written.
 */
export interface Assessed {
  readonly assessment: RiskAssessment;
  readonly newlyCounted: boolean;
}

export interface RiskAssessor {
  assess(input: AssessInput, context: CommandContext): Promise<Assessed>;
  /** Folds purchases counted before `olderThan` into per-user totals (the SQL store; Redis expires keys itself). */
  purge(olderThan: Date): Promise<number>;
  forget(paymentId: string): Promise<void>;
  releaseTickets(paymentId: string): Promise<void>;
}

export interface RiskAssessorDeps {
  readonly store: EventStore;
  readonly features: RiskFeatureStore;
  readonly model: RiskModel;
  /** Scores beside the live model, logged on the event, never deciding. */
  readonly shadow?: RiskModel;
  readonly metrics?: RiskMetrics;
}

/** No limit at all, as a number both stores take. */
const UNLIMITED = 1e12;

/** A tenant's risk policy: lists and thresholds (`risk-policy-<tenant>`). */
export const riskPolicyHandler = commandHandler(riskPolicyDecider, riskPolicyStreamId);

export const sendRiskPolicyCommand = (store: EventStore, tenantId: string, command: RiskPolicyCommand, context: CommandContext) =>
  riskPolicyHandler.handle(store, tenantId, command, context);

/**
 * The risk assessment before a gateway call (issue 20), in the request's process: the tenant's
 * lists and thresholds (cached, kept fresh by the shared tail), the features counted atomically
 * in the feature store, the model's score, the verdict (src/domain/risk.ts). A purchase the
 * verdict declines is taken back out of the counts.
 */
export function riskAssessor(deps: RiskAssessorDeps): RiskAssessor {
  return {
    async assess(input, context) {
      const started = performance.now();
      const policy = await policyOf(deps.store, context.tenantId);
      const policyThresholds = thresholdsFor(policy, input.venueId, input.eventId);
      const thresholds =
        input.eventTicketLimit === undefined
          ? policyThresholds
          : {
              ...policyThresholds,
              ticketsPerEventPerUser: policySets(policy, input.venueId, input.eventId, 'ticketsPerEventPerUser')
                ? Math.min(policyThresholds.ticketsPerEventPerUser, input.eventTicketLimit)
                : input.eventTicketLimit,
            };
      const { ip, deviceFingerprint: device, emailDomain } = input.signals;
      const lists = listHits(policy, { user: input.userId, card: input.paymentMethodId, ...(ip ? { ip } : {}), ...(device ? { device } : {}), ...(emailDomain ? { email_domain: emailDomain } : {}) });
      const observation: RiskObservation = {
        id: input.paymentId,
        at: context.now,
        // The same `sub` in two tenants is two people (README, Security).
        userId: `${context.tenantId}:${input.userId}`,
        card: input.paymentMethodId,
        eventId: input.eventId,
        tickets: input.tickets,
        amount: input.amount,
        ...(ip ? { ip } : {}),
        ...(device ? { device } : {}),
      };
      const { counts, recorded, known } = await unavailableIfFailing(deps.features.observe(observation, limitsFor(thresholds, lists)));
      const features = featuresOf(input, counts, context.now);
      const modelScore = deps.model.predict(features);
      const verdict = riskVerdict(features, lists, modelScore, thresholds);
      // Refused purchases do not count. Only what this call counted is taken back: a retry of a
      // purchase counted before (known) leaves its count alone, whatever it decides now.
      const refused = verdict.decision === 'decline' || (verdict.decision === 'review' && input.subject !== 'purchase');
      const counted = recorded && !known;
      if (refused && counted) await unavailableIfFailing(deps.features.forget(input.paymentId));
      const shadow = deps.shadow && shadowOf(deps.shadow, features, lists, thresholds);
      const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
      const assessment: RiskAssessment = {
        assessmentId: input.paymentId,
        subject: input.subject,
        userId: input.userId,
        venueId: input.venueId,
        eventId: input.eventId,
        amount: input.amount,
        features,
        rules: verdict.rules,
        score: verdict.score,
        level: verdict.level,
        decision: verdict.decision,
        ...(verdict.declineCode ? { declineCode: verdict.declineCode } : {}),
        botScore: verdict.botScore,
        scalperScore: verdict.scalperScore,
        modelVersion: deps.model.version,
        modelScore: verdict.modelScore,
        ...(shadow ? { shadow } : {}),
        ...(device ? { deviceFingerprint: device } : {}),
        ...(ip ? { ipAddress: ip } : {}),
        latencyMs,
        assessedAt: context.now.toISOString(),
      };
      deps.metrics?.observe(assessment, latencyMs / 1000);
      return { assessment, newlyCounted: counted && !refused };
    },
    forget: (paymentId) => deps.features.forget(paymentId),
    purge: (olderThan) => deps.features.purge(olderThan),
    releaseTickets: (paymentId) => deps.features.releaseTickets(paymentId),
  };
}

/** The feature store did not answer: the purchase is refused for now (503), nothing charged. */
async function unavailableIfFailing<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw new TesseraError('SERVICE_UNAVAILABLE', 'fraud screening is unavailable; try again shortly', { cause: error });
  }
}

/**
 * Who in the aggregate cache holds the fact that a tenant has no risk policy. Command handlers
 * look entries up as their decider, so they never see this one.
 */
const NO_POLICY = { holds: 'a tenant without a risk policy' };

/**
 * The tenant's lists and thresholds, as recent as the aggregate cache keeps them. Most tenants
 * have no policy, so no stream, and the cache keeps only streams that exist: every assessment
 * would read the empty stream again (a statement per purchase). The cache holds that fact too,
 * as revision -1, so the shared tail drops it at the policy's first event (revision 0, whoever
 * writes it), as it drops any cached aggregate another writer has moved past; a policy written
 * between the read and remembering it is caught by the cache's newest-revision check.
 */
async function policyOf(store: EventStore, tenantId: string): Promise<RiskPolicyState> {
  const cache = aggregateCacheOf(store);
  const streamId = riskPolicyStreamId(tenantId);
  const none = cache?.get(streamId, NO_POLICY);
  if (none) return none.state as RiskPolicyState;
  const loaded = await riskPolicyHandler.loadRecent(store, tenantId);
  if (loaded.revision === null) cache?.set(streamId, NO_POLICY, { state: loaded.state, revision: -1, events: [], tenantId: undefined });
  return loaded.state;
}

/** A blocked purchase records nothing; an allowed one is held to the per-event ticket cap only. */
function limitsFor(t: RiskThresholds, lists: { readonly blocked: readonly string[]; readonly allowed: readonly string[] }): VelocityLimits {
  if (lists.blocked.length > 0) return { userHour: 0, userDay: 0, userWeek: 0, ipMinute: 0, ipHour: 0, cardDay: 0, cardUsers: 0, eventTickets: 0 };
  const allowed = lists.allowed.some((kind) => ALLOWABLE.has(kind as RiskListKind));
  const or = (limit: number) => (allowed ? UNLIMITED : limit);
  return {
    userHour: or(t.userPerHour),
    userDay: or(t.userPerDay),
    userWeek: or(t.userPerWeek),
    ipMinute: or(t.ipPerMinute),
    ipHour: or(t.ipPerHour),
    cardDay: or(t.cardPerDay),
    // An allowed buyer is still refused a card too many users share (src/domain/risk.ts).
    cardUsers: t.cardMaxUsers,
    eventTickets: t.ticketsPerEventPerUser,
  };
}

function featuresOf(input: AssessInput, c: ObservedCounts, now: Date): RiskFeatures {
  const device = input.signals.deviceFingerprint;
  return {
    amount: input.amount,
    ticketCount: input.tickets,
    userAverageAmount: c.userPurchases > 0 ? Math.round(c.userAmountSum / c.userPurchases) : 0,
    userPurchaseCount: c.userPurchases,
    accountAgeDays: c.userFirstSeen ? Math.max(0, Math.floor((now.getTime() - c.userFirstSeen.getTime()) / 86_400_000)) : 0,
    userPurchasesHour: c.userHour,
    userPurchasesDay: c.userDay,
    userPurchasesWeek: c.userWeek,
    ipPurchasesMinute: c.ipMinute,
    ipPurchasesHour: c.ipHour,
    cardPurchasesDay: c.cardDay,
    cardUsers: c.cardUsers,
    eventTicketsByUser: c.eventTickets,
    eventPurchasesTenMinutes: c.eventTenMinutes,
    hasDevice: device !== undefined,
    newDevice: c.newDevice,
    deviceUsers: c.deviceUsers,
    userDevices: c.userDevices,
    botScore: botScore(input.signals.sessionData),
    hasSession: input.signals.sessionData !== undefined,
    resaleMarkup: input.resaleMarkup ?? 0,
    hourOfDay: now.getUTCHours(),
  };
}

function shadowOf(model: RiskModel, features: RiskFeatures, lists: ReturnType<typeof listHits>, thresholds: RiskThresholds) {
  const modelScore = model.predict(features);
  return { modelVersion: model.version, modelScore: Math.round(modelScore * 1000) / 1000, decision: riskVerdict(features, lists, modelScore, thresholds).decision };
}

/** What the fraud operator's routes call (`/admin/risk/...`). */
export interface RiskCommands {
  /** An analyst's verdict on a payment held for review: approve captures it, decline voids it. */
  reviewPayment(input: { readonly paymentId: string; readonly verdict: 'approve' | 'decline'; readonly note?: string; readonly reviewer: string }, context: CommandContext): Promise<ReviewReceipt>;
  addListEntry(entry: { readonly list: RiskList; readonly kind: RiskListKind; readonly value: string; readonly reason: string }, context: CommandContext): Promise<Position | null>;
  removeListEntry(entry: { readonly list: RiskList; readonly kind: RiskListKind; readonly value: string }, context: CommandContext): Promise<Position | null>;
  setThresholds(scope: string, thresholds: Partial<RiskThresholds>, context: CommandContext): Promise<Position | null>;
  /** The tenant's lists and overrides as the write side holds them. */
  policy(tenantId: string): Promise<{ readonly entries: readonly RiskListEntryAdded['data'][]; readonly thresholds: Readonly<Record<string, Partial<RiskThresholds>>> }>;
}

export interface ReviewReceipt {
  readonly paymentId: string;
  readonly status: string;
  readonly review: string;
  readonly position: Position | null;
}

export function riskCommands(store: EventStore): RiskCommands {
  const actor = (context: CommandContext) => context.actor;
  return {
    async reviewPayment(input, context) {
      const { tenantId } = await paymentHandler.load(store, input.paymentId);
      if (tenantId === undefined) throw new TesseraError('PAYMENT_NOT_FOUND', `payment ${input.paymentId} not found`, { paymentId: input.paymentId });
      const result = await paymentHandler.handle(
        store,
        input.paymentId,
        { type: 'ReviewPayment', data: { verdict: input.verdict, reviewedBy: input.reviewer, now: context.now.toISOString(), ...(input.note ? { note: input.note } : {}) } },
        // The verdict acts in the payment's tenant, whichever admin gives it.
        { ...context, tenantId },
      );
      return { paymentId: input.paymentId, status: result.state.status, review: result.state.review ?? 'none', position: result.position };
    },
    async addListEntry(entry, context) {
      const value = normalizeListValue(entry.kind, entry.value);
      const data = { ...entry, value, addedBy: actor(context), addedAt: context.now.toISOString() };
      return (await sendRiskPolicyCommand(store, context.tenantId, { type: 'AddRiskListEntry', data }, context)).position;
    },
    async removeListEntry(entry, context) {
      const value = normalizeListValue(entry.kind, entry.value);
      const data = { ...entry, value, removedBy: actor(context), removedAt: context.now.toISOString() };
      return (await sendRiskPolicyCommand(store, context.tenantId, { type: 'RemoveRiskListEntry', data }, context)).position;
    },
    async setThresholds(scope, thresholds, context) {
      const data = { scope, thresholds, setBy: actor(context), setAt: context.now.toISOString() };
      return (await sendRiskPolicyCommand(store, context.tenantId, { type: 'SetRiskThresholds', data }, context)).position;
    },
    async policy(tenantId) {
      const { state } = await riskPolicyHandler.load(store, tenantId);
      return { entries: [...state.entries.values()], thresholds: Object.fromEntries(state.thresholds) };
    },
  };
}
