import type { Config } from './config.js';
import type { PaymentGateway } from './gateways/gateway.js';
import type { Logger } from './logger.js';
import { createPaymentsModule, type PaymentsModule } from './payments/payments-module.js';
import { createGroupsModule, type GroupsModule } from './groups/groups-module.js';
import { createVenuesModule, type VenueServices } from './venues/venues-module.js';
import { projections } from './projections/all.js';
import { createReadSide, readSideSettings, type ReadSide } from './projections/engine/read-side.js';
import type { Storage } from './runtime.js';
import { createMintingModule, type MintingModule } from './minting/minting-module.js';
import { createResaleModule, type ResaleModule } from './resale/resale-module.js';

/**
 * The application's modules over one storage: their services (what routes call) and their
 * background work (process managers, projections, deadline pollers). Building them starts
 * nothing; `start()` does, and `stop()` waits for the work in hand to finish.
 */
export interface TesseraModules {
  readonly payments: PaymentsModule;
  /** The read models: projections, the ledger, their status, rebuild and verify. */
  readonly readSide: ReadSide;
  /** Resale listings and escrows (issue 6). */
  readonly resale: ResaleModule;
  /** NFT minting: queue, worker, chain adapter (issue 6). */
  readonly minting: MintingModule;
  /** Group payments and venue accounts (issue 7): their work runs in the payments module's managers. */
  readonly groups: GroupsModule;
  readonly venues: { readonly services: VenueServices };
  /** Starts the background work; a projection whose version went up rebuilds in the background. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ModuleDependencies {
  readonly config: Config;
  readonly logger: Logger;
  readonly storage: Storage;
  readonly clock?: () => Date;
  /** The payment gateway; by default the one GATEWAY selects (tests put a faulty one here). */
  readonly gateway?: PaymentGateway;
}

export function createModules({ config, logger, storage, clock, gateway }: ModuleDependencies): TesseraModules {
  const payments = createPaymentsModule({
    store: storage.eventStore,
    sql: storage.sql,
    config,
    logger,
    ...(clock ? { clock } : {}),
    ...(gateway ? { gateway } : {}),
  });
  const groups = createGroupsModule({ store: storage.eventStore, config, payments, logger, ...(clock ? { clock } : {}) });
  const venues = createVenuesModule({ store: storage.eventStore, sql: storage.sql, config, payments, ...(clock ? { clock } : {}) });
  const readSide = createReadSide({
    sql: storage.sql,
    store: storage.eventStore,
    logger,
    projections,
    ...readSideSettings(config),
  });
  const minting = createMintingModule({
    store: storage.eventStore,
    sql: storage.sql,
    config,
    logger,
    parking: payments.parking,
    parkedHandlers: payments.parkedHandlers,
    ...(clock ? { clock } : {}),
  });
  const resale = createResaleModule({
    store: storage.eventStore,
    readDb: readSide.db,
    config,
    gateway: payments.gateway,
    minter: minting.minter,
    deadlines: payments.deadlines,
    extend: (extra) => payments.extend(extra),
    ...(clock ? { clock } : {}),
  });
  let started = false;
  return {
    payments,
    readSide,
    resale,
    minting,
    groups,
    venues,
    async start() {
      if (started) return;
      started = true;
      payments.start();
      await readSide.start();
      minting.start();
      groups.start();
      logger.info('background work started: process managers, deadlines, projections');
    },
    async stop() {
      if (!started) return;
      started = false;
      await Promise.all([payments.stop(), readSide.stop(), minting.stop(), groups.stop()]);
    },
  };
}
