import { groupPaymentDecider, type GroupPaymentState, type NewMember } from '../aggregates/group-payment.js';
import { followStream } from './follow-stream.js';
import type { RiskAssessor, RiskSignals } from './risk.js';
import { type CommandContext, type CommandResult, commandHandler } from './handle-command.js';
import type { RequestedTicketLine } from '../aggregates/catalogue.js';
import { pricePurchase } from './catalogue.js';
import { admittedBy } from './payment.js';
import type { TicketInventory } from './ticket-inventory.js';
import type { PurchaseAccess } from './waiting-room.js';
import type { Chain } from '../domain/fees.js';
import { derivedId } from '../domain/ids.js';
import { asUser, authorize, type Actions, type Principal } from '../domain/access.js';
import { holdsLink, paymentLink } from '../domain/payment-links.js';
import { TesseraError } from '../errors.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import { groupPaymentStreamId, type GroupPaymentEvent } from '../events/group-payment.js';
import type { VenueVolume } from '../projections/venue-volume.js';

/** The GroupPayment aggregate's command handler (`group-payment-<id>` streams). */
export const groupPaymentHandler = commandHandler(groupPaymentDecider, groupPaymentStreamId);


/** A group that must exist (GROUP_PAYMENT_NOT_FOUND otherwise), with its tenant. */
export async function requireGroupOf(store: EventStore, groupId: string): Promise<{ state: GroupPaymentState; tenantId: string }> {
  const { state, tenantId } = await groupPaymentHandler.load(store, groupId);
  if (state.status === 'none' || tenantId === undefined) {
    throw new TesseraError('GROUP_PAYMENT_NOT_FOUND', `group payment ${groupId} not found`, { groupId });
  }
  return { state, tenantId };
}

export const requireGroup = async (store: EventStore, groupId: string): Promise<GroupPaymentState> => (await requireGroupOf(store, groupId)).state;

export interface CreateGroupPaymentInput {
  readonly organizerId: string;
  readonly venueId: string;
  readonly eventId: string;
  /** Priced from the event's catalogue at the venue, as a single buyer's purchase is. */
  readonly tickets: readonly RequestedTicketLine[];
  readonly members: readonly NewMember[];
  readonly chain?: Chain;
  /** The organizer's IP address, for the purchase limit per address. */
  readonly ip?: string;
  /** The waiting room's access token (`x-access-token`), required while the event's room is enabled. */
  readonly accessToken?: string;
}

export interface GroupSettings {
  readonly ttlMs: number;
  /** After creation, when unpaid members are reminded; 0 for no reminder. */
  readonly reminderMs: number;
  readonly defaultChain: Chain;
}

export const groupIdFor = (commandId: string): string => derivedId(commandId, 'group-payment');
export const memberIdFor = (groupId: string, index: number): string => derivedId(groupId, `member:${index}`);

/**
 * `POST /api/v1/group-payments/create`: prices the whole purchase at the venue as one buyer's
 * would be, shares its total among the members by their tickets, and opens the group until
 * `ttlMs` from now. Ids derive from the command id, so a retried request finds its group.
 */
export async function createGroupPayment(
  deps: { store: EventStore; volume: VenueVolume; settings: GroupSettings; inventory: TicketInventory; access: PurchaseAccess },
  input: CreateGroupPaymentInput,
  context: CommandContext,
): Promise<CommandResult<GroupPaymentState, GroupPaymentEvent>> {
  const groupId = groupIdFor(context.commandId);
  const chain = input.chain ?? deps.settings.defaultChain;
  const recorded = async () => (await groupPaymentHandler.load(deps.store, groupId)).state.group?.tickets;
  const { tickets, quote, catalogue } = await pricePurchase(deps, { ...input, chain }, context.now, recorded);
  const purchase = { tenantId: context.tenantId, userId: input.organizerId, venueId: input.venueId, eventId: input.eventId };
  const access = await admittedBy(deps.access, catalogue, { ...purchase, token: input.accessToken, commandId: context.commandId }, recorded);
  // The group is one order by its organizer: its tickets are held until it completes or ends.
  const reserved = await deps.inventory.reserve(
    { ...purchase, id: groupId, streamId: groupPaymentStreamId(groupId), tickets, ...(input.ip ? { ip: input.ip } : {}) },
    catalogue,
    context.now,
    recorded,
  );
  const now = context.now.getTime();
  const { ttlMs, reminderMs } = deps.settings;
  const created = await (async () => {
    if (access) await deps.access.consume(access.jti, context.commandId);
    return groupPaymentHandler.handle(
      deps.store,
      groupId,
      {
        type: 'CreateGroupPayment',
        data: {
          groupId,
          organizerId: input.organizerId,
          venueId: input.venueId,
          eventId: input.eventId,
          tickets,
          quote,
          members: input.members.map((m, index) => ({ ...m, memberId: memberIdFor(groupId, index) })),
          createdAt: context.now.toISOString(),
          expiresAt: new Date(now + ttlMs).toISOString(),
          ...(reminderMs > 0 && reminderMs < ttlMs ? { remindAt: new Date(now + reminderMs).toISOString() } : {}),
        },
      },
      context,
    );
  })().catch(async (error: unknown) => {
    if (reserved.newlyReserved) await deps.inventory.release(groupId);
    throw error;
  });
  if (created.replayed && reserved.newlyReserved) await deps.inventory.release(groupId);
  return created;
}

/** A group as a command left it, with the position of the last event its state folded (null when the command wrote nothing). */
export interface GroupAnswer {
  readonly state: GroupPaymentState;
  readonly position: Position | null;
}

/**
 * `POST /api/v1/group-payments/:groupId/contribute/:memberId`: records the member's card (the
 * group process manager asks the gateway for a hold of their share), then waits up to `waitMs`
 * for the gateway's answer. The answer's position is that of the last event of the group written
 * so far (the gateway's outcome once it is in), so a query given it sees the state answered.
 */
export async function contribute(
  store: EventStore,
  input: { groupId: string; memberId: string; payerId: string; paymentMethodId: string; waitMs: number; signals?: RiskSignals },
  context: CommandContext,
  risk?: RiskAssessor,
): Promise<GroupAnswer> {
  const idempotencyKey = derivedId(context.commandId, 'hold');
  const assessed = risk && (await assessContribution(store, risk, input, idempotencyKey, context));
  const submitted = await groupPaymentHandler
    .handle(
      store,
      input.groupId,
      {
        type: 'SubmitContribution',
        ...(assessed ? { assessment: assessed.assessment } : {}),
        data: { memberId: input.memberId, payerId: input.payerId, paymentMethodId: input.paymentMethodId, idempotencyKey, now: context.now.toISOString() },
      },
      context,
    )
    .catch(async (error: unknown) => {
      // Not written (closed group, paid already...): the share must not count toward the payer's limits.
      if (assessed?.newlyCounted) await risk?.forget(idempotencyKey);
      throw error;
    });
  if (submitted.replayed && assessed?.newlyCounted) await risk?.forget(idempotencyKey);
  // A retried command's state is the stream's as it is now: followed from the start, its position is that of the stream's last event.
  const followed = await followStream(store, groupPaymentStreamId(input.groupId), groupPaymentDecider, {
    ...(submitted.replayed ? {} : { from: submitted }),
    until: (state) => !contributionPending(state, input.memberId),
    timeoutMs: input.waitMs,
  });
  return { state: followed.state, position: followed.position ?? submitted.position };
}

/** The member's share assessed before its hold; a member not in the group is left for the decider to refuse. */
async function assessContribution(
  store: EventStore,
  risk: RiskAssessor,
  input: { groupId: string; memberId: string; payerId: string; paymentMethodId: string; signals?: RiskSignals },
  idempotencyKey: string,
  context: CommandContext,
) {
  const { state } = await groupPaymentHandler.loadRecent(store, input.groupId);
  const member = state.members.find((m) => m.memberId === input.memberId);
  const group = state.group;
  if (!group || !member) return undefined;
  return risk.assess(
    {
      paymentId: idempotencyKey,
      subject: 'group-contribution',
      userId: input.payerId,
      venueId: group.venueId,
      eventId: group.eventId,
      amount: member.amountDue,
      tickets: member.ticketCount,
      paymentMethodId: input.paymentMethodId,
      signals: input.signals ?? {},
    },
    context,
  );
}

/** The member's card is with the gateway: the hold's outcome is not recorded yet. */
const contributionPending = (state: GroupPaymentState, memberId: string): boolean =>
  state.members.find((m) => m.memberId === memberId)?.status === 'submitted';

export interface PaymentLink {
  readonly memberId: string;
  readonly email: string;
  readonly amount: number;
  readonly link: string;
}

/** What the group payment routes call; the commands answer the position of what they wrote (null when nothing). */
export interface GroupPaymentCommands {
  create(
    input: CreateGroupPaymentInput,
    context: CommandContext,
  ): Promise<{ state: GroupPaymentState; links: PaymentLink[]; replayed: boolean; position: Position | null }>;
  /**
   * The caller pays the member's share: the organizer, or a user of the group's tenant holding
   * the member's payment link (`token`). `position` is that of the group's last event written so
   * far (the gateway's outcome, once it is in).
   */
  contribute(
    input: { groupId: string; memberId: string; paymentMethodId: string; token?: string; signals?: RiskSignals },
    caller: Principal,
    context: CommandContext,
  ): Promise<GroupAnswer>;
  /** The organizer (in the group's tenant) or an admin cancels the group. */
  cancel(input: { groupId: string; reason: string }, caller: Principal, context: CommandContext): Promise<GroupAnswer>;
  /** The group as the organizer, its payers, holders of a member's link (`token`) in its tenant, or an admin may see it. */
  status(groupId: string, caller: Principal, token?: string): Promise<GroupPaymentState>;
  links(state: GroupPaymentState): PaymentLink[];
}

export interface GroupPaymentCommandsDeps {
  readonly store: EventStore;
  readonly volume: VenueVolume;
  readonly settings: GroupSettings;
  /** How long `contribute` waits for the gateway (PAYMENT_WAIT_MS). */
  readonly waitMs: number;
  readonly linkBase: string;
  /** The HMAC secret of the members' payment links. */
  readonly linkSecret: string;
  /** The risk assessment before each member's hold (absent: fraud checks off). */
  readonly risk?: RiskAssessor;
  /** Capacities and purchase limits: a group's tickets are held from its creation. */
  readonly inventory: TicketInventory;
  /** The waiting room's access tokens, while the event's room is enabled. */
  readonly access: PurchaseAccess;
}

export function groupPaymentCommands(deps: GroupPaymentCommandsDeps): GroupPaymentCommands {
  const { store, linkSecret } = deps;
  const links = (state: GroupPaymentState): PaymentLink[] =>
    state.members.map((m) => ({
      memberId: m.memberId,
      email: m.email,
      amount: m.amountDue,
      link: paymentLink(deps.linkBase, linkSecret, state.group!.groupId, m.memberId),
    }));
  /**
   * The group, once the caller may take `action` on it: its tenant from its stream, and whether
   * `token` is a member's link (that member's, when `memberId` names one).
   */
  async function groupFor(groupId: string, caller: Principal, action: Actions['group-payment'], token?: string, memberId?: string) {
    const { state, tenantId } = await requireGroupOf(store, groupId);
    const linked = (id: string) => holdsLink(linkSecret, groupId, id, token);
    authorize(asUser(caller), action, {
      kind: 'group-payment',
      tenantId,
      organizerId: state.group!.organizerId,
      payerIds: state.members.flatMap((m) => (m.payerId ? [m.payerId] : [])),
      holdsLink: token !== undefined && (memberId === undefined ? state.members.some((m) => linked(m.memberId)) : linked(memberId)),
    });
    return { state, tenantId };
  }
  return {
    async create(input, context) {
      const result = await createGroupPayment(deps, input, context);
      return { state: result.state, links: links(result.state), replayed: result.replayed, position: result.position };
    },
    async contribute(input, caller, context) {
      await groupFor(input.groupId, caller, 'contribute', input.token, input.memberId);
      const { groupId, memberId, paymentMethodId } = input;
      const signals = input.signals ? { signals: input.signals } : {};
      return contribute(store, { groupId, memberId, paymentMethodId, payerId: caller.userId, waitMs: deps.waitMs, ...signals }, context, deps.risk);
    },
    async cancel(input, caller, context) {
      // Acts in the group's tenant whoever asks, as a refund acts in its payment's.
      const { tenantId } = await groupFor(input.groupId, caller, 'cancel');
      const result = await groupPaymentHandler.handle(
        store,
        input.groupId,
        { type: 'CancelGroupPayment', data: { requestedBy: { userId: caller.userId, admin: caller.role === 'admin' }, reason: input.reason } },
        { ...context, tenantId },
      );
      return { state: result.state, position: result.position };
    },
    status: async (groupId, caller, token) => (await groupFor(groupId, caller, 'read', token)).state,
    links,
  };
}

