import type { Projection } from './engine/projection.js';
import { ledger } from './ledger/projection.js';
import { payments } from './payments/projection.js';
import { taxCollections } from './tax-collections.js';
import { ticketsProjection } from './tickets.js';

/** Every read model Tessera keeps, in the order a rebuild reports them. */
export const projections: readonly Projection[] = [ledger, payments, taxCollections, ticketsProjection];
