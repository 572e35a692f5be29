/**
 * PostgreSQL array literals built in one pass, for bulk statements that unnest arrays. Passing
 * the literal as one text parameter (`${literal}::text::text[]`) saves node-postgres escaping
 * every element on its own, which dominates the client's cost of a large batch. Both drivers
 * send a text parameter as is.
 */
const NEEDS_ESCAPE = /[\\"]/;

/** `{"a","b"}`: every element quoted, backslashes and quotes escaped. */
export function textArrayLiteral(values: readonly string[]): string {
  const quoted = values.map((v) => `"${NEEDS_ESCAPE.test(v) ? v.replace(/[\\"]/g, '\\$&') : v}"`);
  return `{${quoted.join(',')}}`;
}

/** `{1,-2,3}` for integers (safe integers, bigints, or strings the caller has checked are integers). */
export function integerArrayLiteral(values: readonly (number | bigint | string)[]): string {
  return `{${values.join(',')}}`;
}
