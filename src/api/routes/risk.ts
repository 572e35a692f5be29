import { z } from 'zod';
import { ALLOWABLE, RISK_DECISIONS, RISK_LIST_KINDS } from '../../domain/risk.js';
import { findAssessment, listAssessments, type AssessmentView } from '../../projections/risk-assessments.js';
import { TesseraError } from '../../errors.js';
import { actorOf } from '../auth/principal.js';
import { callerCommandContext, userCommandContext } from '../command-context.js';
import type { RouteModule } from '../route.js';
import { isoDateTime, uuid } from '../schemas.js';
import { answeredPosition, positionAnswer } from '../read-your-writes.js';

const assessment = z.object({
  paymentId: z.string(),
  subject: z.string().describe('purchase, group-contribution or resale-purchase'),
  userId: z.string(),
  venueId: z.string(),
  eventId: z.string(),
  amount: z.number().int(),
  score: z.number().int().describe('0-100'),
  riskLevel: z.string().describe('VERY_LOW, LOW, MEDIUM, HIGH, VERY_HIGH'),
  decision: z.enum(RISK_DECISIONS),
  declineCode: z.string().nullable(),
  rules: z.unknown().describe('The rules that fired: rule, kind (limit, score, list), points, detail'),
  features: z.unknown().describe('What the assessment saw (src/domain/risk.ts RiskFeatures)'),
  botScore: z.number(),
  scalperScore: z.number(),
  modelVersion: z.string(),
  modelScore: z.number(),
  shadow: z.object({ modelVersion: z.string(), modelScore: z.number(), decision: z.string() }).nullable(),
  deviceFingerprint: z.string().nullable(),
  ipAddress: z.string().nullable(),
  latencyMs: z.number(),
  assessedAt: z.string(),
  review: z.object({ status: z.string(), by: z.string().nullable(), at: z.string().nullable(), note: z.string().nullable() }).nullable(),
  authorized: z.boolean().describe('The card hold is in place (a held payment can be decided)'),
  paymentStatus: z.string(),
});

const toJson = (view: AssessmentView): z.output<typeof assessment> => ({ ...view, decision: view.decision as z.output<typeof assessment>['decision'] });

const listValue = z.object({
  list: z.enum(['block', 'allow']),
  kind: z.enum(RISK_LIST_KINDS).describe('user id, device fingerprint, card (payment method), ip address or email domain'),
  value: z.string().trim().min(1).max(256),
});

// A limit of 0, or a decline threshold of 0, would refuse every purchase: stopping sales is not a threshold.
const count = z.number().int().min(1).max(1_000_000);
const score = z.number().int().min(0).max(100);
const share = z.number().min(0).max(1);
const thresholds = z
  .object({
    userPerHour: count,
    userPerDay: count,
    userPerWeek: count,
    ipPerMinute: count,
    ipPerHour: count,
    cardPerDay: count,
    cardMaxUsers: count,
    ticketsPerEventPerUser: count,
    largeAmount: z.number().int().min(0).max(10_000_000_000),
    unusualAmountFactor: z.number().min(1).max(1_000),
    deviceMaxUsers: count,
    highDemandPerTenMinutes: count,
    botScore: share,
    scalperScore: share,
    challengeAt: score,
    reviewAt: score,
    declineAt: score.min(1),
  })
  .partial()
  .strict();

/**
 * The fraud operator's surface (issue 20): assessments and the review queue, an analyst's
 * verdict on a held payment, the block and allow lists, and threshold overrides per tenant,
 * venue or event. Admins only. Lists, thresholds and the assessments listed are the admin's
 * tenant's; a verdict acts on the payment in its own tenant, as an admin's refund does (admins
 * are the platform's).
 */
export const riskRoutes: RouteModule = {
  name: 'risk',
  features: (config) => ({ fraudChecks: config.FRAUD_CHECKS }),
  register(api) {
    const { risk, readSide } = api.services;
    const admin = { roles: ['admin'] } as const;
    for (const metric of api.services.metrics.risk.all) api.metrics.registerMetric(metric);

    api.route({
      method: 'GET',
      url: '/admin/risk/assessments',
      summary: 'Risk assessments, newest first; `review=pending` is the review queue',
      tags: ['risk'],
      auth: admin,
      query: z.object({
        review: z.enum(['pending', 'approved', 'declined']).optional(),
        decision: z.enum(RISK_DECISIONS).optional(),
        before: isoDateTime('must be an ISO-8601 date-time with an offset').optional().describe('Page on: the last item\'s assessedAt'),
        limit: z.coerce.number().int().min(1).max(500).default(100),
      }),
      response: z.object({ items: z.array(assessment), count: z.number().int() }),
      handler: async ({ query, principal }) => {
        const items = await listAssessments(readSide.db, principal.tenantId, {
          limit: query.limit,
          ...(query.review ? { review: query.review } : {}),
          ...(query.decision ? { decision: query.decision } : {}),
          ...(query.before ? { before: query.before } : {}),
        });
        return { items: items.map(toJson), count: items.length };
      },
    });

    api.route({
      method: 'GET',
      url: '/admin/risk/assessments/:paymentId',
      summary: "A payment's risk assessment: features, rules, score, decision, review",
      tags: ['risk'],
      auth: admin,
      params: z.object({ paymentId: uuid }),
      response: assessment,
      handler: async ({ params, principal }) => {
        const found = await findAssessment(readSide.db, principal.tenantId, params.paymentId);
        if (!found) throw new TesseraError('PAYMENT_NOT_FOUND', `no risk assessment for payment ${params.paymentId}`, { paymentId: params.paymentId });
        return toJson(found);
      },
    });

    api.route({
      method: 'POST',
      url: '/admin/risk/reviews/:paymentId',
      summary: 'Decide a payment held for review: approve captures it, decline voids its hold',
      description:
        'Only a payment held for review whose card hold is in place (`authorized`) can be decided (409 PAYMENT_NOT_REVIEWABLE ' +
        'otherwise, also once decided). The same verdict again answers as the first did.',
      tags: ['risk'],
      auth: admin,
      idempotent: true,
      params: z.object({ paymentId: uuid }),
      body: z.object({ verdict: z.enum(['approve', 'decline']), note: z.string().trim().min(1).max(1_000).optional() }),
      response: z.object({ paymentId: z.string(), status: z.string(), review: z.string(), position: positionAnswer }),
      handler: async ({ params, body, principal, commandKey, correlationId }) => {
        const receipt = await risk.reviewPayment(
          { paymentId: params.paymentId, verdict: body.verdict, reviewer: actorOf(principal), ...(body.note ? { note: body.note } : {}) },
          userCommandContext(api.services, principal, commandKey, correlationId),
        );
        return { ...receipt, position: answeredPosition(receipt.position) };
      },
    });

    api.route({
      method: 'GET',
      url: '/admin/risk/lists',
      summary: "The tenant's block and allow lists and threshold overrides",
      tags: ['risk'],
      auth: admin,
      response: z.object({
        entries: z.array(listValue.extend({ reason: z.string(), addedBy: z.string(), addedAt: z.string() })),
        thresholds: z.record(z.string(), z.record(z.string(), z.number())),
      }),
      handler: async ({ principal }) => {
        const policy = await risk.policy(principal.tenantId);
        return { entries: [...policy.entries], thresholds: policy.thresholds };
      },
    });

    api.route({
      method: 'PUT',
      url: '/admin/risk/lists',
      summary: 'Put a user, device, card, address or email domain on the block or allow list',
      description: 'Safe to repeat: the same entry again writes nothing. ' +
        'Blocked: every purchase it takes part in is declined (403 FRAUD_DETECTED). Allowed (a user or a card only): velocity and score ' +
        'rules are skipped; the per-event ticket cap, a card shared by too many users and the bot rule still hold.',
      tags: ['risk'],
      auth: admin,
      idempotent: false,
      body: listValue
        .extend({ reason: z.string().trim().min(1).max(500) })
        .refine((entry) => entry.list === 'block' || ALLOWABLE.has(entry.kind), {
          error: 'only a user or a card can be allow-listed: a device or an address is whatever the client sends',
          path: ['kind'],
        }),
      response: z.object({ position: positionAnswer }),
      handler: async ({ body, principal, correlationId }) => ({
        position: answeredPosition(await risk.addListEntry(body, callerCommandContext(api.services, { kind: 'user', principal }, correlationId))),
      }),
    });

    api.route({
      method: 'DELETE',
      url: '/admin/risk/lists/:list/:kind/:value',
      summary: 'Take an entry off a list (404 RISK_LIST_ENTRY_NOT_FOUND when it is not there)',
      description: 'Safe to repeat: once removed, a repeat answers 404 and writes nothing.',
      tags: ['risk'],
      auth: admin,
      idempotent: false,
      params: listValue,
      response: z.object({ position: positionAnswer }),
      handler: async ({ params, principal, correlationId }) => ({
        position: answeredPosition(await risk.removeListEntry(params, callerCommandContext(api.services, { kind: 'user', principal }, correlationId))),
      }),
    });

    api.route({
      method: 'PUT',
      url: '/admin/risk/thresholds/:scope',
      summary: 'Override rule thresholds for the tenant (`default`), a venue (`venue:<id>`) or an event (`event:<id>`)',
      description:
        'Safe to repeat (the whole override is put). The body replaces the scope\'s overrides; omitted thresholds fall back to the broader scope, then the seed\'s defaults. ' +
        'Score thresholds must rise: challengeAt <= reviewAt <= declineAt.',
      tags: ['risk'],
      auth: admin,
      idempotent: false,
      params: z.object({ scope: z.union([z.literal('default'), z.string().regex(/^(venue|event):[0-9a-f-]{36}$/i, { error: 'must be default, venue:<uuid> or event:<uuid>' })]) }),
      body: thresholds,
      response: z.object({ position: positionAnswer }),
      handler: async ({ params, body, principal, correlationId }) => ({
        position: answeredPosition(await risk.setThresholds(params.scope.toLowerCase(), body, callerCommandContext(api.services, { kind: 'user', principal }, correlationId))),
      }),
    });

  },
};
