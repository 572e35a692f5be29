import { listHits, normalizeListValue, riskPolicyDecider, thresholdsFor, type RiskPolicyCommand, type RiskPolicyState } from '../aggregates/risk-policy.js';
import { botScore, riskVerdict, type RiskFeatures, type RiskListKind, type RiskModel, type RiskThresholds, type SessionSignals } from '../domain/risk.js';
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
 * nothing when a limit is exceeded, so concurrent purchases cannot pass a limit together.
 */
export interface RiskFeatureStore {
  readonly kind: 'sql' | 'redis';
  observe(observation: RiskObservation, limits: VelocityLimits): Promise<{ readonly counts: ObservedCounts; readonly recorded: boolean }>;
  /** Takes a purchase back out of every count: it was declined, or its request was never written. */
  forget(id: string): Promise<void>;
  /** The purchase ended unpaid: its tickets stop counting toward the per-event cap. */
  releaseTickets(id: string): Promise<void>;
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
}

export type RiskAssessment = Omit<PaymentRiskAssessed['data'], 'paymentId'>;

export interface RiskMetrics {
  observe(assessment: RiskAssessment, seconds: number): void;
}

export interface RiskAssessor {
  assess(input: AssessInput, context: CommandContext): Promise<RiskAssessment>;
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
      const thresholds = thresholdsFor(policy, input.venueId, input.eventId);
      const { ip, deviceFingerprint: device, emailDomain } = input.signals;
      const lists = listHits(policy, { user: input.userId, card: input.paymentMethodId, ...(ip ? { ip } : {}), ...(device ? { device } : {}), ...(emailDomain ? { email_domain: emailDomain } : {}) });
      const observation: RiskObservation = {
        id: input.paymentId,
        at: context.now,
        userId: input.userId,
        card: input.paymentMethodId,
        eventId: input.eventId,
        tickets: input.tickets,
        amount: input.amount,
        ...(ip ? { ip } : {}),
        ...(device ? { device } : {}),
      };
      const { counts, recorded } = await deps.features.observe(observation, limitsFor(thresholds, lists));
      const features = featuresOf(input, counts, context.now);
      const modelScore = deps.model.predict(features);
      const verdict = riskVerdict(features, lists, modelScore, thresholds);
      if (verdict.decision === 'decline' && recorded) await deps.features.forget(input.paymentId);
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
      return assessment;
    },
    forget: (paymentId) => deps.features.forget(paymentId),
    releaseTickets: (paymentId) => deps.features.releaseTickets(paymentId),
  };
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
  const allowed = lists.allowed.length > 0;
  const or = (limit: number) => (allowed ? UNLIMITED : limit);
  return {
    userHour: or(t.userPerHour),
    userDay: or(t.userPerDay),
    userWeek: or(t.userPerWeek),
    ipMinute: or(t.ipPerMinute),
    ipHour: or(t.ipPerHour),
    cardDay: or(t.cardPerDay),
    cardUsers: or(t.cardMaxUsers),
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
