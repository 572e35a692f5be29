import { z } from 'zod';
import { TesseraError } from '../../errors.js';
import { paymentMetrics, recentStats, taxCollectionsBetween } from '../../projections/payments/queries.js';
import { PAYMENTS_PROJECTION } from '../../projections/payments/projection.js';
import { SALE_KINDS } from '../../projections/payments/rows.js';
import { TAX_COLLECTIONS_PROJECTION } from '../../projections/tax-collections.js';
import { awaitReadModel, positionParam } from '../read-your-writes.js';
import type { RouteModule } from '../route.js';
import { isoDate, isoDateTime, periodInOrder } from '../schemas.js';

const count = z.number().int();
const amount = z.number().int();
const date = isoDate('must be a date, YYYY-MM-DD');
const dateTime = isoDateTime('must be an ISO-8601 date-time');

const DAY_MS = 24 * 60 * 60 * 1000;
/** The longest period one tax report or metrics query may span. */
const MAX_PERIOD_DAYS = 366;

const taxLine = z.object({
  jurisdiction: z.string(),
  kind: z.string().describe('state, local or entertainment'),
  currency: z.string(),
  taxable: amount.describe('Ticket price the tax was computed on, less what refunds returned'),
  collected: amount,
  refunded: amount,
  net: amount.describe('collected - refunded: what is owed to the jurisdiction'),
  transactions: count,
});

const projectionStatus = z.object({
  name: z.string(),
  version: z.number().int(),
  storedVersion: z.number().int().nullable(),
  state: z.string(),
  checkpoint: z.string().nullable(),
  head: z.string().nullable(),
  lagEvents: count,
  lagSeconds: z.number(),
  processed: count,
  consecutiveFailures: count,
  lastError: z.string().optional(),
  maintenance: z.record(z.string(), z.unknown()).optional(),
});

/** Tax collections, /admin/stats (seed 003 #20), payment metrics (seed 001) and projection status. */
export const reportRoutes: RouteModule = {
  name: 'reports',
  register(api) {
    const db = () => api.services.readSide.db;
    const admin = { roles: ['admin'] } as const;

    api.route({
      method: 'GET',
      url: '/api/v1/tax/collections',
      summary: 'Tax collected per jurisdiction, kind and day between two dates, inclusive (admins)',
      tags: ['reports'],
      auth: admin,
      query: z
        .object({
          jurisdiction: z.string().regex(/^[a-z0-9-]{1,64}$/, { error: 'a jurisdiction such as tn or tn-nashville' }).optional(),
          startDate: date,
          endDate: date,
          position: positionParam,
        })
        .refine(...periodInOrder('startDate', 'endDate'))
        // Both ends count: 2026-01-01..2026-12-31 is 365 days, so the difference stays below MAX_PERIOD_DAYS.
        .refine((q) => Date.parse(q.endDate) - Date.parse(q.startDate) < MAX_PERIOD_DAYS * DAY_MS, {
          error: `a report spans at most ${MAX_PERIOD_DAYS} days`,
          path: ['endDate'],
        }),
      response: z.object({
        jurisdiction: z.string().nullable(),
        startDate: z.string(),
        endDate: z.string(),
        totals: z.array(taxLine),
        days: z.array(taxLine.extend({ date: z.string() })),
      }),
      handler: async ({ query }) => {
        await awaitReadModel(api.services, TAX_COLLECTIONS_PROJECTION, query.position, api.config.READ_WAIT_MS);
        const report = await taxCollectionsBetween(db(), {
          startDate: query.startDate,
          endDate: query.endDate,
          ...(query.jurisdiction === undefined ? {} : { jurisdiction: query.jurisdiction }),
        });
        return {
          jurisdiction: query.jurisdiction ?? null,
          startDate: query.startDate,
          endDate: query.endDate,
          totals: [...report.totals],
          days: [...report.days],
        };
      },
    });

    api.route({
      method: 'GET',
      url: '/admin/stats',
      summary: 'Sales requested in the last 24 hours by outcome, and their revenue (admins)',
      description:
        'Card purchases, group purchases and resale charges (each by its own status), so the revenue is what the ledger ' +
        'took into gateway:clearing for them. `revenue_by_kind` splits it by kind of sale.',
      tags: ['admin'],
      auth: admin,
      query: z.object({ position: positionParam }),
      response: z.object({
        last24Hours: z.object({
          total_payments: count,
          successful: count,
          failed: count,
          pending: count,
          expired: count,
          cancelled: count,
          total_revenue: amount.describe('Captured, in cents (USD), of the successful sales of every kind'),
          refunded: amount,
          revenue_by_currency: z.record(z.string(), amount),
          revenue_by_kind: z.object({ purchase: z.record(z.string(), amount), group: z.record(z.string(), amount), resale: z.record(z.string(), amount) }),
        }),
        timestamp: z.string(),
      }),
      handler: async ({ query }) => {
        await awaitReadModel(api.services, PAYMENTS_PROJECTION, query.position, api.config.READ_WAIT_MS);
        const now = api.services.clock();
        const last24Hours = await recentStats(db(), new Date(now.getTime() - DAY_MS), new Date(now.getTime() + 1));
        return { last24Hours, timestamp: now.toISOString() };
      },
    });

    api.route({
      method: 'GET',
      url: '/api/v1/payments/metrics',
      summary: 'Success rate, failure rate by reason, average processing time and revenue over a period (admins)',
      description:
        'Counts outcomes recorded in the whole hours that start in [from, to); the default period is the last 24 hours. ' +
        'Every kind of sale counts (card purchases, group purchases, resale charges) unless `kind` names one.',
      tags: ['reports'],
      auth: admin,
      query: z.object({
        from: dateTime.optional(),
        to: dateTime.optional(),
        kind: z.enum(SALE_KINDS).optional().describe('purchase (a card purchase), group or resale; all when absent'),
        position: positionParam,
      }),
      response: z.object({
        from: z.string(),
        to: z.string(),
        requested: count,
        outcomes: z.object({ completed: count, failed: count, expired: count, cancelled: count }),
        successRate: z.number().nullable(),
        failureRate: z.number().nullable(),
        failuresByReason: z.array(z.object({ reason: z.string(), count, rate: z.number() })),
        averageProcessingMs: z.number().int().nullable(),
        revenue: z.array(z.object({ currency: z.string(), captured: amount, refunded: amount, chargedBack: amount, net: amount })),
      }),
      handler: async ({ query }) => {
        await awaitReadModel(api.services, PAYMENTS_PROJECTION, query.position, api.config.READ_WAIT_MS);
        const to = query.to === undefined ? api.services.clock() : new Date(query.to);
        const from = query.from === undefined ? new Date(to.getTime() - DAY_MS) : new Date(query.from);
        if (from >= to || to.getTime() - from.getTime() > MAX_PERIOD_DAYS * DAY_MS) {
          throw new TesseraError('VALIDATION_ERROR', 'Validation failed', {
            errors: [{ field: 'query.from', message: `must be before to, at most ${MAX_PERIOD_DAYS} days earlier` }],
          });
        }
        const report = await paymentMetrics(db(), floorToHour(from), to, query.kind);
        return { ...report, failuresByReason: [...report.failuresByReason], revenue: [...report.revenue] };
      },
    });

    api.route({
      method: 'GET',
      url: '/admin/projections',
      summary: 'Each read model: state, checkpoint, lag and last error (admins)',
      tags: ['admin'],
      auth: admin,
      response: z.object({ projections: z.array(projectionStatus) }),
      handler: async () => {
        const statuses = await api.services.readSide.status();
        return {
          projections: statuses.map(({ maintenance, lastError, ...status }) => ({
            ...status,
            ...(lastError === undefined ? {} : { lastError }),
            ...(maintenance === undefined ? {} : { maintenance: { ...maintenance } }),
          })),
        };
      },
    });
  },
};

function floorToHour(date: Date): Date {
  const hour = new Date(date);
  hour.setUTCMinutes(0, 0, 0);
  return hour;
}
