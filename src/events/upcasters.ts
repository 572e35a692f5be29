import { createUpcast, type Upcast, type Upcaster } from '../eventstore/upcasting.js';

/**
 * Every upcaster, in one place. Each raises one stored shape of an event type to the next
 * version, so every read of the store (streams, `$all`, subscriptions, replays) sees old events
 * in the shape the code writes now, and nothing stored is rewritten. A type's current version is
 * in its concept's `*_EVENT_VERSIONS`; raising it there needs an upcaster here from the old one.
 */
export const UPCASTERS: readonly Upcaster[] = [];

/** What every event store Tessera opens runs on read (src/runtime.ts). */
export const upcastEvents: Upcast = createUpcast(UPCASTERS);
