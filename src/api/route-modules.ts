import type { RouteModule } from './route.js';
import { meRoutes } from './routes/me.js';
import { systemRoutes } from './routes/system.js';

/**
 * Every route module the app serves. A later issue adds its module here, e.g.
 * `paymentRoutes` from src/api/routes/payments.ts, and buildApp registers it.
 */
export const routeModules: readonly RouteModule[] = [systemRoutes, meRoutes];

/**
 * The features /info reports (seed #18). Each is false until a module that provides it declares
 * it in its `features`, so /info never claims what this build cannot do.
 */
export const BASE_FEATURES: Readonly<Record<string, boolean>> = {
  stripe: false,
  square: false,
  webhooks: false,
  reconciliation: false,
  nftIntegration: false,
  notifications: false,
  fraudDetection: false,
};
