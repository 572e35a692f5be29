import {
  ACCESS_TOKEN_SCOPE,
  ACCESS_TOKEN_TTL_MS,
  claimsMismatch,
  drawKeyOf,
  estimatedWaitSeconds,
  readAccessToken,
  roomIdOf,
  signAccessToken,
  type AdmissionRules,
  type Buyer,
  type RoomKey,
} from '../domain/waiting-room.js';
import { TesseraError } from '../errors.js';
import type { WaitingRoomSettings } from '../events/catalogue.js';
import type { EventStore } from '../eventstore/event-store.js';
import type { Logger } from '../logger.js';
import { loadCatalogue } from './catalogue.js';

/** Which purchase a waiting room's access token is checked for (issue 21). */
export interface AccessRequest {
  /** The `x-access-token` header as sent; absent when the caller sent none. */
  readonly token: string | undefined;
  readonly tenantId: string;
  readonly userId: string;
  readonly venueId: string;
  readonly eventId: string;
  /** The event's room as its catalogue holds it (enabled). */
  readonly room: WaitingRoomSettings;
  /**
   * The purchase's command, when the caller knows it: a token that command already used passes
   * (a retried request), one another command used is refused here rather than at `consume`.
   */
  readonly commandId?: string;
}

/**
 * What a purchase path asks of the waiting room: `check` refuses a missing token (403
 * QUEUE_TOKEN_REQUIRED) and a token that is tampered, predictable, expired, revoked, used by another
 * purchase, or for another event, venue or user (403 INVALID_ACCESS_TOKEN), and answers its id;
 * `consume` marks it used by the purchase's command, once (the same command may consume it again:
 * a retried request), refusing it when another command used it first.
 */
export interface PurchaseAccess {
  check(request: AccessRequest): Promise<{ readonly jti: string }>;
  consume(jti: string, commandId: string): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// The waiting room's runtime (issue 21): its store, its activity log, and the service over them.

export type { AdmissionRules, Buyer, RoomKey } from '../domain/waiting-room.js';

/** A buyer given a token by an admission. */
export interface Admission extends Buyer {
  readonly jti: string;
  /** Epoch ms. */
  readonly expiresAt: number;
}

/** A token that lapsed unused: its buyer abandoned the sale and their place is free again. */
export interface Lapse extends Buyer {
  readonly jti: string;
}

/** What admission did during a store call: every call admits and lapses first (a tick). */
export interface TickOutcome {
  readonly admitted: readonly Admission[];
  readonly lapsed: readonly Lapse[];
}

/** Where a buyer stands in a room. `purchased`, `expired` and `revoked` name the last token's fate. */
export type MemberView =
  | { readonly status: 'waiting'; readonly position: number; readonly joinedAt: number }
  | { readonly status: 'admitted'; readonly jti: string; readonly expiresAt: number }
  | { readonly status: 'purchased' | 'expired' | 'revoked'; readonly jti: string };

export type TokenState = 'active' | 'consumed' | 'revoked' | 'expired';

/** An issued token as the store keeps it: its room's, and its buyer's (tenant and user). */
export interface TokenRecord extends RoomKey, Buyer {
  readonly jti: string;
  readonly roomId: string;
  /** Epoch ms. */
  readonly expiresAt: number;
  readonly state: TokenState;
  /** The command that consumed it. */
  readonly commandId?: string;
}

export type ConsumeOutcome =
  | { readonly outcome: 'consumed'; readonly token: TokenRecord }
  | { readonly outcome: 'again' }
  | { readonly outcome: 'refused'; readonly reason: 'unknown' | 'used' | 'revoked' | 'expired' };

export type RevokeOutcome =
  | ({ readonly outcome: 'revoked' } & Buyer)
  | { readonly outcome: 'not_active'; readonly state: Exclude<TokenState, 'active'> }
  | { readonly outcome: 'not_found' };

export interface RoomStats {
  readonly queueLength: number;
  /** Admitted buyers whose token is neither used nor expired: the capacity in use. */
  readonly active: number;
  /** Unexpired tokens not revoked: the active ones and those a purchase has used. */
  readonly tokensInUse: number;
  readonly admittedLastMinute: number;
}

/**
 * Where rooms live: Redis when REDIS_URL is set (shared by every instance, one script per call),
 * the SQL store otherwise (src/gateways/waiting-room-*.ts). Every call that names the room's
 * rules first ticks the room: tokens past their expiry lapse (their places are freed) and the
 * next buyers in order are admitted as far as src/domain/waiting-room.ts allows, atomically, so
 * any number of instances calling at once never admit past capacity or release rate. `now` is
 * the caller's clock (epoch ms); a store never reads its own. Tokens get 128-bit jtis from a
 * cryptographic source and expire ACCESS_TOKEN_TTL_MS after their admission.
 */
export interface WaitingRoomStore {
  readonly kind: 'sql' | 'redis';
  /**
   * Gives the buyer a place at the back (`drawKey` in [0, 1) orders a draw's early joiners),
   * unless they are waiting or admitted already: then nothing changes. A buyer whose last token
   * was used, revoked or lapsed joins anew.
   */
  join(room: RoomKey, rules: AdmissionRules, buyer: Buyer, now: number, drawKey: number): Promise<TickOutcome & { readonly joined: boolean; readonly member: MemberView }>;
  status(room: RoomKey, rules: AdmissionRules, buyer: Buyer, now: number): Promise<TickOutcome & { readonly member: MemberView | undefined }>;
  /** Takes the buyer out: a waiting place is given up, an active token revoked. */
  leave(room: RoomKey, rules: AdmissionRules, buyer: Buyer, now: number): Promise<TickOutcome & { readonly left: { readonly from: 'waiting' | 'admitted'; readonly jti?: string } | undefined }>;
  admit(room: RoomKey, rules: AdmissionRules, now: number): Promise<TickOutcome & { readonly queueLength: number; readonly active: number }>;
  /** One read: the check of a purchase. */
  token(jti: string): Promise<TokenRecord | undefined>;
  /** Marks an active, unexpired token used by `commandId`, once: exactly one of concurrent commands wins. */
  consume(jti: string, commandId: string, now: number): Promise<ConsumeOutcome>;
  /** Revokes an active token of this room: it buys nothing any more and its place is free. */
  revoke(room: RoomKey, jti: string, now: number): Promise<RevokeOutcome>;
  stats(room: RoomKey, now: number): Promise<RoomStats>;
  /**
   * The admission timer's list: the rooms that had buyers waiting or admitted when last ticked.
   * A tick that leaves a room idle takes it off; one that leaves buyers in it puts it back on.
   */
  rooms(): Promise<readonly RoomKey[]>;
  /** Takes a room off the timer's list (it was switched off); its buyers keep their places. */
  forget(room: RoomKey): Promise<void>;
}

export const ACTIVITY_ACTIONS = ['joined', 'admitted', 'abandoned', 'purchased'] as const;
export type ActivityAction = (typeof ACTIVITY_ACTIONS)[number];

/** A row of seed 003's `waiting_room_activity`: the room's, and the buyer's (tenant and user). */
export interface ActivityEntry extends RoomKey, Buyer {
  readonly action: ActivityAction;
  /** jti, reason (abandoned: left, expired, revoked), position. */
  readonly metadata: Readonly<Record<string, string | number>>;
  readonly at: Date;
}

export interface ActivityRow extends ActivityEntry {
  readonly id: string;
  /** Orders the log; page with it. */
  readonly seq: number;
}

/** The activity log (SQL in every mode): `record` resolves once the entries are durable. */
export interface WaitingRoomActivityLog {
  record(entries: readonly ActivityEntry[]): Promise<void>;
  /** Newest first; `before` is a row's seq. */
  list(room: RoomKey, page: { readonly limit: number; readonly before?: number }): Promise<ActivityRow[]>;
}

export type TokenCheckResult = 'valid' | 'missing' | 'malformed' | 'signature' | 'mismatch' | 'expired' | 'unknown' | 'revoked' | 'used';

export interface WaitingRoomMetrics {
  tokenChecked(result: TokenCheckResult): void;
  admitted(count: number): void;
  /** The rooms' totals as the last timer tick saw them. */
  observed(totals: { readonly queueLength: number; readonly active: number }): void;
}

/** Where a buyer stands, as the routes answer it. */
export interface Place {
  readonly status: MemberView['status'];
  readonly position?: number;
  readonly estimatedWaitSeconds?: number;
  readonly token?: string;
  readonly jti?: string;
  readonly expiresAt?: string;
  readonly joined?: boolean;
}

export interface WaitingRoomService extends PurchaseAccess {
  join(room: RoomKey, buyer: Buyer): Promise<Place>;
  status(room: RoomKey, buyer: Buyer): Promise<Place>;
  leave(room: RoomKey, buyer: Buyer): Promise<{ readonly left: boolean }>;
  /** The console's view of a room, all tenants' buyers in it (the venue's managers and admins). */
  stats(room: RoomKey): Promise<RoomStats & { readonly settings: WaitingRoomSettings }>;
  revoke(room: RoomKey, jti: string): Promise<{ readonly jti: string; readonly revoked: boolean; readonly state: TokenState }>;
  activity(room: RoomKey, page: { readonly limit: number; readonly before?: number }): Promise<ActivityRow[]>;
  /** Ticks every room with buyers in it (the timer of every instance). */
  tick(): Promise<void>;
}

export interface WaitingRoomDeps {
  readonly store: EventStore;
  readonly rooms: WaitingRoomStore;
  readonly activity: WaitingRoomActivityLog;
  /** WAITING_ROOM_SECRET: signs and checks access tokens. */
  readonly secret: string;
  readonly clock: () => Date;
  readonly metrics?: WaitingRoomMetrics;
  readonly logger?: Pick<Logger, 'warn'>;
  /**
   * The buyer's draw key in the room, uniform in [0, 1); by default drawKeyOf under `secret`. It
   * must be a function of the room and the buyer alone, or leaving and joining again re-rolls a
   * draw place.
   */
  readonly drawKey?: (room: RoomKey, buyer: Buyer) => number;
}

/** The room's settings, or 404 WAITING_ROOM_NOT_FOUND when the event has no enabled room at the venue. */
export async function enabledRoom(store: EventStore, venueId: string, eventId: string): Promise<WaitingRoomSettings> {
  const room = (await loadCatalogue(store, venueId, eventId)).waitingRoom;
  if (!room?.enabled) throw new TesseraError('WAITING_ROOM_NOT_FOUND', `event ${eventId} at venue ${venueId} has no waiting room`, { expose: { venueId, eventId } });
  return room;
}

export const rulesOf = (room: WaitingRoomSettings): AdmissionRules => ({
  capacity: room.capacity,
  releaseRate: room.releaseRate,
  order: room.order,
  ...(room.opensAt ? { opensAt: Date.parse(room.opensAt) } : {}),
});

const invalidToken = (reason: string) =>
  new TesseraError('INVALID_ACCESS_TOKEN', `the access token is not valid for this purchase (${reason})`, {
    expose: { reason: reason === 'expired' || reason === 'revoked' || reason === 'used' ? reason : 'invalid' },
  });

export function waitingRoomService(deps: WaitingRoomDeps): WaitingRoomService {
  const { rooms, activity, secret, clock, metrics } = deps;
  const drawKey = deps.drawKey ?? ((room: RoomKey, buyer: Buyer) => drawKeyOf(secret, room, buyer));
  const now = () => clock().getTime();

  const tokenFor = (room: RoomKey, buyer: Buyer, jti: string, expiresAt: number): string =>
    signAccessToken(secret, {
      jti,
      tenantId: buyer.tenantId,
      userId: buyer.userId,
      venueId: room.venueId,
      eventId: room.eventId,
      queueId: roomIdOf(room),
      scope: ACCESS_TOKEN_SCOPE,
      iat: Math.floor((expiresAt - ACCESS_TOKEN_TTL_MS) / 1000),
      exp: Math.floor(expiresAt / 1000),
    });

  /** Records what a store call did; a failed write is logged, never undoes or fails the call. */
  const record = async (entries: ActivityEntry[]) => {
    if (entries.length === 0) return;
    await activity.record(entries).catch((error: unknown) => deps.logger?.warn({ err: error, entries: entries.length }, 'waiting room: activity not recorded'));
  };
  const tickEntries = (room: RoomKey, outcome: TickOutcome, at: Date): ActivityEntry[] => [
    ...outcome.lapsed.map((l): ActivityEntry => ({ ...room, tenantId: l.tenantId, userId: l.userId, action: 'abandoned', metadata: { jti: l.jti, reason: 'expired' }, at })),
    ...outcome.admitted.map((a): ActivityEntry => ({ ...room, tenantId: a.tenantId, userId: a.userId, action: 'admitted', metadata: { jti: a.jti }, at })),
  ];
  const counted = (outcome: TickOutcome) => {
    if (outcome.admitted.length > 0) metrics?.admitted(outcome.admitted.length);
  };

  const placeOf = (room: RoomKey, rules: AdmissionRules, buyer: Buyer, member: MemberView, at: number): Place => {
    switch (member.status) {
      case 'waiting':
        return { status: 'waiting', position: member.position, estimatedWaitSeconds: estimatedWaitSeconds(member.position, rules, at) };
      case 'admitted':
        return { status: 'admitted', jti: member.jti, token: tokenFor(room, buyer, member.jti, member.expiresAt), expiresAt: new Date(member.expiresAt).toISOString() };
      case 'purchased':
      case 'expired':
      case 'revoked':
        return { status: member.status, jti: member.jti };
      default: {
        const unhandled: never = member;
        throw new Error(`unhandled member ${JSON.stringify(unhandled)}`);
      }
    }
  };

  const refuse = (result: TokenCheckResult, reason: string = result): never => {
    metrics?.tokenChecked(result);
    throw invalidToken(reason);
  };

  const service: WaitingRoomService = {
    async join(room, buyer) {
      const rules = rulesOf(await enabledRoom(deps.store, room.venueId, room.eventId));
      const at = clock();
      const outcome = await rooms.join(room, rules, buyer, at.getTime(), drawKey(room, buyer));
      counted(outcome);
      const place = placeOf(room, rules, buyer, outcome.member, at.getTime());
      const joined: ActivityEntry[] = outcome.joined
        ? [{ ...room, ...buyer, action: 'joined', metadata: place.position === undefined ? {} : { position: place.position }, at }]
        : [];
      await record([...joined, ...tickEntries(room, outcome, at)]);
      return { ...place, joined: outcome.joined };
    },

    async status(room, buyer) {
      const rules = rulesOf(await enabledRoom(deps.store, room.venueId, room.eventId));
      const at = clock();
      const outcome = await rooms.status(room, rules, buyer, at.getTime());
      counted(outcome);
      await record(tickEntries(room, outcome, at));
      if (!outcome.member) throw new TesseraError('NOT_IN_WAITING_ROOM', 'you have not joined this waiting room (or have left it)');
      return placeOf(room, rules, buyer, outcome.member, at.getTime());
    },

    async leave(room, buyer) {
      const rules = rulesOf(await enabledRoom(deps.store, room.venueId, room.eventId));
      const at = clock();
      const outcome = await rooms.leave(room, rules, buyer, at.getTime());
      counted(outcome);
      const left: ActivityEntry[] = outcome.left
        ? [{ ...room, ...buyer, action: 'abandoned', metadata: { reason: 'left', ...(outcome.left.jti ? { jti: outcome.left.jti } : {}) }, at }]
        : [];
      await record([...tickEntries(room, outcome, at), ...left]);
      return { left: outcome.left !== undefined };
    },

    async stats(room) {
      const settings = await enabledRoom(deps.store, room.venueId, room.eventId);
      return { ...(await rooms.stats(room, now())), settings };
    },

    async revoke(room, jti) {
      await enabledRoom(deps.store, room.venueId, room.eventId);
      const at = clock();
      const outcome = await rooms.revoke(room, jti, at.getTime());
      switch (outcome.outcome) {
        case 'not_found':
          throw new TesseraError('ACCESS_TOKEN_NOT_FOUND', `no access token ${jti} in this waiting room`);
        case 'not_active':
          return { jti, revoked: false, state: outcome.state };
        case 'revoked':
          await record([{ ...room, tenantId: outcome.tenantId, userId: outcome.userId, action: 'abandoned', metadata: { jti, reason: 'revoked' }, at }]);
          return { jti, revoked: true, state: 'revoked' };
        default: {
          const unhandled: never = outcome;
          throw new Error(`unhandled revoke outcome ${JSON.stringify(unhandled)}`);
        }
      }
    },

    async activity(room, page) {
      await enabledRoom(deps.store, room.venueId, room.eventId);
      return activity.list(room, page);
    },

    async check(request) {
      if (request.token === undefined || request.token.trim() === '') {
        metrics?.tokenChecked('missing');
        throw new TesseraError('QUEUE_TOKEN_REQUIRED', 'this event sells through its waiting room: join it, and send the access token you are given as x-access-token');
      }
      const read = readAccessToken(secret, request.token.trim());
      if (!read.ok) return refuse(read.reason);
      const at = now();
      const mismatch = claimsMismatch(read.claims, request, at);
      if (mismatch) return refuse(mismatch);
      const record = await rooms.token(read.claims.jti);
      // A signed token the store does not know was not issued by this store: refused like a forgery.
      if (!record || record.tenantId !== request.tenantId || record.userId !== request.userId || record.roomId !== read.claims.queueId) return refuse('unknown');
      const sameCommand = request.commandId !== undefined && record.commandId === request.commandId;
      if (record.state === 'revoked') return refuse('revoked');
      if (record.state === 'consumed' && request.commandId !== undefined && !sameCommand) return refuse('used');
      if (!sameCommand && (record.state === 'expired' || record.expiresAt <= at)) return refuse('expired');
      metrics?.tokenChecked('valid');
      return { jti: record.jti };
    },

    async consume(jti, commandId) {
      const at = clock();
      const outcome = await rooms.consume(jti, commandId, at.getTime());
      switch (outcome.outcome) {
        case 'again':
          return;
        case 'refused':
          throw invalidToken(outcome.reason === 'unknown' ? 'unknown' : outcome.reason);
        case 'consumed': {
          const { tenantId, venueId, eventId, userId } = outcome.token;
          await record([{ tenantId, venueId, eventId, userId, action: 'purchased', metadata: { jti, commandId }, at }]);
          return;
        }
        default: {
          const unhandled: never = outcome;
          throw new Error(`unhandled consume outcome ${JSON.stringify(unhandled)}`);
        }
      }
    },

    async tick() {
      const totals = { queueLength: 0, active: 0 };
      for (const room of await rooms.rooms()) {
        const settings = (await loadCatalogue(deps.store, room.venueId, room.eventId)).waitingRoom;
        if (!settings?.enabled) {
          // Switched off (or its settings gone): skipping it would read its catalogue every tick
          // forever. Switched on again, the next join, status or leave ticks it back onto the list.
          await rooms.forget(room);
          continue;
        }
        const at = clock();
        const outcome = await rooms.admit(room, rulesOf(settings), at.getTime());
        counted(outcome);
        totals.queueLength += outcome.queueLength;
        totals.active += outcome.active;
        await record(tickEntries(room, outcome, at));
      }
      metrics?.observed(totals);
    },
  };
  return service;
}
