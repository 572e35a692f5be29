type NumericKey<T> = { [K in keyof T]: T[K] extends number ? K : never }[keyof T];

/**
 * Adds up rows that share a key, field by field: a batch's deltas become one row per key, so a
 * multi-row upsert never touches a row twice. The first row of each key gives the other fields.
 */
export function sumByKey<T extends object>(rows: readonly T[], keyOf: (row: T) => readonly string[], fields: readonly NumericKey<T>[]): T[] {
  const sums = new Map<string, T>();
  for (const row of rows) {
    const key = keyOf(row).join('\u0000');
    const seen = sums.get(key);
    if (!seen) {
      sums.set(key, { ...row });
      continue;
    }
    const next = { ...seen } as Record<NumericKey<T>, number>;
    for (const field of fields) next[field] += row[field] as number;
    sums.set(key, next as T);
  }
  return [...sums.values()];
}
