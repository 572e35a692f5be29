/**
 * PostgreSQL array literals built in one pass, for bulk statements that unnest arrays. Passing
 * the literal as one text parameter (`${literal}::text::text[]`) saves node-postgres escaping
 * every element on its own, which dominates the client's cost of a large batch. Both drivers
 * send a text parameter as is.
 *
 * To filter by one, wrap the cast in a scalar subquery, `col = ANY ((SELECT ${literal}::text::uuid[])::uuid[])`:
 * it is then parsed once, where a bare cast in a filter is parsed again for every row a scan
 * visits (1.1 s for a 1,250-id lookup that scanned 1,250 rows).
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
