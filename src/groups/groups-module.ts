import { randomBytes } from 'node:crypto';
import { Counter } from 'prom-client';
import type { GroupPaymentState } from '../aggregates/group-payment.js';
import type { CommandContext } from '../commands/handle-command.js';
import type { Config } from '../config.js';
import { asUser, authorize, type Actions, type Principal } from '../domain/access.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import type { Logger } from '../logger.js';
import type { PaymentsModule } from '../payments/payments-module.js';
import { startSubscription, type Subscription } from '../eventstore/subscription.js';
import { groupMetricsProjector } from '../projections/group-metrics.js';
import { contribute, createGroupPayment, groupPaymentHandler, requireGroupOf, type CreateGroupPaymentInput, type GroupAnswer } from '../commands/group-payment.js';
import { GROUP_PAYMENT_EXPIRY, GROUP_PAYMENT_REMINDER, groupDeadlineHandler, groupPaymentProcess } from '../processmanagers/group-payment.js';
import { holdsLink, paymentLink } from '../domain/payment-links.js';
import { logMailer, type Mailer } from '../gateways/mailer.js';

type GroupsConfig = Pick<
  Config,
  | 'GROUP_PAYMENT_TTL_MS'
  | 'GROUP_PAYMENT_REMINDER_MS'
  | 'GROUP_PAYMENT_LINK_BASE'
  | 'GROUP_PAYMENT_LINK_SECRET'
  | 'GAS_DEFAULT_CHAIN'
  | 'PAYMENT_WAIT_MS'
>;

export interface GroupsModuleDeps {
  readonly store: EventStore;
  readonly config: GroupsConfig;
  /** Gives the gateway, the venue volume, and runs this module's process manager and deadlines. */
  readonly payments: PaymentsModule;
  readonly mailer?: Mailer;
  readonly logger?: Logger;
  readonly clock?: () => Date;
  /** Idle wait of the module's subscription (tests shorten it). */
  readonly idleWaitMs?: number;
}

export interface PaymentLink {
  readonly memberId: string;
  readonly email: string;
  readonly amount: number;
  readonly link: string;
}

/** The commands answer the position of what they wrote (read-your-writes; null when they wrote nothing). */
export interface GroupServices {
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
    input: { groupId: string; memberId: string; paymentMethodId: string; token?: string },
    caller: Principal,
    context: CommandContext,
  ): Promise<GroupAnswer>;
  /** The organizer (in the group's tenant) or an admin cancels the group. */
  cancel(input: { groupId: string; reason: string }, caller: Principal, context: CommandContext): Promise<GroupAnswer>;
  /** The group as the organizer, its payers, holders of a member's link (`token`) in its tenant, or an admin may see it. */
  status(groupId: string, caller: Principal, token?: string): Promise<GroupPaymentState>;
  links(state: GroupPaymentState): PaymentLink[];
  /** `group_payment_reminders_total` (from the events, once each), unregistered: the route module puts it on the app's registry. */
  readonly reminders: Counter;
}

export interface GroupsModule {
  readonly services: GroupServices;
  /** Starts the reminder counter's subscription (the process manager runs in the payments module). */
  start(): void;
  stop(): Promise<void>;
}

export function createGroupsModule(deps: GroupsModuleDeps): GroupsModule {
  const { store, config, payments } = deps;
  const clock = deps.clock ?? (() => new Date());
  // Outside production (config requires it there) an unset secret is ephemeral: links live as long as the process.
  const linkSecret = config.GROUP_PAYMENT_LINK_SECRET ?? randomBytes(32).toString('hex');
  if (config.GROUP_PAYMENT_LINK_SECRET === undefined) deps.logger?.warn('no GROUP_PAYMENT_LINK_SECRET set: group payment links are signed with an ephemeral key');
  const reminders = new Counter({ name: 'group_payment_reminders_total', help: 'Reminders sent to unpaid members of group payments', registers: [] });
  payments.extend({
    processManagers: [
      groupPaymentProcess({
        store,
        gateway: payments.gateway,
        deadlines: payments.deadlines,
        mailer: deps.mailer ?? logMailer(deps.logger),
        linkBase: config.GROUP_PAYMENT_LINK_BASE,
        linkSecret,
        clock,
      }),
    ],
    deadlineHandlers: {
      [GROUP_PAYMENT_EXPIRY]: groupDeadlineHandler(store, 'expire', clock),
      [GROUP_PAYMENT_REMINDER]: groupDeadlineHandler(store, 'remind', clock),
    },
  });
  const links = (state: GroupPaymentState): PaymentLink[] =>
    state.members.map((m) => ({
      memberId: m.memberId,
      email: m.email,
      amount: m.amountDue,
      link: paymentLink(config.GROUP_PAYMENT_LINK_BASE, linkSecret, state.group!.groupId, m.memberId),
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
    return state;
  }
  const settings = { ttlMs: config.GROUP_PAYMENT_TTL_MS, reminderMs: config.GROUP_PAYMENT_REMINDER_MS, defaultChain: config.GAS_DEFAULT_CHAIN };
  let counter: Subscription | undefined;
  return {
    start() {
      counter ??= startSubscription(store, groupMetricsProjector(store, reminders), {
        ...(deps.idleWaitMs === undefined ? {} : { idleWaitMs: deps.idleWaitMs }),
        ...(deps.logger ? { logger: deps.logger } : {}),
      });
    },
    async stop() {
      await counter?.stop();
      counter = undefined;
    },
    services: {
      async create(input, context) {
        const result = await createGroupPayment({ store, volume: payments.volume, settings }, input, context);
        return { state: result.state, links: links(result.state), replayed: result.replayed, position: result.position };
      },
      async contribute(input, caller, context) {
        await groupFor(input.groupId, caller, 'contribute', input.token, input.memberId);
        const { groupId, memberId, paymentMethodId } = input;
        return contribute(store, { groupId, memberId, paymentMethodId, payerId: caller.userId, waitMs: config.PAYMENT_WAIT_MS }, context);
      },
      async cancel(input, caller, context) {
        await groupFor(input.groupId, caller, 'cancel');
        const result = await groupPaymentHandler.handle(
          store,
          input.groupId,
          { type: 'CancelGroupPayment', data: { requestedBy: { userId: caller.userId, admin: caller.role === 'admin' }, reason: input.reason } },
          context,
        );
        return { state: result.state, position: result.position };
      },
      status: (groupId, caller, token) => groupFor(groupId, caller, 'read', token),
      links,
      reminders,
    },
  };
}
