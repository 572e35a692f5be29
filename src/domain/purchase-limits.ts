import type { PurchaseLimits } from '../events/catalogue.js';

/** Seed 003's `event_purchase_limits` defaults: an event that sets none is held to these. */
export const DEFAULT_PURCHASE_LIMITS: PurchaseLimits = { perUser: 4, perPaymentMethod: 4, perAddress: 8, perOrder: 4 };
