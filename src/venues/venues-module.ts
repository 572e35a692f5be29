import type { VenueAccountState } from '../aggregates/venue-account.js';
import type { CommandContext } from '../commands/handle-command.js';
import { venuePayoutTerms } from '../commands/venue.js';
import type { Config } from '../config.js';
import type { SqlClient } from '../db/sql-client.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import type { VenuePayoutRequested } from '../events/venue-account.js';
import type { PayoutGateway } from '../gateways/gateway.js';
import { createSandboxGateway } from '../gateways/sandbox.js';
import { createStripePayoutGateway } from '../gateways/stripe.js';
import { stripeClientFromConfig, type GatewayConfig, type PaymentsModule } from '../payments/payments-module.js';
import { derivedId } from '../domain/ids.js';
import type { RefundPolicySet } from '../events/refund-policy.js';
import { payoutProcess } from '../processmanagers/venue-account.js';
import { setRefundPolicy } from '../commands/refund-policy.js';
import { reserveReleaseHandler, settlementHandler, settlementProcess, VENUE_RESERVE_RELEASE, VENUE_SETTLEMENT } from '../processmanagers/venue-account.js';
import { venueAccountHandler, loadVenueAccount } from '../commands/venue-account.js';

type VenuesConfig = GatewayConfig & Pick<Config, 'SETTLEMENT_DELAY_MS' | 'VENUE_RESERVE_BPS' | 'VENUE_RESERVE_PERIOD_MS'>;

export interface VenuesModuleDeps {
  readonly store: EventStore;
  readonly sql: SqlClient;
  readonly config: VenuesConfig;
  /** Runs this module's process managers and deadlines. */
  readonly payments: PaymentsModule;
  /** Defaults to the one GATEWAY selects. */
  readonly payoutGateway?: PayoutGateway;
  readonly clock?: () => Date;
}

export interface PayoutReceipt {
  readonly payout: VenuePayoutRequested['data'];
  readonly replayed: boolean;
  /** Where the payout request was written, for reading it back (read-your-writes). */
  readonly position: Position | null;
}

export interface VenueServices {
  requestPayout(
    input: { venueId: string; amount: number; instant: boolean; currency: string; requestedBy: string },
    context: CommandContext,
  ): Promise<PayoutReceipt>;
  /** The write side's view of a venue's account (its stream folded). */
  account(venueId: string): Promise<VenueAccountState>;
  setRefundPolicy: (policy: RefundPolicySet['data'], context: CommandContext) => ReturnType<typeof setRefundPolicy>;
}

export function payoutGatewayFromConfig(config: VenuesConfig, sql: SqlClient): PayoutGateway {
  if (config.GATEWAY === 'stripe') return createStripePayoutGateway(stripeClientFromConfig(config));
  return createSandboxGateway(sql, { latencyMs: config.SANDBOX_LATENCY_MS, failureRate: config.SANDBOX_FAILURE_RATE });
}

export const payoutIdFor = (commandId: string): string => derivedId(commandId, 'payout');

export function createVenuesModule(deps: VenuesModuleDeps): { services: VenueServices } {
  const { store, config, payments } = deps;
  const clock = deps.clock ?? (() => new Date());
  const gateway = deps.payoutGateway ?? payoutGatewayFromConfig(config, deps.sql);
  const settings = { delayMs: config.SETTLEMENT_DELAY_MS, reserveBps: config.VENUE_RESERVE_BPS, reservePeriodMs: config.VENUE_RESERVE_PERIOD_MS };
  payments.extend({
    processManagers: [settlementProcess({ store, deadlines: payments.deadlines, settings, clock }), payoutProcess({ store, gateway, clock })],
    deadlineHandlers: {
      [VENUE_SETTLEMENT]: settlementHandler({ store, deadlines: payments.deadlines, settings }, clock),
      [VENUE_RESERVE_RELEASE]: reserveReleaseHandler(store, clock),
    },
  });
  return {
    services: {
      async requestPayout(input, context) {
        const payoutId = payoutIdFor(context.commandId);
        // From the venue's own stream right before deciding: a hold that began a moment ago counts.
        const { destination, heldUntil } = await venuePayoutTerms(store, input.venueId);
        const terms = { ...(destination !== undefined ? { destination } : {}), ...(heldUntil !== undefined ? { payoutsHeldUntil: heldUntil } : {}) };
        const result = await venueAccountHandler.handle(
          store,
          input.venueId,
          { type: 'RequestPayout', data: { ...input, payoutId, now: context.now.toISOString(), ...terms } },
          context,
        );
        const requested = result.events.find((e) => e.type === 'VenuePayoutRequested');
        if (requested?.type !== 'VenuePayoutRequested') throw new Error(`payout ${payoutId} was not recorded`);
        const payout = requested.data;
        return { payout, replayed: result.replayed, position: result.position };
      },
      account: (venueId) => loadVenueAccount(store, venueId),
      setRefundPolicy: (policy, context) => setRefundPolicy(store, policy, context),
    },
  };
}
