import { z } from 'zod';
import { TesseraError } from '../../errors.js';
import type { DeliveryView, DeliveryWithLog, WebhookEndpoint } from '../../gateways/webhook-store.js';
import type { RouteModule } from '../route.js';
import { isoDateTime, uuid } from '../schemas.js';

const endpoint = z.object({
  id: z.string(),
  url: z.string(),
  eventTypes: z.array(z.string()).describe('Integration event types, or `*` for all'),
  description: z.string().nullable(),
  status: z.enum(['enabled', 'disabled']),
  createdBy: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  secrets: z
    .array(z.object({ serial: z.number().int(), createdAt: z.string(), expiresAt: z.string().nullable() }))
    .describe('The signing secrets in force, newest first (their values are shown once, when made); an old one signs beside the new until it expires'),
});

const withSecret = endpoint.extend({
  secret: z.string().describe('The new signing secret (`whsec_...`): shown this once. Verify `Tessera-Signature` with it'),
});

const delivery = z.object({
  id: z.string(),
  endpointId: z.string(),
  eventId: z.string().describe("The CloudEvent's id (the source event's): drop a repeat by it"),
  eventType: z.string(),
  status: z.enum(['pending', 'delivered', 'dead', 'cancelled']).describe('dead: given up after the retry window (the dead-letter list); redeliver it by hand'),
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  giveUpAt: z.string(),
  createdAt: z.string(),
  lastAttemptAt: z.string().nullable(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: z.string().nullable(),
});

const deliveryWithLog = delivery.extend({
  log: z.array(
    z.object({
      attempt: z.number().int(),
      attemptedAt: z.string(),
      statusCode: z.number().int().nullable(),
      error: z.string().nullable(),
      responseExcerpt: z.string().nullable().describe('The start of what the endpoint answered'),
      durationMs: z.number().int(),
    }),
  ),
});

const iso = (date: Date | null) => date?.toISOString() ?? null;

const endpointJson = (e: WebhookEndpoint): z.output<typeof endpoint> => ({
  id: e.id,
  url: e.url,
  eventTypes: [...e.eventTypes],
  description: e.description,
  status: e.status === 'disabled' ? 'disabled' : 'enabled',
  createdBy: e.createdBy,
  createdAt: e.createdAt.toISOString(),
  updatedAt: e.updatedAt.toISOString(),
  secrets: e.secrets.map((s) => ({ serial: s.serial, createdAt: s.createdAt.toISOString(), expiresAt: iso(s.expiresAt) })),
});

const deliveryJson = (d: DeliveryView): z.output<typeof delivery> => ({
  id: d.id,
  endpointId: d.endpointId,
  eventId: d.eventId,
  eventType: d.eventType,
  status: d.status,
  attempts: d.attempts,
  nextAttemptAt: iso(d.nextAttemptAt),
  giveUpAt: d.giveUpAt.toISOString(),
  createdAt: d.createdAt.toISOString(),
  lastAttemptAt: iso(d.lastAttemptAt),
  lastStatusCode: d.lastStatusCode,
  lastError: d.lastError,
  deliveredAt: iso(d.deliveredAt),
});

const deliveryWithLogJson = (d: DeliveryWithLog): z.output<typeof deliveryWithLog> => ({
  ...deliveryJson(d),
  log: d.log.map((a) => ({ ...a, attemptedAt: a.attemptedAt.toISOString(), durationMs: Math.round(a.durationMs) })),
});

/** A page's position: the last delivery's creation time and id, opaque to the client. */
const cursorOf = (d: DeliveryView): string => Buffer.from(JSON.stringify([d.createdAt.toISOString(), d.id])).toString('base64url');
function parseCursor(cursor: string): { createdAt: Date; id: string } {
  try {
    const [at, id] = z.tuple([isoDateTime('a date-time'), z.uuid()]).parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return { createdAt: new Date(at), id };
  } catch {
    throw new TesseraError('VALIDATION_ERROR', 'cursor is not one this API answered', { errors: [{ field: 'cursor', message: 'is not one this API answered' }] });
  }
}

const url = z.string().trim().min(1).max(2_048).describe('https:// (http:// and private addresses only where the server allows them)');
const eventTypes = z
  .array(z.string().trim().min(1).max(200))
  .min(1)
  .max(100)
  .describe('Types from GET /api/v1/integration-events (e.g. `com.tessera.payment.completed`), or `["*"]` for all');
const description = z.string().trim().max(500);

/**
 * Webhooks out (issue 22): a tenant's admins register HTTPS endpoints for the integration events
 * they want, rotate their signing secrets, read the delivery log (the dead-letter list is
 * `status=dead`) and redeliver. Everything here is the caller's tenant's: another tenant's ids
 * answer 404.
 */
export const webhookEndpointRoutes: RouteModule = {
  name: 'webhook-endpoints',
  register(api) {
    const commands = api.services.webhookEndpoints;
    for (const metric of api.services.metrics.webhooks.all) api.metrics.registerMetric(metric);
    const ops = { tags: ['webhooks'], auth: { roles: ['admin'] } } as const;
    const endpointId = z.object({ id: uuid });

    api.route({
      ...ops,
      method: 'POST',
      url: '/api/v1/webhook-endpoints',
      summary: 'Register a webhook endpoint; answers its signing secret, once',
      description:
        'Each integration event of the tenant of a type asked for is POSTed to the URL as a CloudEvent (structured mode), ' +
        'signed `Tessera-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (Stripe\'s scheme). ' +
        'A non-2xx answer is retried with exponential backoff for up to 3 days, then dead-lettered.',
      idempotent: true,
      status: 201,
      body: z.object({ url, eventTypes, description: description.optional() }).strict(),
      response: withSecret,
      handler: async ({ body, principal }) => {
        const created = await commands.register(principal, body);
        return { ...endpointJson(created.endpoint), secret: created.secret };
      },
    });

    api.route({
      ...ops,
      method: 'GET',
      url: '/api/v1/webhook-endpoints',
      summary: "The tenant's webhook endpoints",
      response: z.object({ items: z.array(endpoint), count: z.number().int() }),
      handler: async ({ principal }) => {
        const items = (await commands.list(principal)).map(endpointJson);
        return { items, count: items.length };
      },
    });

    api.route({
      ...ops,
      method: 'GET',
      url: '/api/v1/webhook-endpoints/:id',
      summary: 'A webhook endpoint',
      params: endpointId,
      response: endpoint,
      handler: async ({ params, principal }) => endpointJson(await commands.get(principal, params.id)),
    });

    api.route({
      ...ops,
      method: 'PATCH',
      url: '/api/v1/webhook-endpoints/:id',
      summary: "Change an endpoint's URL, event types or description, or disable and enable it",
      description: 'A disabled endpoint is sent nothing: events meanwhile make no delivery, and pending ones wait (and still give up after their window).',
      idempotent: true,
      params: endpointId,
      body: z
        .object({ url: url.optional(), eventTypes: eventTypes.optional(), description: description.nullable().optional(), status: z.enum(['enabled', 'disabled']).optional() })
        .strict()
        .refine((changes) => Object.values(changes).some((value) => value !== undefined), { error: 'name at least one of url, eventTypes, description, status' }),
      response: endpoint,
      handler: async ({ params, body, principal }) =>
        endpointJson(
          await commands.update(principal, params.id, {
            ...(body.url === undefined ? {} : { url: body.url }),
            ...(body.eventTypes === undefined ? {} : { eventTypes: body.eventTypes }),
            ...(body.description === undefined ? {} : { description: body.description }),
            ...(body.status === undefined ? {} : { status: body.status }),
          }),
        ),
    });

    api.route({
      ...ops,
      method: 'DELETE',
      url: '/api/v1/webhook-endpoints/:id',
      summary: 'Delete an endpoint: its pending deliveries are cancelled; its log stays readable',
      idempotent: true,
      params: endpointId,
      response: z.object({ id: z.string(), deleted: z.literal(true) }),
      handler: async ({ params, principal }) => {
        await commands.remove(principal, params.id);
        return { id: params.id, deleted: true as const };
      },
    });

    api.route({
      ...ops,
      method: 'POST',
      url: '/api/v1/webhook-endpoints/:id/rotate-secret',
      summary: 'A new signing secret; the old one signs beside it until `expiresInSeconds` have passed',
      description:
        'Deliveries carry one `v1=` per secret in force, so a receiver verifying with either succeeds while it switches. ' +
        'Two at most: a secret still rotating out from an earlier rotation stops at once. `expiresInSeconds: 0` ends the old one now.',
      idempotent: true,
      params: endpointId,
      // No body at all is the default: the old secret stays valid for a day.
      body: z
        .object({ expiresInSeconds: z.number().int().min(0).max(7 * 86_400).default(86_400) })
        .strict()
        .nullish()
        .transform((body) => ({ expiresInSeconds: body?.expiresInSeconds ?? 86_400 })),
      response: withSecret,
      handler: async ({ params, body, principal }) => {
        const rotated = await commands.rotateSecret(principal, params.id, body.expiresInSeconds);
        return { ...endpointJson(rotated.endpoint), secret: rotated.secret };
      },
    });

    api.route({
      ...ops,
      method: 'GET',
      url: '/api/v1/webhook-deliveries',
      summary: "The tenant's webhook delivery log, newest first; `status=dead` is the dead-letter list",
      query: z.object({
        endpointId: uuid.optional(),
        status: z.enum(['pending', 'delivered', 'dead', 'cancelled']).optional(),
        limit: z.coerce.number().int().min(1).max(500).default(100),
        cursor: z.string().max(200).optional().describe("The previous page's nextCursor"),
      }),
      response: z.object({ items: z.array(delivery), count: z.number().int(), nextCursor: z.string().nullable() }),
      handler: async ({ query, principal }) => {
        const items = await commands.deliveries(principal, {
          limit: query.limit,
          ...(query.endpointId ? { endpointId: query.endpointId } : {}),
          ...(query.status ? { status: query.status } : {}),
          ...(query.cursor ? { before: parseCursor(query.cursor) } : {}),
        });
        const last = items[items.length - 1];
        return { items: items.map(deliveryJson), count: items.length, nextCursor: last && items.length === query.limit ? cursorOf(last) : null };
      },
    });

    api.route({
      ...ops,
      method: 'GET',
      url: '/api/v1/webhook-deliveries/:id',
      summary: 'A webhook delivery with every attempt: when, what the endpoint answered, how long it took',
      params: endpointId,
      response: deliveryWithLog,
      handler: async ({ params, principal }) => deliveryWithLogJson(await commands.delivery(principal, params.id)),
    });

    api.route({
      ...ops,
      method: 'POST',
      url: '/api/v1/webhook-deliveries/:id/redeliver',
      summary: 'Send a delivery again now (a dead or delivered one too), with a new 3-day retry window',
      idempotent: true,
      params: endpointId,
      response: delivery,
      handler: async ({ params, principal }) => deliveryJson(await commands.redeliver(principal, params.id)),
    });
  },
};
