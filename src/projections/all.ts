import type { Projection } from './projection.js';
import { ledger } from './ledger.js';
import { payments } from './payments.js';
import { taxCollections } from './tax-collections.js';
import { ticketsProjection } from '../resale/tickets.js';

/** Every read model Tessera keeps, in the order a rebuild reports them. */
export const projections: readonly Projection[] = [ledger, payments, taxCollections, ticketsProjection];
