import type { RouteModule } from './route.js';
import { marketplaceRoutes } from './routes/marketplace.js';
import { meRoutes } from './routes/me.js';
import { parkedWorkRoutes } from './routes/parked-work.js';
import { riskRoutes } from './routes/risk.js';
import { paymentCommandRoutes } from './routes/payment-commands.js';
import { paymentQuoteRoutes } from './routes/payment-quotes.js';
import { stripeWebhookRoutes } from './routes/stripe-webhooks.js';
import { systemRoutes } from './routes/system.js';
import { groupPaymentRoutes } from './routes/group-payments.js';
import { venuePayoutRoutes } from './routes/venue-payouts.js';
import { payeePayoutRoutes } from './routes/payee-payouts.js';
import { refundPolicyRoutes } from './routes/refund-policies.js';
import { venueProfileRoutes } from './routes/venue-profiles.js';
import { paymentQueryRoutes } from './routes/payment-queries.js';
import { ledgerQueryRoutes } from './routes/ledger-queries.js';
import { reportRoutes } from './routes/reports.js';
import { catalogueRoutes } from './routes/catalogue.js';
import { waitingRoomRoutes } from './routes/waiting-room.js';
import { integrationEventRoutes } from './routes/integration-events.js';
import { webhookEndpointRoutes } from './routes/webhook-endpoints.js';

/**
 * Every route module the app serves. A later issue adds its module here, and buildApp
 * registers it.
 */
export const routeModules: readonly RouteModule[] = [
  systemRoutes,
  meRoutes,
  paymentCommandRoutes,
  paymentQuoteRoutes,
  venueProfileRoutes,
  catalogueRoutes,
  stripeWebhookRoutes,
  parkedWorkRoutes,
  riskRoutes,
  paymentQueryRoutes,
  ledgerQueryRoutes,
  reportRoutes,
  marketplaceRoutes,
  groupPaymentRoutes,
  venuePayoutRoutes,
  payeePayoutRoutes,
  refundPolicyRoutes,
  waitingRoomRoutes,
  integrationEventRoutes,
  webhookEndpointRoutes,
];

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
