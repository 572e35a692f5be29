import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import type { HTTPMethods, LightMyRequestResponse } from 'fastify';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS } from '../../src/errors.js';
import { internalHeaders, signToken, testApp, type TestApp } from '../support/app.js';
import {
  HOSTILE_STRINGS,
  mutate,
  mutation,
  percentEncode,
  toBody,
  toJsonText,
  toText,
  treeFor,
  type JsonSchema,
  type Pools,
} from '../support/json-schema-arbitrary.js';
import { NASHVILLE } from '../support/payments.js';
import { writtenRows } from '../support/written-rows.js';

/**
 * Fuzzes every operation of the OpenAPI document the app serves, so a route added later is
 * fuzzed without touching this file. Requests are generated from each operation's own schemas
 * (mostly well-shaped, with hostile values mixed in) and sent with the credentials the operation
 * declares. No answer may be a 5xx, and a refused request may write nothing: the app runs
 * without background work, so any row that appears during a request was written by it.
 *
 * The seed is fixed, so CI sends the same requests every run; set FUZZ_SEED to try others (a
 * failure prints the seed that found it).
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_207);
/** Requests per operation (FUZZ_RUNS overrides it): 13,600 over today's 34 operations, 20-50 s on two cores. */
const RUNS_PER_OPERATION = Number(process.env.FUZZ_RUNS ?? 400);
const STRIPE_SECRET = 'whsec_fuzz_secret';
const SERVICE = 'venue-service';
const BUYER = 'buyer-1';

interface Parameter {
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly name: string;
  readonly required?: boolean;
  readonly schema?: JsonSchema;
}

interface Operation {
  readonly parameters?: readonly Parameter[];
  readonly requestBody?: { readonly content?: Readonly<Record<string, { readonly schema?: JsonSchema }>> };
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
}

interface OpenApi {
  readonly paths: Readonly<Record<string, Readonly<Record<string, Operation>>>>;
}

type Credential = 'admin' | 'user' | 'venue_manager' | 'service' | 'stripe' | 'none' | 'forged';

/** One generated request, before its credentials and Idempotency-Key are added at send time. */
interface Plan {
  readonly method: HTTPMethods;
  readonly url: string;
  readonly body: string | undefined;
  readonly badBytes: number;
  readonly contentType: string | undefined;
  readonly credential: Credential;
  readonly idempotencyKey: 'fresh' | 'missing' | 'malformed';
}

/** What a Stripe-signed route receives: Stripe's events (the route documents no body of its own). */
function stripeEventSchema(): JsonSchema {
  const id = (prefix: string): JsonSchema => ({ type: 'string', pattern: `^${prefix}_[A-Za-z0-9]{8,24}$` });
  const paymentIntent: JsonSchema = { anyOf: [id('pi'), { type: 'null' }] };
  const metadata: JsonSchema = {
    type: 'object',
    properties: { paymentId: { type: 'string', format: 'uuid' }, refundId: { type: 'string', format: 'uuid' } },
    additionalProperties: { type: 'string' },
  };
  const cents: JsonSchema = { type: 'integer', minimum: 0, maximum: 10_000_000 };
  const intent: JsonSchema = {
    type: 'object',
    required: ['id', 'object', 'metadata'],
    properties: {
      id: id('pi'),
      object: { const: 'payment_intent' },
      amount_received: cents,
      amount_capturable: cents,
      metadata,
      last_payment_error: { type: ['object', 'null'], properties: { message: { type: 'string' }, code: { type: 'string' }, decline_code: { type: 'string' } } },
    },
  };
  const refund: JsonSchema = {
    type: 'object',
    required: ['id', 'object', 'amount', 'status'],
    properties: {
      id: id('re'),
      object: { const: 'refund' },
      amount: cents,
      status: { enum: ['succeeded', 'pending', 'failed', 'canceled', 'requires_action', null] },
      payment_intent: paymentIntent,
      metadata,
      reason: { type: ['string', 'null'] },
      failure_reason: { type: ['string', 'null'] },
    },
  };
  const charge: JsonSchema = {
    type: 'object',
    required: ['id', 'object'],
    properties: { id: id('ch'), object: { const: 'charge' }, metadata, refunds: { type: 'object', properties: { data: { type: 'array', items: refund } } } },
  };
  const dispute: JsonSchema = {
    type: 'object',
    required: ['id', 'object', 'amount', 'reason', 'status'],
    properties: {
      id: id('dp'),
      object: { const: 'dispute' },
      amount: cents,
      reason: { enum: ['fraudulent', 'duplicate', 'general'] },
      status: { enum: ['won', 'lost', 'warning_closed', 'needs_response'] },
      payment_intent: paymentIntent,
      metadata,
    },
  };
  const event = (types: readonly string[], object: JsonSchema): JsonSchema => ({
    type: 'object',
    required: ['id', 'object', 'type', 'created', 'data'],
    properties: {
      id: id('evt'),
      object: { const: 'event' },
      api_version: { const: '2025-01-27.acacia' },
      created: { type: 'integer', minimum: 0, maximum: 4_102_444_800 },
      type: { enum: types },
      data: { type: 'object', required: ['object'], properties: { object } },
    },
  });
  return {
    anyOf: [
      event(['payment_intent.succeeded', 'payment_intent.amount_capturable_updated', 'payment_intent.payment_failed'], intent),
      event(['refund.created', 'refund.updated'], refund),
      event(['charge.refunded'], charge),
      event(['charge.dispute.created', 'charge.dispute.closed'], dispute),
      event(['customer.created', 'invoice.paid'], { type: 'object', properties: { id: { type: 'string' } } }),
    ],
  };
}

/** Path segments a router or decoder may trip on: NUL, bad percent-encoding, surrogates, length. */
const HOSTILE_SEGMENTS: readonly string[] = [
  '%00',
  'a%00b',
  '%E0%A4%A',
  '%',
  '%zz',
  '%ED%A0%80',
  '%C0%AF',
  '%FF',
  '%F0%9F%98%80',
  '%C3%A9',
  '%2F',
  '..',
  '%2E%2E',
  ' ',
  'x'.repeat(101),
  'y'.repeat(5_000),
  '00000000-0000-0000-0000-000000000000',
];

const HOSTILE_QUERY_VALUES: readonly string[] = ['%00', '%E0%A4%A', '%', '%zz', '%ED%A0%80', '%FF', 'z'.repeat(10_000), ''];

const CONTENT_TYPES: readonly (string | undefined)[] = [
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'application/json; charset=utf-16',
  'application/json;;',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/vnd.api+json',
  '',
  undefined,
];

function planFor(method: HTTPMethods, path: string, operation: Operation, pools: Pools): fc.Arbitrary<Plan> {
  const parameters = operation.parameters ?? [];
  const pathParams = parameters.filter((p) => p.in === 'path');
  const queryParams = parameters.filter((p) => p.in === 'query');
  const bodySchema = operation.requestBody?.content?.['application/json']?.schema;
  const schemes = (operation.security ?? []).flatMap((alternative) => Object.keys(alternative));
  const signedByStripe = schemes.includes('stripeSignature');

  const segment = (p: Parameter) =>
    fc.tuple(treeFor(p.schema ?? { type: 'string' }, pools, p.name), mutation, fc.nat({ max: 99 })).map(([tree, change, dice]) => {
      if (dice < 70) return percentEncode(toText(tree));
      if (dice < 85) return percentEncode(toText(mutate(tree, change)));
      return HOSTILE_SEGMENTS[change.pick % HOSTILE_SEGMENTS.length]!;
    });
  const url = fc.tuple(fc.tuple(...pathParams.map(segment)), queryFor(queryParams, pools)).map(([segments, query]) => {
    let filled = path;
    pathParams.forEach((p, i) => {
      filled = filled.replace(`{${p.name}}`, segments[i]!);
    });
    return query === '' ? filled : `${filled}?${query}`;
  });

  const schema = bodySchema ?? (signedByStripe ? stripeEventSchema() : { type: 'object' });
  const sendsBody = method !== 'GET' && (bodySchema !== undefined || signedByStripe);
  const body = fc.tuple(treeFor(schema, pools), mutation, mutation, fc.nat({ max: 99 })).map(([tree, first, second, dice]) => {
    if (!sendsBody) return dice < 90 ? undefined : toJsonText(mutate(tree, first));
    if (dice < 35) return toJsonText(tree);
    if (dice < 80) return toJsonText(mutate(tree, first));
    if (dice < 85) return toJsonText(mutate(mutate(tree, first), second));
    return oddBody(toJsonText(tree), dice);
  });

  const contentType = fc.oneof({ weight: 30, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constantFrom(...CONTENT_TYPES) });
  const idempotencyKey = fc.oneof(
    { weight: 18, arbitrary: fc.constant<Plan['idempotencyKey']>('fresh') },
    { weight: 1, arbitrary: fc.constantFrom<Plan['idempotencyKey']>('missing', 'malformed') },
  );
  return fc.record({
    method: fc.constant(method),
    url,
    body,
    badBytes: fc.nat({ max: 10 }),
    contentType,
    credential: credentialFor(schemes),
    idempotencyKey,
  });
}

/** A body that is not one JSON value of the schema: empty, cut, with a BOM, 50,000 deep, a value twice, or not JSON. */
function oddBody(text: string, dice: number): string {
  if (dice < 87) return '';
  if (dice < 89) return text.slice(0, Math.max(1, Math.floor(text.length / 2)));
  if (dice < 91) return `\uFEFF${text}`;
  if (dice < 94) return `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
  if (dice < 97) return `{"a":${text},"a":${text}}`;
  return 'not json';
}

function queryFor(parameters: readonly Parameter[], pools: Pools): fc.Arbitrary<string> {
  const pairs = parameters.map((p) =>
    fc.tuple(treeFor(p.schema ?? { type: 'string' }, pools, p.name), mutation, fc.nat({ max: 99 })).map(([tree, change, dice]) => {
      if (!p.required && dice < 25) return [];
      const chosen = dice < 75 ? tree : mutate(tree, change);
      if (dice >= 95) return [`${p.name}=${HOSTILE_QUERY_VALUES[change.pick % HOSTILE_QUERY_VALUES.length]!}`];
      if (dice >= 92) return [`${p.name}=1`, `${p.name}=2`];
      return chosen.kind === 'array' ? chosen.items.map((item) => `${p.name}=${percentEncode(toText(item))}`) : [`${p.name}=${percentEncode(toText(chosen))}`];
    }),
  );
  const extra = fc.oneof(
    { weight: 12, arbitrary: fc.constant([] as string[]) },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_STRINGS).map((v) => [`${percentEncode(v)}=${percentEncode(v)}`]) },
    { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_QUERY_VALUES).map((v) => [`${v}=1`]) },
  );
  return fc.tuple(fc.tuple(...pairs), extra).map(([chosen, more]) => [...chosen.flat(), ...more].join('&'));
}

function credentialFor(schemes: readonly string[]): fc.Arbitrary<Credential> {
  const proper: Credential[] = [];
  // Admin twice: most routes are open to admins, so more requests get past the role check.
  if (schemes.includes('bearerAuth')) proper.push('admin', 'admin', 'user', 'venue_manager');
  if (schemes.includes('internalSignature')) proper.push('service');
  if (schemes.includes('stripeSignature')) proper.push('stripe');
  if (proper.length === 0) proper.push('none');
  return fc.oneof({ weight: 19, arbitrary: fc.constantFrom(...proper) }, { weight: 1, arbitrary: fc.constantFrom<Credential>('none', 'forged') });
}

interface Failure {
  readonly operation: string;
  readonly request: string;
  readonly status: number;
  readonly problem: string;
  readonly answer: string;
}

/** What is wrong with an answer: a 5xx, a refusal outside the seed's error body, or a refusal that wrote rows. */
function problemWith(response: LightMyRequestResponse, wroteRows: boolean): string | undefined {
  if (response.statusCode >= 500) return 'answered 5xx';
  if (response.statusCode < 400) return undefined;
  if (!isSeedError(response.statusCode, response.body)) return 'answered outside the seed error body';
  return wroteRows ? 'refused but wrote rows' : undefined;
}

/** The seed's error body, with a code from the closed list (src/errors.ts) that goes with the status. */
function isSeedError(status: number, body: string): boolean {
  try {
    const { code, error, path } = JSON.parse(body) as { code?: unknown; error?: unknown; path?: unknown };
    return typeof code === 'string' && typeof error === 'string' && typeof path === 'string' && (ERROR_STATUS as Record<string, number>)[code] === status;
  } catch {
    return false;
  }
}

const describeFailure = (f: Failure) => `  ${f.status} ${f.problem}: ${f.request}\n    -> ${f.answer}`;

describe('the HTTP API under fuzzing', () => {
  let t: TestApp;
  let tokens: Record<'admin' | 'user' | 'venue_manager', string>;
  let pools: Pools;

  beforeAll(async () => {
    t = await testApp({ env: { STRIPE_WEBHOOK_SECRET: STRIPE_SECRET, PAYMENT_WAIT_MS: '0', READ_WAIT_MS: '0' } });
    const venues = [randomUUID(), randomUUID()];
    tokens = {
      admin: await signToken({ role: 'admin', sub: 'admin-1' }),
      user: await signToken({ role: 'user', sub: BUYER }),
      venue_manager: await signToken({ role: 'venue_manager', sub: 'manager-1', venues }),
    };
    pools = { byName: await seedResources(venues) };
  });
  afterAll(() => t.close());

  /** A venue profile for each venue, a purchase and a group payment, so ids in requests often exist. */
  async function seedResources(venues: readonly string[]): Promise<Record<string, readonly string[]>> {
    const admin = { authorization: `Bearer ${tokens.admin}` };
    const user = { authorization: `Bearer ${tokens.user}` };
    for (const id of venues) {
      const saved = await t.app.inject({ method: 'PUT', url: `/api/v1/venues/${id}`, headers: admin, payload: { name: 'Ryman', address: NASHVILLE, tierOverride: 'pro' } });
      expect(saved.statusCode).toBe(201);
    }
    const venueId = venues[0]!;
    const eventId = randomUUID();
    const ticketTypeId = randomUUID();
    // Purchases are priced from the catalogue: the ticket type is registered first.
    const priced = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/venues/${venueId}/events/${eventId}/ticket-types/${ticketTypeId}`,
      headers: admin,
      payload: { name: 'General admission', price: 10_000 },
    });
    expect(priced.statusCode).toBe(201);
    const bought = await t.app.inject({
      method: 'POST',
      url: '/api/v1/payments/process',
      headers: { ...user, 'idempotency-key': randomUUID() },
      payload: { venueId, eventId, tickets: [{ ticketTypeId, quantity: 1, price: 10_000 }], paymentMethod: { type: 'card', paymentMethodId: 'pm_card_visa' } },
    });
    expect(bought.statusCode).toBeLessThan(300);
    const group = await t.app.inject({
      method: 'POST',
      url: '/api/v1/group-payments/create',
      headers: { ...user, 'idempotency-key': randomUUID() },
      payload: {
        venueId,
        eventId,
        ticketSelections: [{ ticketTypeId, quantity: 2 }],
        members: [
          { email: 'ada@example.com', name: 'Ada', ticketCount: 1 },
          { email: 'grace@example.com', name: 'Grace', ticketCount: 1 },
        ],
      },
    });
    expect(group.statusCode).toBe(201);
    const created = group.json<{ groupPayment: { id: string; members: { memberId: string }[] } }>().groupPayment;
    const paymentId = bought.json<{ transaction: { id: string } }>().transaction.id;
    return {
      venueId: venues,
      eventId: [eventId],
      ticketTypeId: [ticketTypeId],
      transactionId: [paymentId],
      paymentId: [paymentId],
      groupId: [created.id],
      memberId: created.members.map((m) => m.memberId),
    };
  }

  /** Signs a service call (signature v2: the method, the URL as sent and the raw body, with a fresh nonce). */
  const serviceHeaders = (request: { readonly method: string; readonly url: string; readonly rawBody: string }) =>
    internalHeaders(request.method, request.url, request.rawBody, SERVICE);

  function headersFor(plan: Plan, rawBody: string): Record<string, string> {
    const headers: Record<string, string> = {};
    switch (plan.credential) {
      case 'admin':
      case 'user':
      case 'venue_manager':
        headers.authorization = `Bearer ${tokens[plan.credential]}`;
        break;
      case 'service':
        Object.assign(headers, serviceHeaders({ method: plan.method, url: plan.url, rawBody }));
        break;
      case 'stripe':
        headers['stripe-signature'] = Stripe.webhooks.generateTestHeaderString({ payload: rawBody, secret: STRIPE_SECRET });
        break;
      case 'forged':
        headers.authorization = 'Bearer eyJhbGciOiJub25lIn0.e30.';
        headers['stripe-signature'] = 't=1,v1=00';
        break;
      case 'none':
        break;
    }
    delete headers['content-type'];
    if (plan.body !== undefined && plan.contentType !== undefined) headers['content-type'] = plan.contentType;
    if (plan.idempotencyKey === 'fresh') headers['idempotency-key'] = randomUUID();
    if (plan.idempotencyKey === 'malformed') headers['idempotency-key'] = 'not-a-uuid';
    return headers;
  }

  async function send(plan: Plan): Promise<LightMyRequestResponse> {
    const payload = plan.body === undefined ? undefined : toBody(plan.body, plan.badBytes);
    const headers = headersFor(plan, payload === undefined ? '' : payload.toString());
    return t.app.inject({ method: plan.method, url: plan.url, headers, ...(payload === undefined ? {} : { payload }) });
  }

  it('answers no request with a 5xx, and writes nothing for one it refuses', async () => {
    const document = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<OpenApi>();
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
    );
    expect(operations.length).toBeGreaterThan(20);

    const failures: Failure[] = [];
    let sent = 0;
    let before = await writtenRows(t.storage.sql);
    for (const [index, { method, path, operation }] of operations.entries()) {
      for (const plan of fc.sample(planFor(method, path, operation, pools), { seed: SEED + index, numRuns: RUNS_PER_OPERATION })) {
        const response = await send(plan);
        sent += 1;
        const after = await writtenRows(t.storage.sql);
        const problem = problemWith(response, JSON.stringify(after) !== JSON.stringify(before));
        if (problem) {
          failures.push({
            operation: `${method} ${path}`,
            request: `${plan.method} ${plan.url.slice(0, 200)} [${plan.credential}, ${plan.contentType ?? 'no content-type'}] ${(plan.body ?? '').slice(0, 300)}`,
            status: response.statusCode,
            problem,
            answer: response.body.slice(0, 200),
          });
        }
        before = after;
      }
    }
    expect(sent).toBe(operations.length * RUNS_PER_OPERATION);
    const serverErrors = failures.filter((f) => f.status >= 500).length;
    console.log(`fuzz: ${sent} requests over ${operations.length} operations (seed ${SEED}), ${serverErrors} answered 5xx, ${failures.length} failed`);
    const byOperation = new Map<string, Failure[]>();
    for (const failure of failures) byOperation.set(failure.operation, [...(byOperation.get(failure.operation) ?? []), failure]);
    const summary =
      `seed ${SEED} (FUZZ_SEED=${SEED} replays it): ${failures.length} of ${sent} requests failed\n` +
      [...byOperation].map(([operation, some]) => `${operation}: ${some.length}, e.g.\n${some.slice(0, 3).map(describeFailure).join('\n')}`).join('\n');
    expect(failures.length, summary).toBe(0);
  }, 300_000);
});
