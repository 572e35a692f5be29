import { z } from 'zod';
import { TesseraError } from '../../errors.js';
import { integrationCatalogue, integrationSchema } from '../../events/integration.js';
import type { RouteModule } from '../route.js';

const entry = z.object({
  type: z.string().describe('The CloudEvent `type`, e.g. `com.tessera.payment.completed`'),
  version: z.number().int().describe('The payload version; the envelope `dataschema` names it'),
  description: z.string(),
  from: z.string().describe('The domain event it is derived from'),
  schema: z.string().describe('Where its JSON Schema (draft 2020-12) is served'),
});

/**
 * Events out (issue 22): the public catalogue of integration events and their JSON Schemas. They
 * are public, like any published API contract: they describe shapes, never data, so a consumer's
 * developers read them without a Tessera account. The publishers' metrics are registered here.
 */
export const integrationEventRoutes: RouteModule = {
  name: 'integration-events',
  register(api) {
    for (const metric of api.services.metrics.publishing.all) api.metrics.registerMetric(metric);
    const ops = { tags: ['integration-events'], auth: 'public' } as const;

    api.route({
      ...ops,
      method: 'GET',
      url: '/api/v1/integration-events',
      summary: 'The integration events Tessera publishes (CloudEvents 1.0), with their versions and schemas',
      response: z.object({ specversion: z.literal('1.0'), items: z.array(entry) }),
      handler: () => ({ specversion: '1.0' as const, items: integrationCatalogue() }),
    });

    api.route({
      ...ops,
      method: 'GET',
      url: '/api/v1/integration-events/:type/:version/schema',
      summary: "An integration event's payload schema (JSON Schema draft 2020-12) at a version",
      params: z.object({ type: z.string().min(1).max(200), version: z.coerce.number().int().min(1).max(1_000) }),
      response: z.record(z.string(), z.unknown()),
      handler: ({ params }) => {
        const schema = integrationSchema(params.type, params.version);
        if (!schema) throw new TesseraError('NOT_FOUND', `no integration event ${params.type} at version ${params.version}`, { type: params.type, version: params.version });
        return { ...schema };
      },
    });
  },
};
