import { randomUUID } from 'node:crypto';
import type { Principal } from '../domain/access.js';
import { endpointUrlProblem, newWebhookSecret, type EndpointUrlRules, type RetrySchedule } from '../domain/webhooks.js';
import { TesseraError } from '../errors.js';
import { integrationCatalogue } from '../events/integration.js';
import type { DeliveryQuery, DeliveryView, DeliveryWithLog, EndpointChanges, WebhookEndpoint, WebhookStore } from '../gateways/webhook-store.js';

/**
 * Webhooks out (issue 22): what a tenant's admin does with their endpoints. Every call names the
 * tenant from the caller's token, and the store answers only that tenant's rows: another tenant's
 * endpoint or delivery is not found, never forbidden (its existence is not told).
 */
export interface WebhookEndpointInput {
  readonly url: string;
  readonly eventTypes: readonly string[];
  readonly description?: string | undefined;
}

/** A secret is in the answer once: when the endpoint is registered, and when it is rotated. */
export interface WithSecret {
  readonly endpoint: WebhookEndpoint;
  readonly secret: string;
}

export interface WebhookEndpointCommands {
  register(principal: Principal, input: WebhookEndpointInput): Promise<WithSecret>;
  list(principal: Principal): Promise<WebhookEndpoint[]>;
  get(principal: Principal, id: string): Promise<WebhookEndpoint>;
  update(principal: Principal, id: string, changes: EndpointChanges): Promise<WebhookEndpoint>;
  remove(principal: Principal, id: string): Promise<void>;
  /** A new current secret; the old one keeps signing (beside it) for `graceSeconds`. */
  rotateSecret(principal: Principal, id: string, graceSeconds: number): Promise<WithSecret>;
  deliveries(principal: Principal, query: DeliveryQuery): Promise<DeliveryView[]>;
  delivery(principal: Principal, id: string): Promise<DeliveryWithLog>;
  /** Sends a delivery again now (a dead one too), with a new retry window. */
  redeliver(principal: Principal, id: string): Promise<DeliveryView>;
}

export interface WebhookEndpointDeps {
  readonly store: WebhookStore;
  readonly urls: EndpointUrlRules;
  readonly schedule: RetrySchedule;
  readonly maxPerTenant: number;
  readonly clock: () => Date;
  /** Told when a delivery became due by hand, so it goes out now rather than at the next poll. */
  readonly wake?: () => void;
}

/** The integration event types a subscriber may ask for: the public catalogue's, or `*` for all. */
export const subscribableTypes = (): ReadonlySet<string> => new Set(integrationCatalogue().map((entry) => entry.type));

export function webhookEndpointCommands(deps: WebhookEndpointDeps): WebhookEndpointCommands {
  const known = subscribableTypes();

  const checkUrl = (url: string) => {
    const problem = endpointUrlProblem(url, deps.urls);
    if (problem) throw invalid('url', problem);
  };
  const checkTypes = (types: readonly string[]): string[] => {
    const unique = [...new Set(types)];
    const unknown = unique.filter((type) => type !== '*' && !known.has(type));
    if (unknown.length > 0) throw invalid('eventTypes', `unknown event types: ${unknown.join(', ')} (GET /api/v1/integration-events lists them)`);
    return unique.includes('*') ? ['*'] : unique.sort();
  };
  const endpointOf = async (principal: Principal, id: string) => {
    const endpoint = await deps.store.findEndpoint(principal.tenantId, id);
    if (!endpoint) throw notFound(id);
    return endpoint;
  };

  return {
    async register(principal, input) {
      checkUrl(input.url);
      const eventTypes = checkTypes(input.eventTypes);
      const secret = newWebhookSecret();
      const at = deps.clock();
      const id = randomUUID();
      const created = await deps.store.createEndpoint(
        { id, tenantId: principal.tenantId, url: input.url, eventTypes, description: input.description ?? null, status: 'enabled', createdBy: principal.userId, createdAt: at },
        secret,
        deps.maxPerTenant,
      );
      if (!created) {
        throw new TesseraError('WEBHOOK_ENDPOINT_LIMIT_REACHED', `a tenant may register at most ${deps.maxPerTenant} webhook endpoints`, {
          expose: { max: deps.maxPerTenant },
        });
      }
      return { endpoint: await endpointOf(principal, id), secret };
    },

    list: (principal) => deps.store.listEndpoints(principal.tenantId),
    get: endpointOf,

    async update(principal, id, changes) {
      if (changes.url !== undefined) checkUrl(changes.url);
      const updated = await deps.store.updateEndpoint(
        principal.tenantId,
        id,
        { ...changes, ...(changes.eventTypes ? { eventTypes: checkTypes(changes.eventTypes) } : {}) },
        deps.clock(),
      );
      if (!updated) throw notFound(id);
      return updated;
    },

    async remove(principal, id) {
      if (!(await deps.store.deleteEndpoint(principal.tenantId, id, deps.clock()))) throw notFound(id);
    },

    async rotateSecret(principal, id, graceSeconds) {
      const at = deps.clock();
      const secret = newWebhookSecret();
      const endpoint = await deps.store.rotateSecret(principal.tenantId, id, secret, at, new Date(at.getTime() + graceSeconds * 1000));
      if (!endpoint) throw notFound(id);
      return { endpoint, secret };
    },

    deliveries: (principal, query) => deps.store.listDeliveries(principal.tenantId, query),

    async delivery(principal, id) {
      const found = await deps.store.findDelivery(principal.tenantId, id);
      if (!found) throw deliveryNotFound(id);
      return found;
    },

    async redeliver(principal, id) {
      const now = deps.clock();
      const delivery = await deps.store.redeliver(principal.tenantId, id, now, new Date(now.getTime() + deps.schedule.windowMs));
      if (!delivery) throw deliveryNotFound(id);
      if (delivery === 'in_flight') {
        throw new TesseraError('WEBHOOK_DELIVERY_IN_FLIGHT', `an attempt of webhook delivery ${id} is under way; redeliver it once that attempt is recorded`, {
          expose: { deliveryId: id },
        });
      }
      deps.wake?.();
      return delivery;
    },
  };
}

const invalid = (field: string, message: string) => new TesseraError('VALIDATION_ERROR', `${field} ${message}`, { errors: [{ field, message }] });
const notFound = (id: string) => new TesseraError('WEBHOOK_ENDPOINT_NOT_FOUND', `no webhook endpoint ${id}`, { expose: { endpointId: id } });
const deliveryNotFound = (id: string) => new TesseraError('WEBHOOK_DELIVERY_NOT_FOUND', `no webhook delivery ${id}`, { expose: { deliveryId: id } });
