import { randomUUID } from 'node:crypto';
import type { TesseraModules } from '../modules.js';
import type { PaymentServices } from '../payments/payments-module.js';
import type { ReadSide } from '../projections/engine/read-side.js';
import { mintingNftStatusSource, type NftStatusSource } from './nft-status.js';
import type { ResaleServices } from '../resale/resale-module.js';
import type { GroupServices } from '../groups/groups-module.js';
import type { VenueServices } from '../venues/venues-module.js';

/**
 * Services the composition root hands to route modules. Deciders take `now` and ids from their
 * command, so the clock and the id source live here, where tests can fix them; the modules'
 * services (src/modules.ts) sit beside them.
 */
export interface AppServices {
  readonly clock: () => Date;
  readonly newId: () => string;
  readonly payments: PaymentServices;
  /** The read models and their engine: query routes read `readSide.db` and wait with `readSide.waitFor`. */
  readonly readSide: ReadSide;
  /** Where a transaction query finds its NFT status (the minting queue, src/minting). */
  readonly nftStatus: NftStatusSource;
  readonly resale: ResaleServices;
  readonly groups: GroupServices;
  readonly venues: VenueServices;
}

export const servicesOf = (modules: TesseraModules, clock: () => Date = () => new Date()): AppServices => ({
  clock,
  newId: randomUUID,
  payments: modules.payments.services,
  readSide: modules.readSide,
  nftStatus: mintingNftStatusSource((paymentId) => modules.minting.nftStatus(modules.readSide.db, paymentId)),
  resale: modules.resale.services,
  groups: modules.groups.services,
  venues: modules.venues.services,
});
