import fc from 'fast-check';

/**
 * fast-check arbitraries from JSON Schema (the subset zod's OpenAPI document uses), for fuzzing
 * the HTTP API: values of the right shape (`treeFor`), and one hostile change to such a value
 * (`mutate`): NUL and lone surrogates, huge and fractional numbers, wrong types, deep nesting,
 * odd and duplicate keys, bytes that are not UTF-8. One change at a time keeps the rest of the
 * request valid, so the hostile value travels as deep as a valid one would.
 *
 * Values are JSON trees rather than plain objects so a body can hold what JSON.stringify cannot
 * write: duplicate keys, 50,000-deep arrays, numbers past a double, invalid UTF-8.
 */
export interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
  readonly items?: JsonSchema;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly format?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly allOf?: readonly JsonSchema[];
  readonly nullable?: boolean;
}

export type Tree =
  /** `free`: a string the schema leaves open (no format, pattern or enum), where text travels furthest. */
  | { readonly kind: 'value'; readonly value: null | boolean | number | string; readonly free?: boolean }
  | { readonly kind: 'array'; readonly items: readonly Tree[] }
  | { readonly kind: 'object'; readonly entries: readonly (readonly [string, Tree])[] }
  /** JSON text written as it is (deep nesting, numbers a double cannot hold, bytes that are not UTF-8). */
  | { readonly kind: 'raw'; readonly text: string };

const value = (v: null | boolean | number | string): Tree => ({ kind: 'value', value: v });
const raw = (text: string): Tree => ({ kind: 'raw', text });

/**
 * Ids of resources that exist, by the name of the field or parameter that takes them (`venueId`,
 * `transactionId`): a `format: uuid` value of that name is mostly one of them, so requests get
 * past "not found" to the code behind it.
 */
export interface Pools {
  readonly byName: Readonly<Record<string, readonly string[]>>;
}

/** Text PostgreSQL, JSON or a strict decoder refuses, and text a careless one mangles. */
export const HOSTILE_STRINGS: readonly string[] = [
  'pm_card_visa\u0000',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00y',
  '\udbff\udbff',
  'card\ud83d',
  'x'.repeat(10_000),
  '',
  ' ',
  '\u202e\u0301',
  '💳🎟️',
  'é'.repeat(300),
  '%00',
  "'; DROP TABLE tessera_events; --",
  '../../etc/passwd',
  '__proto__',
  'null',
  '1e309',
  '0000-01-01T00:00:00Z',
  '2026-02-30',
  '18446744073709551616/1',
];

const HOSTILE_NUMBERS: readonly number[] = [-1, -0, 0.5, -(2 ** 31), 2 ** 31, 2 ** 53, 2 ** 53 + 2, -Number.MAX_SAFE_INTEGER, 1e308, Number.MIN_VALUE, 1e-7];

/** Number text JSON.parse reads as Infinity, -0 or a rounded double. */
const HOSTILE_NUMBER_TEXT: readonly string[] = ['1e400', '-1e400', '-0', '123456789012345678901234567890', '1.0000000000000000001'];

const HOSTILE_KEYS: readonly string[] = ['\u0000', 'key\u0000', '\ud800', 'k\udfffk', '__proto__', 'constructor', 'prototype', '', 'x'.repeat(5_000)];

/** The marker toBody replaces with bytes that are not UTF-8. */
const BAD_UTF8_MARK = '~~not-utf8~~';

const nested = (depth: number, open: string, close: string) => open.repeat(depth) + '1' + close.repeat(depth);

/** Any hostile node: bad text, a bad number, a wrong type, deep nesting or bytes that are not UTF-8. */
const hostileTree: fc.Arbitrary<Tree> = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(...HOSTILE_STRINGS).map(value) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_NUMBERS).map(value) },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_NUMBER_TEXT).map(raw) },
  { weight: 2, arbitrary: fc.constantFrom<Tree>(value(null), value(true), value(0), value('1'), { kind: 'array', items: [] }, { kind: 'object', entries: [] }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      ...[nested(33, '[', ']'), nested(200, '[', ']'), nested(50_000, '[', ']'), nested(40, '{"a":', '}'), nested(20_000, '{"a":', '}'), nested(10_000, '[{"b":', '}]')].map(raw),
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map(value) },
  { weight: 1, arbitrary: fc.constant(raw(JSON.stringify(`pm_${BAD_UTF8_MARK}`))) },
);

/** An arbitrary of well-shaped JSON trees for `schema` (the value of a field called `name`). */
export function treeFor(schema: JsonSchema, pools: Pools = { byName: {} }, name?: string): fc.Arbitrary<Tree> {
  const shaped = (s: JsonSchema, depth: number, key?: string): fc.Arbitrary<Tree> => {
    if (s.const !== undefined) return fc.constant(fromJson(s.const));
    if (s.enum) return fc.constantFrom(...s.enum).map(fromJson);
    const alternatives = s.anyOf ?? s.oneOf;
    if (alternatives && alternatives.length > 0) return fc.oneof(...alternatives.map((alternative) => shaped(alternative, depth, key)));
    if (s.allOf && s.allOf.length > 0) return shaped(Object.assign({}, ...s.allOf) as JsonSchema, depth, key);
    const types = typeof s.type === 'string' ? [s.type] : (s.type ?? []);
    if (types.length === 0) return fc.jsonValue({ maxDepth: 2 }).map(fromJson);
    const nonNull = types.filter((t) => t !== 'null');
    if (nonNull.length === 0) return fc.constant(value(null));
    const inner = fc.oneof(...nonNull.map((t) => ofType(t, s, depth, key)));
    return s.nullable === true || types.includes('null') ? fc.oneof({ weight: 1, arbitrary: fc.constant(value(null)) }, { weight: 4, arbitrary: inner }) : inner;
  };

  const ofType = (type: string, s: JsonSchema, depth: number, key: string | undefined): fc.Arbitrary<Tree> => {
    switch (type) {
      case 'string': {
        const free = s.format === undefined && s.pattern === undefined;
        return stringFor(s, pools.byName[key ?? ''] ?? []).map((text): Tree => ({ kind: 'value', value: text, ...(free ? { free } : {}) }));
      }
      case 'integer':
        return integerFor(s).map(value);
      case 'number':
        return fc.oneof(integerFor(s), fc.double({ min: s.minimum ?? -1e9, max: s.maximum ?? 1e9, noNaN: true, noDefaultInfinity: true })).map(value);
      case 'boolean':
        return fc.boolean().map(value);
      case 'array': {
        const min = s.minItems ?? 0;
        const max = Math.max(min, Math.min(s.maxItems ?? 3, min + 2));
        return fc.array(shaped(s.items ?? {}, depth + 1), { minLength: min, maxLength: max }).map((items): Tree => ({ kind: 'array', items }));
      }
      case 'object':
        return objectFor(s, depth);
      default:
        return fc.jsonValue({ maxDepth: 1 }).map(fromJson);
    }
  };

  const objectFor = (s: JsonSchema, depth: number): fc.Arbitrary<Tree> => {
    const required = new Set(s.required ?? []);
    const fields = Object.entries(s.properties ?? {}).map(([key, property]) =>
      required.has(key)
        ? shaped(property, depth + 1, key).map((tree) => [[key, tree] as const])
        : fc.option(shaped(property, depth + 1, key), { freq: 2, nil: undefined }).map((tree) => (tree === undefined ? [] : [[key, tree] as const])),
    );
    const extraSchema = typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
    const extras = extraSchema
      ? fc.array(fc.tuple(fc.string({ minLength: 1, maxLength: 12 }), shaped(extraSchema, depth + 1)), { maxLength: 2 })
      : fc.constant([] as (readonly [string, Tree])[]);
    return fc.tuple(fc.tuple(...fields), extras).map(([chosen, extra]): Tree => ({ kind: 'object', entries: [...chosen.flat(), ...extra] }));
  };

  return shaped(schema, 0, name);
}

const EARLIEST = new Date('1970-01-01T00:00:00Z');
const LATEST = new Date('9999-12-31T00:00:00Z');

function stringFor(s: JsonSchema, known: readonly string[]): fc.Arbitrary<string> {
  if (s.format === 'uuid') {
    const fresh = fc.oneof(fc.uuid(), fc.uuid().map((id) => id.toUpperCase()));
    return known.length > 0 ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: fresh }) : fresh;
  }
  if (s.format === 'email') return fc.oneof(fc.emailAddress(), fc.constantFrom('ada@example.com', 'grace.hopper@example.org'));
  if (s.format === 'date-time') return fc.date({ min: EARLIEST, max: LATEST, noInvalidDate: true }).map((d) => d.toISOString());
  if (s.format === 'date') return fc.date({ min: EARLIEST, max: LATEST, noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
  if (s.pattern) return fc.stringMatching(new RegExp(s.pattern));
  const minLength = s.minLength ?? 0;
  const maxLength = Math.max(minLength, Math.min(s.maxLength ?? 40, 60));
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ minLength, maxLength }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength, maxLength }) },
    { weight: 1, arbitrary: fc.constant('x'.repeat(Math.max(minLength, s.maxLength ?? 300))) },
  );
}

function integerFor(s: JsonSchema): fc.Arbitrary<number> {
  const min = Math.max(Math.ceil(s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : (s.minimum ?? -1e9)), Number.MIN_SAFE_INTEGER);
  const max = Math.min(Math.floor(s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : (s.maximum ?? 1e9)), Number.MAX_SAFE_INTEGER);
  if (min > max) return fc.constant(min);
  return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, max));
}

function fromJson(json: unknown): Tree {
  if (Array.isArray(json)) return { kind: 'array', items: json.map(fromJson) };
  if (json !== null && typeof json === 'object') return { kind: 'object', entries: Object.entries(json).map(([k, v]) => [k, fromJson(v)] as const) };
  return value(typeof json === 'string' || typeof json === 'number' || typeof json === 'boolean' ? json : null);
}

/**
 * One hostile change to a tree. `typed` changes keep the node's kind (text for text, a number
 * for a number, an odd or duplicate key in an object) and go to open text first, where a NUL
 * would otherwise reach the database; the others put any hostile node anywhere.
 */
export interface Mutation {
  readonly at: number;
  readonly typed: boolean;
  readonly pick: number;
  readonly node: Tree;
}

export const mutation: fc.Arbitrary<Mutation> = fc.record({ at: fc.nat(), typed: fc.boolean(), pick: fc.nat(), node: hostileTree });

/** Text a typed change writes into open text: mostly what no database column can hold. */
const HOSTILE_TEXT: readonly string[] = ['pm_card_visa\u0000', 'a\u0000b', '\ud800', 'x\udc00y', 'card\ud83d', ...HOSTILE_STRINGS];

export function mutate(tree: Tree, change: Mutation): Tree {
  const nodes = preorder(tree);
  const free = nodes.filter((n) => n.kind === 'value' && n.free === true);
  const candidates = change.typed && free.length > 0 ? free : nodes;
  const target = candidates[change.at % candidates.length]!;
  return replace(tree, target, change.typed ? typedReplacement(target, change) : change.node);
}

function typedReplacement(target: Tree, change: Mutation): Tree {
  switch (target.kind) {
    case 'value':
      if (typeof target.value === 'string') return value(HOSTILE_TEXT[change.pick % HOSTILE_TEXT.length]!);
      if (typeof target.value === 'number') {
        const numbers = [...HOSTILE_NUMBERS.map(value), ...HOSTILE_NUMBER_TEXT.map(raw)];
        return numbers[change.pick % numbers.length]!;
      }
      return change.node;
    case 'object': {
      const first = target.entries[0];
      // A key twice (JSON.parse keeps the last, a signature covers both), or a key no column takes.
      if (change.pick % 3 === 0 && first) return { kind: 'object', entries: [[first[0], value('duplicate')], ...target.entries] };
      return { kind: 'object', entries: [...target.entries, [HOSTILE_KEYS[change.pick % HOSTILE_KEYS.length]!, change.node]] };
    }
    case 'array':
      return { kind: 'array', items: [...target.items, change.node] };
    case 'raw':
      return change.node;
  }
}

function preorder(tree: Tree): Tree[] {
  const out: Tree[] = [tree];
  if (tree.kind === 'array') for (const item of tree.items) out.push(...preorder(item));
  if (tree.kind === 'object') for (const [, item] of tree.entries) out.push(...preorder(item));
  return out;
}

function replace(tree: Tree, target: Tree, by: Tree): Tree {
  if (tree === target) return by;
  if (tree.kind === 'array') return { kind: 'array', items: tree.items.map((item) => replace(item, target, by)) };
  if (tree.kind === 'object') return { kind: 'object', entries: tree.entries.map(([key, item]) => [key, replace(item, target, by)] as const) };
  return tree;
}

/** JSON text of a tree; raw nodes are written as they are. */
export function toJsonText(tree: Tree): string {
  switch (tree.kind) {
    case 'value':
      return JSON.stringify(tree.value);
    case 'raw':
      return tree.text;
    case 'array':
      return `[${tree.items.map(toJsonText).join(',')}]`;
    case 'object':
      return `{${tree.entries.map(([key, item]) => `${JSON.stringify(key)}:${toJsonText(item)}`).join(',')}}`;
  }
}

/** A tree as a query or path value: text as it is, anything else as its JSON text. */
export const toText = (tree: Tree): string => (tree.kind === 'value' && typeof tree.value === 'string' ? tree.value : toJsonText(tree));

const NOT_UTF8: readonly (readonly number[])[] = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]];

/** The body bytes: the text as UTF-8, with each BAD_UTF8_MARK replaced by a sequence that is not UTF-8. */
export function toBody(text: string, pick: number): string | Buffer {
  if (!text.includes(BAD_UTF8_MARK)) return text;
  const bad = Buffer.from(NOT_UTF8[pick % NOT_UTF8.length]!);
  const parts = text.split(BAD_UTF8_MARK).map((part) => Buffer.from(part, 'utf8'));
  return Buffer.concat(parts.flatMap((part, i) => (i === 0 ? [part] : [bad, part])));
}

/**
 * Percent-encodes a path segment or query value. encodeURIComponent refuses lone surrogates, so
 * those are written as the three bytes a lax encoder sends (WTF-8), which no UTF-8 decoder accepts.
 */
export function percentEncode(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) {
      out += [0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    } else {
      out += encodeURIComponent(char);
    }
  }
  return out;
}
