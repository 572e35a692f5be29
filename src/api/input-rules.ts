import type { FastifyRequest } from 'fastify';
import { TesseraError, type FieldError } from '../errors.js';

/**
 * Rules every request's input meets before its route's schema sees it, the same on every route:
 *
 * - a JSON body is UTF-8 and nests at most MAX_JSON_DEPTH arrays and objects (checked on the raw
 *   text, before JSON.parse, so a 50,000-deep array never reaches a recursive walk such as
 *   JSON.stringify); either failure is 400 MALFORMED_REQUEST;
 * - no text anywhere in the input (body strings and object keys, path params, query names and
 *   values) holds a NUL (U+0000) or an unpaired UTF-16 surrogate: PostgreSQL stores neither in
 *   text or jsonb, and a surrogate cannot be encoded as UTF-8 at all, so such text would fail (or
 *   be silently changed) deep inside a command. It is 422 VALIDATION_ERROR naming each place.
 */
export const MAX_JSON_DEPTH = 32;

/** How many places one refusal names; the rest of a hostile body adds nothing a client needs. */
const MAX_REPORTED = 20;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The body's text; `ignoreBOM` keeps a leading BOM, so signatures see the text exactly as sent. */
export function decodeUtf8Body(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new TesseraError('MALFORMED_REQUEST', 'Body is not valid UTF-8');
  }
}

/** Refuses JSON text nesting deeper than MAX_JSON_DEPTH, in one pass that skips over strings. */
export function requireJsonDepthWithin(text: string, maxDepth = MAX_JSON_DEPTH): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i += 1;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_BRACKET || code === OPEN_BRACE) {
      depth += 1;
      if (depth > maxDepth) throw new TesseraError('MALFORMED_REQUEST', `JSON body nests deeper than ${maxDepth} levels`);
    } else if (code === CLOSE_BRACKET || code === CLOSE_BRACE) {
      depth -= 1;
    }
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** Refuses a request whose params, query or body hold text PostgreSQL cannot store (see above). */
export function requireStorableText(request: Pick<FastifyRequest, 'params' | 'query' | 'body'>): void {
  const problems = [
    ...unstorableText(request.params, 'params'),
    ...unstorableText(request.query, 'query'),
    ...unstorableText(request.body, ''),
  ].slice(0, MAX_REPORTED);
  if (problems.length > 0) throw new TesseraError('VALIDATION_ERROR', 'Validation failed', { errors: problems });
}

/**
 * Each string and key of `input` that holds a NUL or an unpaired surrogate, as field errors named
 * like the schema's (`tickets.0.name` in the body, `params.id`, `query.after`). The walk keeps its
 * own stack: the parser bounds a body's depth, but params and query come from elsewhere.
 */
export function unstorableText(input: unknown, prefix: string): FieldError[] {
  const problems: FieldError[] = [];
  // Children are pushed last to first, so places are named in the order they appear.
  const stack: { value: unknown; path: string; key?: { name: string; parent: string } }[] = [{ value: input, path: prefix }];
  while (stack.length > 0 && problems.length < MAX_REPORTED) {
    const { value, path, key } = stack.pop()!;
    const keyProblem = key && textProblem(key.name);
    if (key && keyProblem) problems.push({ field: join(key.parent, printable(key.name)), message: `is a key that contains ${keyProblem}` });
    if (typeof value === 'string') {
      const problem = textProblem(value);
      if (problem) problems.push({ field: path === '' ? 'body' : path, message: `must not contain ${problem}` });
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i -= 1) stack.push({ value: value[i], path: join(path, String(i)) });
    } else if (value !== null && typeof value === 'object') {
      for (const [name, item] of Object.entries(value).reverse()) stack.push({ value: item, path: join(path, printable(name)), key: { name, parent: path } });
    }
  }
  return problems;
}

// Per UTF-16 code unit (no `u` flag): a high surrogate with no low one after it, or a low one with no high one before.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

function textProblem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'NUL (U+0000) characters';
  if (LONE_SURROGATE.test(text)) return 'unpaired UTF-16 surrogates (it is not valid Unicode)';
  return undefined;
}

const join = (path: string, key: string) => (path === '' ? key : `${path}.${key}`);

const escaped = (unit: string) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** A key as it can be named back: NUL and unpaired surrogates written as \uXXXX escapes. */
const printable = (key: string) => key.replaceAll('\u0000', escaped('\u0000')).replace(LONE_SURROGATES, escaped);
