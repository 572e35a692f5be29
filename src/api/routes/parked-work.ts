import { z } from 'zod';
import type { ParkedWork } from '../../processmanagers/runtime/parking.js';
import type { RouteModule } from '../route.js';

const parked = z.object({
  id: z.string().describe('`pm:<process>:<event id>`, `deadline:<id>` or `webhook:stripe:<event id>`'),
  source: z.string().describe('Who parked it: pm:purchase, pm:refund, deadline, webhook:stripe'),
  item: z.record(z.string(), z.unknown()).describe('What to run again (stream and event, deadline or Stripe event)'),
  error: z.string(),
  attempts: z.number().int(),
  parkedAt: z.string(),
  retriedAt: z.string().nullable(),
  resolvedAt: z.string().nullable().describe('Set once a retry succeeded'),
});

const toJson = (work: ParkedWork): z.output<typeof parked> => ({
  id: work.id,
  source: work.source,
  item: { ...work.item },
  error: work.error,
  attempts: work.attempts,
  parkedAt: work.parkedAt.toISOString(),
  retriedAt: work.retriedAt?.toISOString() ?? null,
  resolvedAt: work.resolvedAt?.toISOString() ?? null,
});

/** Work the process managers, deadlines and webhooks gave up on, for an operator to see and retry. */
export const parkedWorkRoutes: RouteModule = {
  name: 'parked-work',
  register(api) {
    api.route({
      method: 'GET',
      url: '/admin/parked',
      summary: 'Parked work, oldest first (unresolved only unless includeResolved=true)',
      tags: ['admin'],
      auth: { roles: ['admin'] },
      query: z.object({
        includeResolved: z.stringbool().default(false),
        limit: z.coerce.number().int().min(1).max(1_000).default(100),
      }),
      response: z.object({ items: z.array(parked), count: z.number().int() }),
      handler: async ({ query }) => {
        const items = await api.services.parked.listParked({ includeResolved: query.includeResolved, limit: query.limit });
        return { items: items.map(toJson), count: items.length };
      },
    });

    api.route({
      method: 'POST',
      url: '/admin/parked/:id/retry',
      summary: 'Run a parked item once more; answers the item after the attempt',
      description: 'Resolved when the attempt worked (`resolvedAt` set); otherwise it stays parked with the new error.',
      tags: ['admin'],
      auth: { roles: ['admin'] },
      idempotent: true,
      params: z.object({ id: z.string().min(1).max(300) }),
      response: parked,
      handler: async ({ params }) => toJson(await api.services.parked.retryParked(params.id)),
    });
  },
};
