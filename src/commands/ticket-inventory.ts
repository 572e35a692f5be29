import type { CatalogueState } from '../aggregates/catalogue.js';
import { DEFAULT_PURCHASE_LIMITS } from '../domain/purchase-limits.js';
import type { TicketLine } from '../domain/purchase-quote.js';
import { addressKey } from '../domain/risk.js';
import { TesseraError } from '../errors.js';
import type { PurchaseLimits } from '../events/catalogue.js';
import type { EventStore } from '../eventstore/event-store.js';
import type { Logger } from '../logger.js';

/** What a hold counts: tickets of a type, and tickets by one user, payment method or address. */
export type InventoryKind = 'ticket_type' | 'user' | 'payment_method' | 'address';

export interface InventoryItem {
  readonly kind: InventoryKind;
  readonly key: string;
  readonly quantity: number;
  /** The most this key may count, this hold included (a capacity or a limit); null: unbounded. */
  readonly max: number | null;
}

export interface HoldRequest {
  /** The payment's or the group's id: reserving is idempotent by it. */
  readonly id: string;
  /** The event at the venue: `<venueId>/<eventId>`. */
  readonly scope: string;
  /** The stream the purchase is written to (see TicketInventoryStore.unconfirmed). */
  readonly streamId: string;
  readonly items: readonly InventoryItem[];
  /** The tickets one order may take; null: unbounded. */
  readonly orderMax: number | null;
  readonly at: Date;
}

export type ReserveOutcome =
  | { readonly status: 'reserved' }
  /** A hold with this id exists already (a retried request): nothing more was counted. */
  | { readonly status: 'known' }
  /** Over a capacity or a limit (kind 'order': more tickets than one order may take): nothing was recorded. */
  | { readonly status: 'refused'; readonly kind: InventoryKind | 'order'; readonly key: string; readonly max: number; readonly taken: number };

/**
 * Where every ticket a purchase or a group takes is counted, shared by all API instances (the SQL
 * database: src/gateways/ticket-inventory-sql.ts). `reserve` checks and counts in one atomic step:
 * concurrent purchases cannot pass a capacity or a limit together. A hold is held (pending),
 * sold (paid) or released (failed, expired, cancelled, refunded: its tickets count no more).
 */
export interface TicketInventoryStore {
  reserve(hold: HoldRequest): Promise<ReserveOutcome>;
  /**
   * Moves a hold to sold or released, idempotently: `unchanged` when there was nothing to change,
   * `recounted` when a released hold was sold after all (counted again, capacity or not).
   */
  settle(id: string, status: 'sold' | 'released', at: Date): Promise<SettleOutcome>;
  /** Held and sold tickets of each ticket type of the event at the venue. */
  ticketTypeCounts(scope: string): Promise<ReadonlyMap<string, { readonly held: number; readonly sold: number }>>;
  /** Holds not yet seen written, reserved before `before`, oldest first. */
  unconfirmed(before: Date, limit: number): Promise<readonly { readonly id: string; readonly streamId: string }[]>;
  confirm(id: string): Promise<void>;
}

export type SettleOutcome = 'changed' | 'unchanged' | 'recounted';

export const inventoryScope = (venueId: string, eventId: string): string => `${venueId}/${eventId}`;

/** The limits a purchase of the event is held to: its own, else the defaults when they apply. */
export function limitsOf(catalogue: CatalogueState, defaults: boolean): PurchaseLimits | undefined {
  return catalogue.limits ?? (defaults ? DEFAULT_PURCHASE_LIMITS : undefined);
}

/** One purchase as the inventory counts it. */
export interface TicketHold {
  readonly id: string;
  readonly streamId: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly venueId: string;
  readonly eventId: string;
  readonly tickets: readonly Pick<TicketLine, 'ticketTypeId' | 'quantity'>[];
  /** The card (payment method id); absent for a group, whose members pay later with cards of their own. */
  readonly paymentMethodId?: string;
  /** The buyer's IP address, counted by IPv4 or IPv6 /64. */
  readonly ip?: string;
}

const LIMIT_NAMES = {
  user: 'per_user',
  payment_method: 'per_payment_method',
  address: 'per_address',
  order: 'per_order',
} as const;

const LIMIT_WHAT = {
  user: 'one buyer',
  payment_method: 'one payment method',
  address: 'one address',
  order: 'one order',
} as const;

/** The items a hold counts, with the capacity of each ticket type and the limits of the event. */
export function holdItems(hold: TicketHold, catalogue: CatalogueState, limits: PurchaseLimits | undefined): InventoryItem[] {
  const byType = new Map<string, number>();
  for (const line of hold.tickets) byType.set(line.ticketTypeId, (byType.get(line.ticketTypeId) ?? 0) + line.quantity);
  const total = [...byType.values()].reduce((sum, quantity) => sum + quantity, 0);
  const items: InventoryItem[] = [...byType].map(([ticketTypeId, quantity]) => ({
    kind: 'ticket_type',
    key: ticketTypeId,
    quantity,
    max: catalogue.ticketTypes[ticketTypeId]?.capacity ?? null,
  }));
  // The same `sub` in two tenants is two people; a list keeps either id from running into the other.
  items.push({ kind: 'user', key: JSON.stringify([hold.tenantId, hold.userId]), quantity: total, max: limits?.perUser ?? null });
  if (hold.paymentMethodId) items.push({ kind: 'payment_method', key: hold.paymentMethodId, quantity: total, max: limits?.perPaymentMethod ?? null });
  if (hold.ip) items.push({ kind: 'address', key: addressKey(hold.ip), quantity: total, max: limits?.perAddress ?? null });
  return items;
}

/** The answer to a refused hold: 409 SOLD_OUT naming the ticket type, or 403 PURCHASE_LIMIT_EXCEEDED naming the limit. */
export function refusedError(refused: Extract<ReserveOutcome, { status: 'refused' }>): TesseraError {
  const remaining = Math.max(0, refused.max - refused.taken);
  if (refused.kind === 'ticket_type') {
    return new TesseraError('SOLD_OUT', remaining === 0 ? `ticket type ${refused.key} is sold out` : `only ${remaining} tickets of type ${refused.key} are left`, {
      expose: { ticketTypeId: refused.key, remaining },
    });
  }
  const limit = LIMIT_NAMES[refused.kind];
  return new TesseraError(
    'PURCHASE_LIMIT_EXCEEDED',
    `${LIMIT_WHAT[refused.kind]} may have at most ${refused.max} tickets for this event` + (refused.kind === 'order' ? '' : `; ${remaining} more may be bought`),
    { expose: { limit, max: refused.max, ...(refused.kind === 'order' ? {} : { remaining }) } },
  );
}

export interface TicketInventory {
  /**
   * Reserves the purchase's tickets against the capacities and limits its catalogue sets, or
   * refuses it (SOLD_OUT, PURCHASE_LIMIT_EXCEEDED) with nothing counted. `newlyReserved`: this call
   * counted it, so a purchase that is then not written must be released. A refused purchase that
   * `recorded` says was written before (a retry of one that has since ended and given its tickets
   * back) is let through uncounted: its command finds its events and answers as the first time.
   */
  reserve(
    hold: TicketHold,
    catalogue: CatalogueState,
    at: Date,
    recorded?: () => Promise<unknown>,
  ): Promise<{ readonly newlyReserved: boolean; readonly limits: PurchaseLimits | undefined }>;
  /** A purchase paid: its tickets stay taken, as sold. */
  sell(id: string): Promise<void>;
  /** A purchase ended unpaid or refunded in full: its tickets and its buyer's allowance are given back. */
  release(id: string): Promise<void>;
  /** Each ticket type's capacity, sold, held and remaining tickets. */
  availability(venueId: string, eventId: string, catalogue: CatalogueState): Promise<readonly TicketAvailability[]>;
  /** Releases the holds whose purchase was never written (the process died in between); answers how many. */
  sweep(now: Date): Promise<number>;
}

export interface TicketAvailability {
  readonly ticketTypeId: string;
  readonly capacity: number | null;
  readonly sold: number;
  readonly held: number;
  /** null: no capacity. */
  readonly remaining: number | null;
}

/** A hold not seen written this long after it was reserved belongs to a purchase that never was. */
export const UNWRITTEN_HOLD_MS = 5 * 60_000;

export function ticketInventory(deps: {
  readonly store: TicketInventoryStore;
  readonly events: Pick<EventStore, 'readStream'>;
  /** Seed 003's default limits apply to events that set none (PURCHASE_LIMITS). */
  readonly defaultLimits: boolean;
  readonly clock: () => Date;
  readonly logger: Logger;
}): TicketInventory {
  return {
    async reserve(hold, catalogue, at, recorded) {
      const limits = limitsOf(catalogue, deps.defaultLimits);
      const outcome = await deps.store.reserve({
        id: hold.id,
        scope: inventoryScope(hold.venueId, hold.eventId),
        streamId: hold.streamId,
        items: holdItems(hold, catalogue, limits),
        orderMax: limits?.perOrder ?? null,
        at,
      });
      if (outcome.status === 'refused') {
        if (recorded && (await recorded())) return { newlyReserved: false, limits };
        throw refusedError(outcome);
      }
      return { newlyReserved: outcome.status === 'reserved', limits };
    },
    async sell(id) {
      if ((await deps.store.settle(id, 'sold', deps.clock())) === 'recounted') {
        deps.logger.error({ holdId: id }, 'ticket inventory: a purchase whose tickets had been given back was paid; counted as sold again, which may pass its capacity');
      }
    },
    async release(id) {
      await deps.store.settle(id, 'released', deps.clock());
    },
    async availability(venueId, eventId, catalogue) {
      const counts = await deps.store.ticketTypeCounts(inventoryScope(venueId, eventId));
      return Object.entries(catalogue.ticketTypes).map(([ticketTypeId, terms]) => {
        const { held, sold } = counts.get(ticketTypeId) ?? { held: 0, sold: 0 };
        const capacity = terms.capacity ?? null;
        return { ticketTypeId, capacity, sold, held, remaining: capacity === null ? null : Math.max(0, capacity - sold - held) };
      });
    },
    async sweep(now) {
      let released = 0;
      for (const hold of await deps.store.unconfirmed(new Date(now.getTime() - UNWRITTEN_HOLD_MS), 500)) {
        const written = (await deps.events.readStream(hold.streamId, { maxCount: 1 })).length > 0;
        if (written) {
          await deps.store.confirm(hold.id);
        } else if ((await deps.store.settle(hold.id, 'released', now)) === 'changed') {
          released += 1;
          deps.logger.warn({ holdId: hold.id, streamId: hold.streamId }, 'ticket inventory: released the tickets of a purchase that was never written');
        }
      }
      return released;
    },
  };
}
