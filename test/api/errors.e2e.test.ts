import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { RouteModule } from '../../src/api/route.js';
import { cents, uuid, type ErrorBody } from '../../src/api/schemas.js';
import { TesseraError } from '../../src/errors.js';
import { WrongExpectedVersionError } from '../../src/eventstore/errors.js';
import { bearer, testApp, type TestApp } from '../support/app.js';

const purchase = z.object({
  venueId: uuid,
  tickets: z.array(z.object({ ticketTypeId: uuid, quantity: z.number().int().min(1).max(10), price: cents })).min(1),
});

const failures: RouteModule = {
  name: 'test-failures',
  register(api) {
    api.route({
      method: 'POST',
      url: '/test/purchases',
      summary: 'validate a purchase',
      auth: 'user',
      idempotent: true,
      body: purchase,
      response: z.object({ ok: z.boolean() }),
      handler: () => ({ ok: true }),
    });
    api.route({
      method: 'GET',
      url: '/test/explode',
      summary: 'fail unexpectedly',
      auth: 'public',
      response: z.object({ ok: z.boolean() }),
      handler: () => {
        throw new Error('connection to 10.1.2.3:5432 refused; password=hunter2');
      },
    });
    api.route({
      method: 'GET',
      url: '/test/conflict',
      summary: 'lose an optimistic concurrency race',
      auth: 'public',
      response: z.object({ ok: z.boolean() }),
      handler: () => {
        throw new WrongExpectedVersionError('payment-1', 3, 4);
      },
    });
    api.route({
      method: 'GET',
      url: '/test/refuse',
      summary: 'refuse with a domain error',
      auth: 'public',
      response: z.object({ ok: z.boolean() }),
      handler: () => {
        throw new TesseraError('READ_MODEL_BEHIND', 'The read model has not caught up yet');
      },
    });
    api.route({
      method: 'GET',
      url: '/test/things/:id',
      summary: 'read a thing by a free-text id',
      auth: 'public',
      params: z.object({ id: z.string().max(300) }),
      query: z.object({ after: z.string().optional() }),
      response: z.object({ id: z.string() }),
      handler: ({ params }) => ({ id: params.id }),
    });
    api.route({
      method: 'GET',
      url: '/test/items',
      summary: 'list with a typed query',
      auth: 'public',
      query: z.object({ limit: z.coerce.number().int().min(1).max(100) }),
      response: z.object({ limit: z.number() }),
      handler: ({ query }) => ({ limit: query.limit }),
    });
  },
};

describe('error responses', () => {
  let t: TestApp;
  let headers: Record<string, string>;
  const valid = { venueId: randomUUID(), tickets: [{ ticketTypeId: randomUUID(), quantity: 2, price: 5_000 }] };

  beforeAll(async () => {
    t = await testApp({ extraRoutes: [failures], env: { BODY_LIMIT_BYTES: '2048' } });
    headers = await bearer();
  });
  afterAll(() => t.close());

  const send = (payload: string | Buffer | object, extra: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/test/purchases?x=1',
      headers: { ...headers, 'idempotency-key': randomUUID(), 'content-type': 'application/json', ...extra },
      payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload),
    });

  const expectSeedBody = (body: Record<string, unknown>, code: string) => {
    expect(Object.keys(body).sort()).toEqual(
      ['code', 'error', 'path', 'timestamp', ...(body.errors === undefined ? [] : ['errors'])].sort(),
    );
    expect(body.code).toBe(code);
    expect(typeof body.error).toBe('string');
    expect(new Date(body.timestamp as string).toISOString()).toBe(body.timestamp);
  };

  it('accepts a valid body', async () => {
    expect((await send(valid)).statusCode).toBe(200);
  });

  it('answers malformed JSON with 400 MALFORMED_REQUEST and the path without its query', async () => {
    const response = await send('{"venueId": ');
    expect(response.statusCode).toBe(400);
    expectSeedBody(response.json(), 'MALFORMED_REQUEST');
    expect(response.json<ErrorBody>().path).toBe('/test/purchases');
  });

  it('answers an empty JSON body with 400', async () => {
    const response = await send('');
    expect(response.statusCode).toBe(400);
    expectSeedBody(response.json(), 'MALFORMED_REQUEST');
  });

  it('refuses JSON that tries to set __proto__', async () => {
    const response = await send('{"__proto__": {"admin": true}, "venueId": "x"}');
    expect(response.statusCode).toBe(400);
    expectSeedBody(response.json(), 'MALFORMED_REQUEST');
  });

  it('answers a body that is not JSON with 415', async () => {
    const response = await send('venueId=1', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(response.statusCode).toBe(415);
    expectSeedBody(response.json(), 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers an oversized body with 413', async () => {
    const response = await send({ ...valid, padding: 'x'.repeat(4_096) });
    expect(response.statusCode).toBe(413);
    expectSeedBody(response.json(), 'PAYLOAD_TOO_LARGE');
  });

  it.each([
    ['a float', 50.5, 'must be a whole number of cents'],
    ['a negative', -1, 'must not be negative'],
    ['a string', '5000', 'must be an amount in cents'],
    ['an unsafe integer', 2 ** 53, 'must be a whole number of cents'],
  ])('answers %s where cents are expected with 422 naming the field', async (_name, price, message) => {
    const response = await send({ ...valid, tickets: [{ ...valid.tickets[0], price }] });
    expect(response.statusCode).toBe(422);
    expectSeedBody(response.json(), 'VALIDATION_ERROR');
    expect(response.json<ErrorBody>().errors).toEqual([{ field: 'tickets.0.price', message: expect.stringContaining(message) as string }]);
  });

  it('lists every invalid field', async () => {
    const response = await send({ venueId: 'nope', tickets: [{ ticketTypeId: randomUUID(), quantity: 11, price: 1 }] });
    expect(response.statusCode).toBe(422);
    const fields = (response.json<ErrorBody>().errors as { field: string }[]).map((error) => error.field).sort();
    expect(fields).toEqual(['tickets.0.quantity', 'venueId']);
  });

  it('answers a missing body with 422', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/test/purchases', headers: { ...headers, 'idempotency-key': randomUUID() } });
    expect(response.statusCode).toBe(422);
    expect(response.json<ErrorBody>().errors).toEqual([{ field: 'body', message: expect.any(String) as string }]);
  });

  it('names query fields with a query. prefix', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/test/items?limit=0' });
    expect(response.statusCode).toBe(422);
    expect(response.json<ErrorBody>().errors).toEqual([{ field: 'query.limit', message: expect.any(String) as string }]);
    expect((await t.app.inject({ method: 'GET', url: '/test/items?limit=5' })).json()).toEqual({ limit: 5 });
  });

  it('never answers a 5xx to any JSON value or any text sent as a body', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue().map((value) => JSON.stringify(value) ?? 'null'), fc.string()), async (payload) => {
        const response = await send(payload);
        expect(response.statusCode).toBeLessThan(500);
        expect(response.json<ErrorBody>().code ?? 'accepted').toMatch(/^[A-Z_]+$|^accepted$/);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a NUL or an unpaired surrogate anywhere in a body with 422 naming each place', async () => {
    const response = await send({
      ...valid,
      note: 'gift\u0000',
      tickets: [{ ...valid.tickets[0], seat: 'A\ud800' }],
      meta: { 'k\u0000ey': 1 },
    });
    expect(response.statusCode).toBe(422);
    expectSeedBody(response.json(), 'VALIDATION_ERROR');
    expect(response.json<ErrorBody>().errors).toEqual([
      { field: 'tickets.0.seat', message: 'must not contain unpaired UTF-16 surrogates (it is not valid Unicode)' },
      { field: 'note', message: 'must not contain NUL (U+0000) characters' },
      { field: 'meta.k\\u0000ey', message: 'is a key that contains NUL (U+0000) characters' },
    ]);
  });

  it('refuses a NUL in a path id or a query value with 422 naming it', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/test/things/a%00b?after=%00' });
    expect(response.statusCode).toBe(422);
    expect(response.json<ErrorBody>().errors).toEqual([
      { field: 'params.id', message: 'must not contain NUL (U+0000) characters' },
      { field: 'query.after', message: 'must not contain NUL (U+0000) characters' },
    ]);
  });

  it('refuses the same text on the real routes before it reaches the database', async () => {
    const admin = await bearer({ role: 'admin' });
    const parked = await t.app.inject({ method: 'POST', url: '/admin/parked/%00/retry', headers: { ...admin, 'idempotency-key': randomUUID() } });
    expect(parked.statusCode).toBe(422);
    expect(parked.json<ErrorBody>().errors).toEqual([{ field: 'params.id', message: expect.stringContaining('NUL') as string }]);
    const purchase = await t.app.inject({
      method: 'POST',
      url: '/api/v1/payments/process',
      headers: { ...headers, 'idempotency-key': randomUUID() },
      payload: {
        venueId: randomUUID(),
        eventId: randomUUID(),
        tickets: [{ ticketTypeId: randomUUID(), quantity: 1, price: 100 }],
        paymentMethod: { type: 'card', paymentMethodId: 'pm_card_visa\u0000' },
      },
    });
    expect(purchase.statusCode).toBe(422);
    expect(purchase.json<ErrorBody>().errors).toEqual([{ field: 'paymentMethod.paymentMethodId', message: expect.stringContaining('NUL') as string }]);
  });

  it('refuses JSON nested deeper than 32 levels with 400 before parsing it', async () => {
    const within = await send(`{"venueId":"${valid.venueId}","tickets":${JSON.stringify(valid.tickets)},"pad":${'['.repeat(31)}${']'.repeat(31)}}`);
    expect(within.statusCode).toBe(200);
    const deeper = await send(`{"venueId":"${valid.venueId}","tickets":${JSON.stringify(valid.tickets)},"pad":${'['.repeat(32)}${']'.repeat(32)}}`);
    expect(deeper.statusCode).toBe(400);
    expectSeedBody(deeper.json(), 'MALFORMED_REQUEST');
    expect(deeper.json<ErrorBody>().error).toBe('JSON body nests deeper than 32 levels');
  });

  it('refuses a body that is not UTF-8 with 400', async () => {
    const response = await send(Buffer.concat([Buffer.from('{"venueId":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]));
    expect(response.statusCode).toBe(400);
    expect(response.json<ErrorBody>()).toMatchObject({ code: 'MALFORMED_REQUEST', error: 'Body is not valid UTF-8' });
  });

  it.each([
    ['invalid percent-encoding', '/test/things/%E0%A4%A'],
    ['an encoded surrogate', '/test/things/%ED%A0%80'],
    ['a path segment over 100 characters', `/test/things/${'x'.repeat(101)}`],
  ])('answers a URL with %s with 400 in the seed body', async (_case, url) => {
    const response = await t.app.inject({ method: 'GET', url });
    expect(response.statusCode).toBe(400);
    expectSeedBody(response.json(), 'MALFORMED_REQUEST');
    expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers an unknown route with 404 in the seed body', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/nowhere?secret=1' });
    expect(response.statusCode).toBe(404);
    expectSeedBody(response.json(), 'NOT_FOUND');
    expect(response.json<ErrorBody>().path).toBe('/api/v1/nowhere');
  });

  it('answers an unexpected failure with a 500 that reveals nothing', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/test/explode' });
    expect(response.statusCode).toBe(500);
    expectSeedBody(response.json(), 'INTERNAL_ERROR');
    expect(response.json<ErrorBody>().error).toBe('Internal server error');
    expect(response.body).not.toMatch(/10\.1\.2\.3|hunter2|stack|Error:/);
  });

  it('answers a lost concurrency race with 409 CONCURRENCY_CONFLICT', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/test/conflict' });
    expect(response.statusCode).toBe(409);
    expectSeedBody(response.json(), 'CONCURRENCY_CONFLICT');
  });

  it('passes a domain error through with its code, status and message', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/test/refuse' });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toMatchObject({ code: 'READ_MODEL_BEHIND', error: 'The read model has not caught up yet' });
  });

  it('gives every response a request id, keeping a well-formed one from the caller', async () => {
    const generated = await t.app.inject({ method: 'GET', url: '/test/refuse' });
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const kept = await t.app.inject({ method: 'GET', url: '/test/refuse', headers: { 'x-request-id': 'order-svc:abc.123' } });
    expect(kept.headers['x-request-id']).toBe('order-svc:abc.123');
    const replaced = await t.app.inject({ method: 'GET', url: '/test/refuse', headers: { 'x-request-id': 'bad id\n' } });
    expect(replaced.headers['x-request-id']).not.toBe('bad id\n');
  });
});
