import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeUtf8Body, MAX_JSON_DEPTH, requireJsonDepthWithin, requireStorableText, unstorableText } from '../../src/api/input-rules.js';
import { thrownBy } from '../support/payments.js';

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('the JSON nesting limit', () => {
  it(`accepts ${MAX_JSON_DEPTH} levels and refuses one more with MALFORMED_REQUEST`, () => {
    expect(() => requireJsonDepthWithin(nested(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => requireJsonDepthWithin(`{"a":${nested(MAX_JSON_DEPTH - 1)}}`)).not.toThrow();
    expect(thrownBy(() => requireJsonDepthWithin(nested(MAX_JSON_DEPTH + 1)))).toMatchObject({ code: 'MALFORMED_REQUEST', status: 400 });
  });

  it('refuses a 50,000-deep array without recursing into it', () => {
    expect(thrownBy(() => requireJsonDepthWithin(nested(50_000)))).toMatchObject({ code: 'MALFORMED_REQUEST' });
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    expect(() => requireJsonDepthWithin(JSON.stringify({ note: '['.repeat(100), quoted: '"[[[[', slash: '\\' }))).not.toThrow();
  });

  it('measures the same depth as the JSON value has, for any JSON value', () => {
    const depthOf = (value: unknown): number =>
      value !== null && typeof value === 'object' ? 1 + Math.max(0, ...Object.values(value).map(depthOf)) : 0;
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const text = JSON.stringify(value);
        const depth = depthOf(value);
        expect(() => requireJsonDepthWithin(text, depth)).not.toThrow();
        if (depth > 0) expect(() => requireJsonDepthWithin(text, depth - 1)).toThrow();
      }),
    );
  });
});

describe('UTF-8 bodies', () => {
  it('decodes UTF-8 and keeps a leading BOM, which signatures cover', () => {
    expect(decodeUtf8Body(Buffer.from('\uFEFF{"a":"é💳"}', 'utf8'))).toBe('\uFEFF{"a":"é💳"}');
  });

  it.each([
    ['a stray byte', [0xff]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a cut sequence', [0xe2, 0x82]],
  ])('refuses %s with MALFORMED_REQUEST', (_case, bytes) => {
    const body = Buffer.concat([Buffer.from('{"a":"'), Buffer.from(bytes), Buffer.from('"}')]);
    expect(thrownBy(() => decodeUtf8Body(body))).toMatchObject({ code: 'MALFORMED_REQUEST' });
  });
});

describe('text PostgreSQL cannot store', () => {
  it('names every string and key with a NUL or an unpaired surrogate, in the order they appear', () => {
    const body = { name: 'ok', tickets: [{ seat: 'A\u0000' }, { seat: '\ud800' }], meta: { 'k\u0000': 'v', fine: 'x\udc00' } };
    expect(unstorableText(body, '')).toEqual([
      { field: 'tickets.0.seat', message: 'must not contain NUL (U+0000) characters' },
      { field: 'tickets.1.seat', message: 'must not contain unpaired UTF-16 surrogates (it is not valid Unicode)' },
      { field: 'meta.k\\u0000', message: 'is a key that contains NUL (U+0000) characters' },
      { field: 'meta.fine', message: 'must not contain unpaired UTF-16 surrogates (it is not valid Unicode)' },
    ]);
  });

  it('names the body itself, params and query values with their prefixes', () => {
    expect(unstorableText('\u0000', '')).toEqual([{ field: 'body', message: expect.any(String) as string }]);
    expect(unstorableText({ id: 'a\u0000b' }, 'params')).toEqual([{ field: 'params.id', message: expect.any(String) as string }]);
    expect(unstorableText({ after: ['x', '\udbff'] }, 'query')).toEqual([{ field: 'query.after.1', message: expect.any(String) as string }]);
  });

  it('accepts any well-formed text, surrogate pairs included', () => {
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: 'grapheme' }), (value) => {
        fc.pre(!JSON.stringify(value).includes('\\u0000'));
        expect(unstorableText(value, '')).toEqual([]);
      }),
    );
    expect(unstorableText({ card: '💳🎟️', accent: 'é' }, '')).toEqual([]);
  });

  it('refuses a request with VALIDATION_ERROR, naming at most 20 places', () => {
    const error = thrownBy(() => requireStorableText({ params: {}, query: {}, body: Array.from({ length: 100 }, () => '\u0000') }));
    expect(error).toMatchObject({ code: 'VALIDATION_ERROR', status: 422 });
    expect((error as { details: { errors: unknown[] } }).details.errors).toHaveLength(20);
  });
});
