import type { DisputeClosed, PaymentCaptured, PaymentFailed, PaymentRiskAssessed, RefundSucceeded } from './payment.js';
import type { EscrowFunded, EscrowRefunded, EscrowReleased } from './escrow.js';
import type { GroupPaymentCompleted, GroupPaymentExpired } from './group-payment.js';
import type { NftBatchMinted } from './minting.js';
import type { VenuePayoutSent } from './venue-account.js';

/**
 * Events out (issue 22): the public catalogue of integration events. Each is derived from one
 * domain event (zero or one per event) and travels as a CloudEvents 1.0 envelope whose `id` is
 * the domain event's id, so every broker and consumer can de-duplicate. The payloads are public
 * contracts: ids, amounts, currency, status and reason codes only. No card or payment-method
 * data, no e-mail, IP address or device fingerprint ever goes out; user ids are Tessera's opaque
 * ids, given only where a consumer needs to know whose it is.
 *
 * A type's payload changes only by adding a new version beside the old (a new schema), never by
 * changing a published one.
 */

/** A JSON Schema (draft 2020-12) as plain data: what the API serves and the docs show. */
export type JsonSchema = { readonly [keyword: string]: unknown };

/** The CloudEvents 1.0 envelope in structured mode, with Tessera's extensions. */
export interface CloudEvent<Data = Readonly<Record<string, unknown>>> {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  /** The aggregate the fact is about (the payment's, escrow's, group's, venue's or batch's id). */
  readonly subject: string;
  readonly time: string;
  readonly datacontenttype: 'application/json';
  readonly dataschema: string;
  /** Extension: the tenant the event belongs to. */
  readonly tenantid: string;
  /** Extension: the partition key (the aggregate's id); brokers keep one key's messages in order. */
  readonly partitionkey: string;
  /**
   * Extension (CloudEvents' `sequence`, a string ordered lexicographically): the source event's
   * revision in its aggregate's stream, zero-padded. Consumers order one aggregate's events by it
   * and drop a repeat they have seen.
   */
  readonly sequence: string;
  readonly data: Data;
}

/** What the mapping reads of a recorded domain event. */
export interface SourceEvent {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly streamId: string;
  readonly revision: number;
  readonly recordedAt: Date;
  readonly metadata: { readonly tenantId: string; readonly occurredAt: string };
}

export interface IntegrationEventOptions {
  /** The CloudEvent `source` is `<sourceBase>/<tenantId>`. */
  readonly sourceBase: string;
  /** Where the API serves the schemas: `dataschema` is `<schemaBase>/<type>/<version>/schema`. */
  readonly schemaBase: string;
}

export const DEFAULT_INTEGRATION_OPTIONS: IntegrationEventOptions = {
  sourceBase: '/tessera',
  schemaBase: '/api/v1/integration-events',
};

interface Mapped {
  readonly subject: string;
  readonly data: Readonly<Record<string, unknown>>;
}

interface IntegrationEventType<Source> {
  readonly type: string;
  readonly version: number;
  readonly description: string;
  /** The domain event it comes from. */
  readonly from: string;
  readonly schema: JsonSchema;
  /** The public payload, or undefined when this occurrence is not published (a dispute won). */
  readonly map: (data: Source) => Mapped | undefined;
}

const id = { type: 'string', minLength: 1 } as const;
const amount = { type: 'integer', minimum: 0, description: 'Minor units of `currency` (cents).' } as const;
const currency = { type: 'string', pattern: '^[A-Z]{3}$' } as const;
const timestamp = { type: 'string', format: 'date-time' } as const;

const objectSchema = (title: string, properties: Record<string, unknown>, optional: readonly string[] = []): JsonSchema => ({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title,
  type: 'object',
  properties,
  required: Object.keys(properties).filter((name) => !optional.includes(name)),
  additionalProperties: false,
});

const paymentCompleted: IntegrationEventType<PaymentCaptured['data']> = {
  type: 'com.tessera.payment.completed',
  version: 1,
  description: 'A payment was captured: the buyer was charged and the tickets are theirs.',
  from: 'PaymentCaptured',
  schema: objectSchema('payment completed', { paymentId: id, venueId: id, eventId: id, userId: id, amount, currency, status: { const: 'completed' } }),
  map: (d) => ({
    subject: d.paymentId,
    data: { paymentId: d.paymentId, venueId: d.venueId, eventId: d.eventId, userId: d.userId, amount: d.amount, currency: d.currency, status: 'completed' },
  }),
};

const paymentFailed: IntegrationEventType<PaymentFailed['data']> = {
  type: 'com.tessera.payment.failed',
  version: 1,
  description: 'A payment failed: the gateway or the risk assessment declined it; nothing was charged.',
  from: 'PaymentFailed',
  schema: objectSchema(
    'payment failed',
    { paymentId: id, status: { const: 'failed' }, code: { type: 'string' }, declineCode: { type: 'string' } },
    ['declineCode'],
  ),
  map: (d) => ({
    subject: d.paymentId,
    data: { paymentId: d.paymentId, status: 'failed', code: d.code, ...(d.declineCode === undefined ? {} : { declineCode: d.declineCode }) },
  }),
};

const paymentRefunded: IntegrationEventType<RefundSucceeded['data']> = {
  type: 'com.tessera.payment.refunded',
  version: 1,
  description: 'A refund was paid back to the buyer (a full or partial one).',
  from: 'RefundSucceeded',
  schema: objectSchema('payment refunded', { paymentId: id, refundId: id, venueId: id, amount, currency }),
  map: (d) => ({
    subject: d.paymentId,
    data: { paymentId: d.paymentId, refundId: d.refundId, venueId: d.venueId, amount: d.amount, currency: d.currency },
  }),
};

const paymentChargedBack: IntegrationEventType<DisputeClosed['data']> = {
  type: 'com.tessera.payment.charged-back',
  version: 1,
  description: 'A dispute was lost: the card network took the amount back. A dispute won publishes nothing.',
  from: 'DisputeClosed',
  schema: objectSchema('payment charged back', { paymentId: id, disputeId: id, venueId: id, amount, currency }),
  map: (d) =>
    d.outcome === 'lost'
      ? { subject: d.paymentId, data: { paymentId: d.paymentId, disputeId: d.disputeId, venueId: d.venueId, amount: d.amount, currency: d.currency } }
      : undefined,
};

const escrowProperties = { escrowId: id, ticketId: id, venueId: id, eventId: id, amount, currency };
const escrowData = (d: Pick<EscrowFunded['data'], 'escrowId' | 'ticketId' | 'venueId' | 'eventId' | 'amount' | 'currency'>) => ({
  escrowId: d.escrowId,
  ticketId: d.ticketId,
  venueId: d.venueId,
  eventId: d.eventId,
  amount: d.amount,
  currency: d.currency,
});

const escrowFunded: IntegrationEventType<EscrowFunded['data']> = {
  type: 'com.tessera.escrow.funded',
  version: 1,
  description: "A resale buyer was charged: the money is held until the ticket's transfer is confirmed.",
  from: 'EscrowFunded',
  schema: objectSchema('escrow funded', { ...escrowProperties, releaseDeadline: timestamp }),
  map: (d) => ({ subject: d.escrowId, data: { ...escrowData(d), releaseDeadline: d.releaseDeadline } }),
};

const escrowReleased: IntegrationEventType<EscrowReleased['data']> = {
  type: 'com.tessera.escrow.released',
  version: 1,
  description: 'The ticket transfer was confirmed: the escrowed money was paid to the seller, the royalties and the platform.',
  from: 'EscrowReleased',
  schema: objectSchema('escrow released', { ...escrowProperties, transferTxHash: id }),
  map: (d) => ({ subject: d.escrowId, data: { ...escrowData(d), transferTxHash: d.transferTxHash } }),
};

const escrowRefunded: IntegrationEventType<EscrowRefunded['data']> = {
  type: 'com.tessera.escrow.refunded',
  version: 1,
  description: 'The transfer was not confirmed in time: the escrowed money is owed back to the buyer.',
  from: 'EscrowRefunded',
  schema: objectSchema('escrow refunded', escrowProperties),
  map: (d) => ({ subject: d.escrowId, data: escrowData(d) }),
};

const groupCompleted: IntegrationEventType<GroupPaymentCompleted['data']> = {
  type: 'com.tessera.group.completed',
  version: 1,
  description: "Every member's share of a group payment was captured: the purchase is complete.",
  from: 'GroupPaymentCompleted',
  schema: objectSchema('group completed', { groupId: id, venueId: id, eventId: id, amount, currency, ticketCount: { type: 'integer', minimum: 1 } }),
  map: (d) => ({
    subject: d.groupId,
    data: {
      groupId: d.groupId,
      venueId: d.venueId,
      eventId: d.eventId,
      amount: d.amount,
      currency: d.currency,
      ticketCount: d.contributions.reduce((sum, share) => sum + share.ticketCount, 0),
    },
  }),
};

const groupExpired: IntegrationEventType<GroupPaymentExpired['data']> = {
  type: 'com.tessera.group.expired',
  version: 1,
  description: 'A group payment was not fully paid in time: every hold is released.',
  from: 'GroupPaymentExpired',
  schema: objectSchema('group expired', { groupId: id, expiresAt: timestamp }),
  map: (d) => ({ subject: d.groupId, data: { groupId: d.groupId, expiresAt: d.expiresAt } }),
};

const payoutPaid: IntegrationEventType<VenuePayoutSent['data']> = {
  type: 'com.tessera.payout.paid',
  version: 1,
  description: "The gateway paid a venue's payout: the net amount left the platform.",
  from: 'VenuePayoutSent',
  schema: objectSchema('payout paid', { payoutId: id, venueId: id, amount, currency }),
  map: (d) => ({ subject: d.venueId, data: { payoutId: d.payoutId, venueId: d.venueId, amount: d.net, currency: d.currency } }),
};

const ticketMinted: IntegrationEventType<NftBatchMinted['data']> = {
  type: 'com.tessera.ticket.minted',
  version: 1,
  description: "A batch of tickets was minted as NFTs on chain: each ticket with the payment that bought it.",
  from: 'NftBatchMinted',
  schema: objectSchema('ticket minted', {
    batchId: id,
    chain: { type: 'string' },
    txHash: id,
    tickets: {
      type: 'array',
      minItems: 1,
      items: { type: 'object', properties: { ticketId: id, paymentId: id }, required: ['ticketId', 'paymentId'], additionalProperties: false },
    },
  }),
  map: (d) => ({
    subject: d.batchId,
    data: { batchId: d.batchId, chain: d.chain, txHash: d.txHash, tickets: d.tickets.map((t) => ({ ticketId: t.ticketId, paymentId: t.paymentId })) },
  }),
};

const fraudReviewRequired: IntegrationEventType<PaymentRiskAssessed['data']> = {
  type: 'com.tessera.fraud.review-required',
  version: 1,
  description: "A purchase's risk assessment held it for an analyst's review. Features, IP and device are never published.",
  from: 'PaymentRiskAssessed',
  schema: objectSchema('fraud review required', {
    paymentId: id,
    venueId: id,
    eventId: id,
    amount,
    score: { type: 'number', minimum: 0, maximum: 100 },
    level: { enum: ['VERY_LOW', 'LOW', 'MEDIUM', 'HIGH', 'VERY_HIGH'] },
    rules: { type: 'array', items: { type: 'string' } },
  }),
  map: (d) =>
    d.decision === 'review'
      ? {
          subject: d.paymentId,
          data: { paymentId: d.paymentId, venueId: d.venueId, eventId: d.eventId, amount: d.amount, score: d.score, level: d.level, rules: d.rules.map((r) => r.rule) },
        }
      : undefined,
};

/**
 * Every integration event type, by the domain event it comes from. Typed per source: each map
 * sees its own event's data (the one place the loosely typed store meets them is `toCloudEvent`).
 */
const BY_SOURCE = {
  PaymentCaptured: paymentCompleted,
  PaymentFailed: paymentFailed,
  RefundSucceeded: paymentRefunded,
  DisputeClosed: paymentChargedBack,
  EscrowFunded: escrowFunded,
  EscrowReleased: escrowReleased,
  EscrowRefunded: escrowRefunded,
  GroupPaymentCompleted: groupCompleted,
  GroupPaymentExpired: groupExpired,
  VenuePayoutSent: payoutPaid,
  NftBatchMinted: ticketMinted,
  PaymentRiskAssessed: fraudReviewRequired,
} as const;

type AnyIntegrationEventType = IntegrationEventType<never>;
const bySource = new Map<string, AnyIntegrationEventType>(Object.entries(BY_SOURCE));

/** The catalogue as the API and the docs show it. */
export interface IntegrationEventDescription {
  readonly type: string;
  readonly version: number;
  readonly description: string;
  readonly from: string;
  readonly schema: string;
}

export function integrationCatalogue(options: Pick<IntegrationEventOptions, 'schemaBase'> = DEFAULT_INTEGRATION_OPTIONS): IntegrationEventDescription[] {
  return [...bySource.values()].map((t) => ({
    type: t.type,
    version: t.version,
    description: t.description,
    from: t.from,
    schema: schemaUrl(options.schemaBase, t.type, t.version),
  }));
}

/** The JSON Schema of a type's payload at a version, or undefined when there is none. */
export function integrationSchema(type: string, version: number): JsonSchema | undefined {
  for (const t of bySource.values()) if (t.type === type && t.version === version) return t.schema;
  return undefined;
}

/** Whether the domain event type can yield an integration event (the publisher reads only these). */
export const isPublishedSource = (type: string): boolean => bySource.has(type);

const schemaUrl = (base: string, type: string, version: number) => `${base}/${type}/${version}/schema`;

/** The CloudEvent a recorded domain event publishes, or undefined when it publishes none. */
export function toCloudEvent(event: SourceEvent, options: IntegrationEventOptions = DEFAULT_INTEGRATION_OPTIONS): CloudEvent | undefined {
  const t = bySource.get(event.type);
  if (!t) return undefined;
  // The store holds only what deciders wrote, upcast to the current version: the data is the type's.
  const mapped = (t.map as (data: unknown) => Mapped | undefined)(event.data);
  if (!mapped) return undefined;
  return {
    specversion: '1.0',
    id: event.id,
    source: `${options.sourceBase}/${event.metadata.tenantId}`,
    type: t.type,
    subject: mapped.subject,
    time: event.metadata.occurredAt,
    datacontenttype: 'application/json',
    dataschema: schemaUrl(options.schemaBase, t.type, t.version),
    tenantid: event.metadata.tenantId,
    partitionkey: mapped.subject,
    sequence: String(event.revision).padStart(SEQUENCE_DIGITS, '0'),
    data: mapped.data,
  };
}

/** Enough digits that a stream's revisions sort as strings (CloudEvents' sequence is a string). */
const SEQUENCE_DIGITS = 12;
