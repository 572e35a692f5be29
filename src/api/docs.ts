import swagger, { type SwaggerTransform } from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

/**
 * OpenAPI 3.1 generated from the routes' zod schemas: the document at /docs/json (and
 * /docs/yaml), Swagger UI at /docs. Register before the routes so every route is seen.
 */
export function registerDocs(app: FastifyInstance, version: string): void {
  void app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tessera API',
        version,
        description:
          'Event-sourced payment ledger for ticketing. Amounts are integer cents. Errors answer ' +
          '`{ error, code, timestamp, path, errors? }`. Command routes need an `Idempotency-Key` (UUID).',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          internalService: { type: 'apiKey', in: 'header', name: 'x-internal-service' },
          internalTimestamp: { type: 'apiKey', in: 'header', name: 'x-internal-timestamp' },
          internalNonce: {
            type: 'apiKey',
            in: 'header',
            name: 'x-internal-nonce',
            description: '16-128 characters of [A-Za-z0-9_-], new for every request',
          },
          internalSignature: {
            type: 'apiKey',
            in: 'header',
            name: 'x-internal-signature',
            description:
              'hex HMAC-SHA256 under INTERNAL_SERVICE_SECRET of the v2 canonical string ' +
              '`v2\\n<timestamp>\\n<nonce>\\n<service>\\n<METHOD>\\n<path?query>\\n<hex sha256 of the raw body>`',
          },
          stripeSignature: {
            type: 'apiKey',
            in: 'header',
            name: 'stripe-signature',
            description: "Stripe's webhook signature (`t=<unix time>,v1=<HMAC>`) under STRIPE_WEBHOOK_SECRET, over the raw body",
          },
        },
      },
    },
    transform: withIdempotencyHeader,
    transformObject: jsonSchemaTransformObject,
  });
  void app.register(swaggerUi, { routePrefix: '/docs' });
}

/** Documents the Idempotency-Key header on command routes; the edge checks it (not the schema). */
const withIdempotencyHeader: SwaggerTransform = (document) => {
  const transformed = jsonSchemaTransform(document);
  if (!document.route.config?.tessera?.idempotent) return transformed;
  return {
    ...transformed,
    schema: {
      ...transformed.schema,
      headers: {
        type: 'object',
        required: ['idempotency-key'],
        properties: {
          'idempotency-key': {
            type: 'string',
            format: 'uuid',
            description: 'A new UUID per operation; a retry sends the same key and body and gets the stored response',
          },
        },
      },
    },
  };
};
