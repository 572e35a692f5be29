import type { Projection } from './engine/projection.js';
import { ledger } from './ledger/projection.js';
import { payments } from './payments/projection.js';
import { riskAssessmentsProjection } from './risk-assessments.js';
import { taxCollections } from './tax-collections.js';
import { ticketsProjection } from './tickets.js';
import { venueVolumeProjection } from './venue-volume.js';

/**
 * Every read model Tessera keeps, in the order a rebuild reports them: every table a query or a
 * rule reads that is derived from the events is owned by one of these (the fee tier's venue
 * volume included), so `tessera replay` rebuilds it and `tessera verify` compares it.
 */
export const projections: readonly Projection[] = [ledger, payments, taxCollections, ticketsProjection, venueVolumeProjection, riskAssessmentsProjection];
