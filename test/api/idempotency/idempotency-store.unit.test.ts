import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, idempotencyRecordId, requestFingerprint } from '../../../src/api/idempotency/idempotency-store.js';

/** The same object with its keys in another order, at every depth. */
function reordered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reordered);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([key, member]) => [key, reordered(member)]));
}

const input = (body: unknown) => ({ params: { id: 'p-1' }, query: {}, body });

describe('request fingerprints', () => {
  it('ignore the order of object keys', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (body) => {
        expect(requestFingerprint('POST', '/r', input(reordered(body)))).toBe(requestFingerprint('POST', '/r', input(body)));
      }),
    );
  });

  it('change when any value changes', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.integer()), fc.string(), fc.integer(), (body, key, value) => {
        fc.pre(body[key] !== value);
        expect(requestFingerprint('POST', '/r', input({ ...body, [key]: value }))).not.toBe(requestFingerprint('POST', '/r', input(body)));
      }),
    );
  });

  it('keep a member named __proto__ as data', () => {
    const poisoned = JSON.parse('{"__proto__": {"admin": true}}') as unknown;
    expect(requestFingerprint('GET', '/r', input(poisoned))).not.toBe(requestFingerprint('GET', '/r', input({})));
  });

  it('differ by method, route and path parameters', () => {
    const base = requestFingerprint('POST', '/payments/:id/refund', input({ amount: 1 }));
    expect(requestFingerprint('PUT', '/payments/:id/refund', input({ amount: 1 }))).not.toBe(base);
    expect(requestFingerprint('POST', '/payments/:id/void', input({ amount: 1 }))).not.toBe(base);
    expect(requestFingerprint('POST', '/payments/:id/refund', { params: { id: 'p-2' }, query: {}, body: { amount: 1 } })).not.toBe(base);
  });

  it('write canonical JSON with sorted keys, dropping undefined members like JSON does', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { f: 1, e: 2 }], c: undefined } })).toBe('{"a":{"d":[3,{"e":2,"f":1}]},"b":1}');
    expect(canonicalJson({ at: new Date('2025-01-12T00:00:00Z'), big: 10n })).toBe('{"at":"2025-01-12T00:00:00.000Z","big":"10"}');
  });
});

describe('idempotency record ids', () => {
  it('never let two scopes collide, whatever their ids contain', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (t1, c1, t2, c2) => {
        fc.pre(t1 !== t2 || c1 !== c2);
        expect(idempotencyRecordId(t1, c1, 'k')).not.toBe(idempotencyRecordId(t2, c2, 'k'));
      }),
    );
  });
});
