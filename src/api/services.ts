import { randomUUID } from 'node:crypto';
import type { Tessera, TesseraServices } from '../composition.js';
import type { ReadSide } from '../projections/engine/read-side.js';
import { nftStatusFor } from '../projections/mint-status.js';
import { mintingNftStatusSource, type NftStatusSource } from './nft-status.js';

/**
 * Services the composition root (src/composition.ts) hands to route modules: its command
 * services, the read side, and where a transaction's NFT status comes from. Deciders take `now`
 * and ids from their command, so the clock and the id source live here, where tests can fix them.
 */
export interface AppServices extends TesseraServices {
  readonly clock: () => Date;
  readonly newId: () => string;
  /** The read models and their engine: query routes read `readSide.db` and wait with `readSide.waitFor`. */
  readonly readSide: ReadSide;
  /** Where a transaction query finds its NFT status (the mint queue, src/projections/mint-status.ts). */
  readonly nftStatus: NftStatusSource;
}

export const servicesOf = (tessera: Tessera, clock: () => Date = () => new Date()): AppServices => ({
  ...tessera.services,
  clock,
  newId: randomUUID,
  readSide: tessera.readSide,
  nftStatus: mintingNftStatusSource((paymentId) => nftStatusFor(tessera.readSide.db, paymentId)),
});
