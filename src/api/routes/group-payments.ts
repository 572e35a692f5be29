import { z } from 'zod';
import { groupTotals, type GroupPaymentState } from '../../aggregates/group-payment.js';
import { TesseraError } from '../../errors.js';
import type { Principal } from '../../domain/access.js';
import { userCommandContext } from '../command-context.js';
import { answeredPosition, positionAnswer, positionParam } from '../read-your-writes.js';
import type { RouteModule } from '../route.js';
import { deviceFingerprint, uuid } from '../schemas.js';
import { blockchain, riskSignals, sessionData, ticketPrice } from './payment-schemas.js';
import { RISK_DECLINED } from '../../aggregates/payment.js';
import { riskDeclinedError } from '../../commands/risk-declined.js';
import { nftStatus } from './payment-queries.js';

const MAX_TICKETS = 10;

const createBody = z.object({
  venueId: uuid.describe('The venue selling the tickets (the seed leaves it out; fees and tax need it)'),
  eventId: uuid,
  ticketSelections: z
    .array(
      z.object({
        ticketTypeId: uuid,
        quantity: z.number().int().min(1).max(MAX_TICKETS),
        price: ticketPrice.optional().describe('Cents per ticket you expect; prices come from the catalogue (409 PRICE_MISMATCH when they differ)'),
      }),
    )
    .min(1)
    .max(10),
  members: z
    .array(z.object({ email: z.email().max(254), name: z.string().trim().min(1).max(200), ticketCount: z.number().int().min(1).max(100) }))
    .min(1)
    .max(20),
  blockchain: blockchain.optional(),
});

const summary = z.object({
  totalMembers: z.number().int(),
  paidMembers: z.number().int(),
  totalExpected: z.number().int(),
  totalCollected: z.number().int(),
  percentageCollected: z.number().int(),
});

const member = z.object({
  memberId: z.string(),
  email: z.string().optional().describe('Shown to the organizer and admins only'),
  name: z.string(),
  ticketCount: z.number().int(),
  amountDue: z.number().int(),
  status: z.enum(['unpaid', 'submitted', 'declined', 'authorized', 'captured', 'released']),
  remindersSent: z.number().int(),
});

const group = z.object({
  id: z.string(),
  organizerId: z.string(),
  venueId: z.string(),
  eventId: z.string(),
  totalAmount: z.number().int().describe('What the whole purchase costs (fees and tax included), in cents'),
  currency: z.string(),
  expiresAt: z.string(),
  status: z.enum(['collecting', 'funded', 'completed', 'expired', 'cancelled']),
  members: z.array(member),
});

const paymentLinks = z.array(z.object({ memberId: z.string(), email: z.string(), amount: z.number().int(), link: z.string() }));

function groupView(state: GroupPaymentState, principal: Principal): z.output<typeof group> {
  const g = state.group!;
  const seesEmails = principal.role === 'admin' || principal.userId === g.organizerId;
  return {
    id: g.groupId,
    organizerId: g.organizerId,
    venueId: g.venueId,
    eventId: g.eventId,
    totalAmount: g.quote.total,
    currency: g.quote.currency,
    expiresAt: g.expiresAt,
    status: state.status as z.output<typeof group>['status'],
    members: state.members.map((m) => ({
      memberId: m.memberId,
      ...(seesEmails ? { email: m.email } : {}),
      name: m.name,
      ticketCount: m.ticketCount,
      amountDue: m.amountDue,
      status: m.status,
      remindersSent: m.reminders,
    })),
  };
}

const groupParams = z.object({ groupId: uuid });
const linkToken = z.string().trim().min(1).max(200);

/**
 * Group payments (seed 003 #8-#10): the organizer opens a group, each member pays their share
 * by link (held, not captured), and the purchase completes when every share is held; the group
 * expires after GROUP_PAYMENT_TTL_MS, or the organizer cancels it, releasing every hold.
 */
export const groupPaymentRoutes: RouteModule = {
  name: 'group-payments',
  register(api) {
    const groups = api.services.groups;
    api.metrics.registerMetric(api.services.metrics.groupReminders);

    api.route({
      method: 'POST',
      url: '/api/v1/group-payments/create',
      summary: 'Open a group payment: the purchase priced once, shared among the members by their tickets',
      description:
        'Ticket prices come from the event\'s catalogue at the venue, as for a single purchase (404 TICKET_TYPE_NOT_FOUND, ' +
        '409 TICKET_SALE_CLOSED, 409 PRICE_MISMATCH). Members take every ticket of the selection (422 otherwise). Each share is the total (fees and tax included) ' +
        'split by ticket count, every cent allocated. Payment links are mailed to the members and answered here. The group ' +
        'is one order by its organizer: its tickets are held from now against their capacity (409 SOLD_OUT) and the ' +
        'event\'s limits per user, address and order (403 PURCHASE_LIMIT_EXCEEDED), and given back if it expires or is ' +
        'cancelled. While the event\'s waiting room is on, it needs the room\'s access token in `x-access-token`.',
      tags: ['group-payments'],
      auth: 'user',
      idempotent: true,
      status: 201,
      body: createBody,
      response: z.object({ success: z.literal(true), groupPayment: group, paymentLinks, position: positionAnswer }),
      handler: async ({ body, principal, commandKey, correlationId, ip, header }) => {
        const accessToken = header('x-access-token');
        const created = await groups.create(
          {
            organizerId: principal.userId,
            venueId: body.venueId,
            eventId: body.eventId,
            tickets: body.ticketSelections.map((t) => ({
              ticketTypeId: t.ticketTypeId,
              quantity: t.quantity,
              ...(t.price === undefined ? {} : { expectedPrice: t.price }),
            })),
            members: body.members,
            ...(body.blockchain ? { chain: body.blockchain } : {}),
            ip,
            ...(accessToken ? { accessToken } : {}),
          },
          userCommandContext(api.services, principal, commandKey, correlationId),
        );
        return {
          success: true as const,
          groupPayment: groupView(created.state, principal),
          paymentLinks: created.links,
          position: answeredPosition(created.position),
        };
      },
    });

    api.route({
      method: 'POST',
      url: '/api/v1/group-payments/:groupId/contribute/:memberId',
      summary: "Pay a member's share: the card is held until every share is held",
      description:
        '200 once the gateway holds the share; 202 when it has not answered within PAYMENT_WAIT_MS. A declined card ' +
        'is 402 PAYMENT_FAILED (the member may try another card); a group no longer collecting is 409 ' +
        'GROUP_PAYMENT_CLOSED; a share already paid is 409 CONTRIBUTION_ALREADY_MADE. Fraud screening may refuse it (403 ' +
        'FRAUD_DETECTED, BOT_DETECTED, PURCHASE_LIMIT_EXCEEDED; 429 VELOCITY_LIMIT_EXCEEDED; a share it would hold for review is refused too). Without the token of the ' +
        "member's payment link (or being the organizer), in the group's tenant, it is 403 FORBIDDEN.",
      tags: ['group-payments'],
      auth: 'user',
      idempotent: true,
      params: z.object({ groupId: uuid, memberId: uuid }),
      body: z.object({
        paymentMethodId: z.string().trim().min(1).max(255),
        token: linkToken.optional().describe("The `token` of the member's payment link; the organizer may pay a share without it"),
        deviceFingerprint: deviceFingerprint.optional(),
        sessionData: sessionData.optional(),
      }),
      response: z.object({
        success: z.literal(true),
        message: z.string(),
        groupStatus: summary,
        position: positionAnswer.describe(
          "Read your writes: the position of the group's last event written so far (the gateway's outcome once it is in); pass it as `?position=` to a query",
        ),
      }),
      otherStatuses: [202],
      handler: async ({ params, body, principal, commandKey, correlationId, setStatus, ip }) => {
        const { state, position: written } = await groups.contribute(
          {
            groupId: params.groupId,
            memberId: params.memberId,
            paymentMethodId: body.paymentMethodId,
            ...(body.token ? { token: body.token } : {}),
            signals: riskSignals(ip, body, principal.emailDomain),
          },
          principal,
          userCommandContext(api.services, principal, commandKey, correlationId),
        );
        const contribution = state.members.find((m) => m.memberId === params.memberId)!;
        if (contribution.status === 'declined') {
          const decline = contribution.lastDecline;
          if (decline?.code === RISK_DECLINED) throw riskDeclinedError(decline.declineCode, { groupId: params.groupId, memberId: params.memberId });
          throw new TesseraError('PAYMENT_FAILED', decline?.reason ?? 'the card was declined', {
            expose: { groupId: params.groupId, memberId: params.memberId, gatewayCode: decline?.code ?? 'declined', ...(decline?.declineCode ? { declineCode: decline.declineCode } : {}) },
          });
        }
        if (contribution.status === 'submitted') {
          setStatus(202);
          return { success: true as const, message: 'Payment is being processed', groupStatus: groupTotals(state), position: answeredPosition(written) };
        }
        return { success: true as const, message: 'Payment recorded successfully', groupStatus: groupTotals(state), position: answeredPosition(written) };
      },
    });

    api.route({
      method: 'GET',
      url: '/api/v1/group-payments/:groupId/status',
      summary: 'A group payment with its members and what has been collected',
      description:
        "For the organizer, users who paid a share and holders of a member's payment link (`?token=`), in the group's tenant, and admins; 403 otherwise. " +
        'The group is read from its event stream, so it already shows what a command answered (`?position=` is accepted, as on every query).',
      tags: ['group-payments'],
      auth: 'user',
      params: groupParams,
      query: z.object({
        token: linkToken.optional().describe("The `token` of any member's payment link"),
        position: positionParam.describe(
          "Read your writes: the `position` a group command answered. The group is read from its own event stream, which already holds every write answered, so there is nothing to wait for",
        ),
      }),
      response: z.object({ group, summary, nftStatus: nftStatus.optional().describe("A completed group's tickets on the chain, as a payment's") }),
      handler: async ({ params, query, principal }) => {
        const state = await groups.status(params.groupId, principal, query.token);
        const view = { group: groupView(state, principal), summary: groupTotals(state) };
        if (state.status !== 'completed') return view;
        // The group's tickets are minted under its id, so the payment's source answers for it.
        return { ...view, nftStatus: await api.services.nftStatus.nftStatusFor({ paymentId: params.groupId, status: 'completed' }) };
      },
    });

    api.route({
      method: 'POST',
      url: '/api/v1/group-payments/:groupId/cancel',
      summary: 'Cancel a group payment (its organizer or an admin): every hold is released',
      tags: ['group-payments'],
      auth: 'user',
      idempotent: true,
      params: groupParams,
      body: z.object({ reason: z.string().trim().min(1).max(500).default('cancelled_by_organizer') }).default({ reason: 'cancelled_by_organizer' }),
      response: z.object({ success: z.literal(true), group, position: positionAnswer }),
      handler: async ({ params, body, principal, commandKey, correlationId }) => {
        const { state, position: written } = await groups.cancel(
          { groupId: params.groupId, reason: body.reason },
          principal,
          userCommandContext(api.services, principal, commandKey, correlationId),
        );
        return { success: true as const, group: groupView(state, principal), position: answeredPosition(written) };
      },
    });
  },
};
