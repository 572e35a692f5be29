/**
 * A concept's event types, from its version catalogue, and a guard narrowing a stored event to
 * them: the store is typed loosely, deciders and projections take only their own events.
 */
export function eventGuard<Event extends { readonly type: string; readonly data: unknown }>(versions: Readonly<Record<Event['type'], number>>) {
  const types = Object.keys(versions) as readonly Event['type'][];
  const known = new Set<string>(types);
  return { types, is: (event: { type: string; data: unknown }): event is Event => known.has(event.type) };
}
