/**
 * Fraud and risk (issue 20): the pure part of a risk assessment. The features of one purchase
 * arrive counted (src/commands/risk.ts counts them atomically in Redis or SQL); this module turns
 * them into the rules that fired, the bot and scalper scores, a 0-100 score with its level, and
 * the decision. The numbers are seed 003's ("Fraud Detection") and seed 002's; a venue or an
 * event may override any threshold.
 */

/** What a purchase is assessed on. Counts include the purchase being assessed. */
export interface RiskFeatures {
  /** What the card is charged, in cents. */
  readonly amount: number;
  readonly ticketCount: number;
  /** The user's average purchase before this one, in cents; 0 without history. */
  readonly userAverageAmount: number;
  /** The user's purchases before this one, ever. */
  readonly userPurchaseCount: number;
  /** Days since the user was first seen buying (0: first purchase now). */
  readonly accountAgeDays: number;
  readonly userPurchasesHour: number;
  readonly userPurchasesDay: number;
  readonly userPurchasesWeek: number;
  readonly ipPurchasesMinute: number;
  readonly ipPurchasesHour: number;
  readonly cardPurchasesDay: number;
  /** Distinct users who paid with this card (payment method fingerprint), this one included. */
  readonly cardUsers: number;
  /** Tickets this user holds or is buying for this event, this purchase included. */
  readonly eventTicketsByUser: number;
  /** Purchases for this event in the last ten minutes, platform-wide: how hot the on-sale is. */
  readonly eventPurchasesTenMinutes: number;
  readonly hasDevice: boolean;
  /** The user has not bought from this device before. */
  readonly newDevice: boolean;
  /** Distinct users seen on this device, this one included. */
  readonly deviceUsers: number;
  /** Distinct devices this user bought from, this one included. */
  readonly userDevices: number;
  /** 0-1 from the session's signals (botScore); 0.5 when no session data came. */
  readonly botScore: number;
  readonly hasSession: boolean;
  /** A resale purchase: the listing's markup as a share of the cap the rules allow (0-1); 0 otherwise. */
  readonly resaleMarkup: number;
  /** Hour of day (UTC) the purchase was made. */
  readonly hourOfDay: number;
}

/** The numbers rules decide on. Defaults are the seeds'; `PUT /admin/risk/thresholds` overrides them. */
export interface RiskThresholds {
  readonly userPerHour: number;
  readonly userPerDay: number;
  readonly userPerWeek: number;
  readonly ipPerMinute: number;
  readonly ipPerHour: number;
  readonly cardPerDay: number;
  readonly cardMaxUsers: number;
  readonly ticketsPerEventPerUser: number;
  /** An order above this many cents is large. */
  readonly largeAmount: number;
  /** An order this many times the user's average (with history) is unusual. */
  readonly unusualAmountFactor: number;
  /** More users than this on one device is an account farm. */
  readonly deviceMaxUsers: number;
  /** Purchases for one event in ten minutes from which the event counts as high demand. */
  readonly highDemandPerTenMinutes: number;
  /** Bot and scalper scores above these are a bot and a scalper. */
  readonly botScore: number;
  readonly scalperScore: number;
  /** Score from which a purchase is challenged (3-D Secure), held for review, declined. */
  readonly challengeAt: number;
  readonly reviewAt: number;
  readonly declineAt: number;
}

export const DEFAULT_RISK_THRESHOLDS: RiskThresholds = {
  userPerHour: 5,
  userPerDay: 20,
  userPerWeek: 50,
  ipPerMinute: 10,
  ipPerHour: 50,
  cardPerDay: 10,
  cardMaxUsers: 3,
  ticketsPerEventPerUser: 4,
  largeAmount: 100_000,
  unusualAmountFactor: 5,
  deviceMaxUsers: 3,
  highDemandPerTenMinutes: 100,
  botScore: 0.7,
  scalperScore: 0.7,
  challengeAt: 50,
  reviewAt: 70,
  declineAt: 90,
};

export const RISK_DECISIONS = ['approve', 'challenge', 'review', 'decline'] as const;
export type RiskDecision = (typeof RISK_DECISIONS)[number];

export const RISK_LEVELS = ['VERY_LOW', 'LOW', 'MEDIUM', 'HIGH', 'VERY_HIGH'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

/** Lists an operator keeps (`/admin/risk/lists`). */
export const RISK_LIST_KINDS = ['user', 'device', 'card', 'ip', 'email_domain'] as const;
export type RiskListKind = (typeof RISK_LIST_KINDS)[number];

/**
 * A rule that fired. `limit` rules are hard: they decline whatever the score (a velocity window,
 * the per-event ticket cap, a block list, a bot). `score` rules are signals: without a model
 * their `points` add up to the score; with one they are the verdict's explanation, at 0 points,
 * because the model weighs the same signals already (see riskVerdict).
 */
export interface FiredRule {
  readonly rule: string;
  readonly kind: 'limit' | 'score' | 'list';
  readonly points: number;
  /** What it saw and what it allows, for the analyst and the log. */
  readonly detail: string;
}

/** Which lists the purchase's user, device, card, address or email domain is on. */
export interface ListHits {
  readonly blocked: readonly RiskListKind[];
  readonly allowed: readonly RiskListKind[];
}

export interface RiskVerdict {
  /** 0-100. */
  readonly score: number;
  readonly level: RiskLevel;
  readonly decision: RiskDecision;
  readonly rules: readonly FiredRule[];
  readonly botScore: number;
  readonly scalperScore: number;
  /** The model's fraud probability (0-1) that went into the score. */
  readonly modelScore: number;
  /** The error code a declined purchase answers: BOT_DETECTED, VELOCITY_LIMIT_EXCEEDED, PURCHASE_LIMIT_EXCEEDED, FRAUD_DETECTED. */
  readonly declineCode?: RiskDeclineCode;
}

export type RiskDeclineCode = 'BOT_DETECTED' | 'VELOCITY_LIMIT_EXCEEDED' | 'PURCHASE_LIMIT_EXCEEDED' | 'FRAUD_DETECTED';

/** A trained model over the features (src/domain/fraud-model.ts reads the artefacts in models/). */
export interface RiskModel {
  readonly version: string;
  /** The probability (0-1) that the purchase is fraud. */
  predict(features: RiskFeatures): number;
}

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));

/**
 * Scalper score (seed 003: >0.7 = scalper): buying in bursts (more than 5 an hour is the
 * seed's mark), on high-demand events, from a device shared by several accounts, up to the
 * per-event cap, or resale at a markup near the cap.
 */
export function scalperScore(f: RiskFeatures, t: RiskThresholds = DEFAULT_RISK_THRESHOLDS): number {
  const burst = clamp01((f.userPurchasesHour - 1) / Math.max(1, t.userPerHour - 1));
  const demand = clamp01(f.eventPurchasesTenMinutes / t.highDemandPerTenMinutes);
  const shared = f.hasDevice ? clamp01((f.deviceUsers - 1) / Math.max(1, t.deviceMaxUsers - 1)) : 0;
  const atCap = clamp01(f.eventTicketsByUser / t.ticketsPerEventPerUser);
  const markup = clamp01((f.resaleMarkup - 0.5) / 0.5);
  // Demand alone is a fan at an on-sale: it weighs only beside a burst, a shared device or a markup.
  const behaviour = 0.4 * burst + 0.3 * shared + 0.3 * markup;
  return round3(clamp01(behaviour + 0.25 * demand * Math.max(burst, shared, markup) + 0.1 * atCap * burst));
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Hard limits: any one declines. Counts include this purchase, so a limit of 5 refuses the 6th. */
function limitRules(f: RiskFeatures, t: RiskThresholds): FiredRule[] {
  const windows: [string, number, number, string][] = [
    ['velocity_user_hour', f.userPurchasesHour, t.userPerHour, 'purchases by this user in an hour'],
    ['velocity_user_day', f.userPurchasesDay, t.userPerDay, 'purchases by this user in a day'],
    ['velocity_user_week', f.userPurchasesWeek, t.userPerWeek, 'purchases by this user in a week'],
    ['velocity_ip_minute', f.ipPurchasesMinute, t.ipPerMinute, 'purchases from this address in a minute'],
    ['velocity_ip_hour', f.ipPurchasesHour, t.ipPerHour, 'purchases from this address in an hour'],
    ['velocity_card_day', f.cardPurchasesDay, t.cardPerDay, 'purchases on this card in a day'],
    ['card_users', f.cardUsers, t.cardMaxUsers, 'users paying with this card'],
    ['event_ticket_limit', f.eventTicketsByUser, t.ticketsPerEventPerUser, 'tickets for this event by this user'],
  ];
  return windows
    .filter(([, seen, max]) => seen > max)
    .map(([rule, seen, max, what]) => ({ rule, kind: 'limit' as const, points: 100, detail: `${seen} ${what}; at most ${max}` }));
}

/**
 * Signals, none enough alone to decline an ordinary buyer. Their points are the score of the
 * rules alone (no model); with a model they explain the score and add nothing to it.
 */
function scoreRules(f: RiskFeatures, t: RiskThresholds, bot: number, scalper: number): FiredRule[] {
  const fired: FiredRule[] = [];
  const add = (rule: string, points: number, detail: string) => fired.push({ rule, kind: 'score', points, detail });
  if (f.amount > t.largeAmount) add('amount_large', 10, `${f.amount} cents; large above ${t.largeAmount}`);
  if (f.userPurchaseCount >= 3 && f.amount > t.unusualAmountFactor * f.userAverageAmount) {
    add('amount_unusual', 15, `${f.amount} cents against this user's average of ${Math.round(f.userAverageAmount)}`);
  }
  if (f.hasDevice && f.newDevice && f.userPurchaseCount > 0) add('device_new', 5, `a device this user has not bought from (${f.userDevices} devices)`);
  if (f.hasDevice && f.deviceUsers > t.deviceMaxUsers) add('device_shared', 25, `${f.deviceUsers} users on this device; at most ${t.deviceMaxUsers}; held for review at least`);
  if (!f.hasDevice) add('device_missing', 5, 'no device fingerprint');
  if (bot > 0.5 && bot <= t.botScore) add('bot_suspect', 15, `bot score ${bot}`);
  if (scalper > t.scalperScore) add('scalper', 30, `scalper score ${scalper}; a scalper above ${t.scalperScore}`);
  return fired;
}

/** Seed 002's levels, by fifths of the score. */
export function riskLevel(score: number): RiskLevel {
  return RISK_LEVELS[Math.min(4, Math.floor(score / 20))]!;
}

/**
 * Score rules that hold a purchase for review at least, whatever the model says: several
 * accounts buying from one device is an account farm's mark, and the one a linear model misses
 * most often when the farm's other signals look ordinary.
 */
const REVIEW_AT_LEAST: ReadonlySet<string> = new Set(['device_shared']);

/**
 * The verdict: lists first (a blocked user, device, card, address or domain declines; an allowed
 * one passes every rule but the per-event ticket cap), then the hard limits and the bot score,
 * then the score against the challenge, review and decline thresholds. With a model the score is
 * its probability as 0-100, and nothing is added: the model already sees the amount, the
 * devices and the bot score the score rules look at, so adding their points counted each signal
 * twice. The rules that fired stay on the verdict, at 0 points, to say why. Without a model (a
 * modelScore of 0: the rules alone) the score is the sum of their points. Either way a device
 * shared by more users than `deviceMaxUsers` holds the purchase for review at least.
 */
export function riskVerdict(f: RiskFeatures, lists: ListHits, modelScore: number, t: RiskThresholds = DEFAULT_RISK_THRESHOLDS): RiskVerdict {
  const bot = f.botScore;
  const scalper = scalperScore(f, t);
  const base = { botScore: bot, scalperScore: scalper, modelScore: round3(modelScore) };
  const listRules = lists.blocked.map((kind): FiredRule => ({ rule: `blocked_${kind}`, kind: 'list', points: 100, detail: `the ${kind.replace('_', ' ')} is on the block list` }));
  if (listRules.length > 0) return { ...base, score: 100, level: 'VERY_HIGH', decision: 'decline', rules: listRules, declineCode: 'FRAUD_DETECTED' };

  const limits = limitRules(f, t);
  if (bot > t.botScore) limits.push({ rule: 'bot', kind: 'limit', points: 100, detail: `bot score ${bot}; a bot above ${t.botScore}` });
  // Only who the server knows (the token's user, the card) can be vouched for: a device
  // fingerprint or an address is whatever the client sends.
  const allowed = lists.allowed.filter((kind) => ALLOWABLE.has(kind));
  if (allowed.length > 0) {
    const held = limits.filter((rule) => ALLOWED_STILL_HELD.has(rule.rule));
    const rules: FiredRule[] = [...allowed.map((kind): FiredRule => ({ rule: `allowed_${kind}`, kind: 'list', points: 0, detail: `the ${kind} is on the allow list` })), ...held];
    return held.length > 0
      ? { ...base, score: 100, level: 'VERY_HIGH', decision: 'decline', rules, declineCode: declineCodeOf(held) }
      : { ...base, score: 0, level: 'VERY_LOW', decision: 'approve', rules };
  }
  // A model's probability is never exactly 0 (a sigmoid), so 0 can only mean there is no model.
  const withModel = modelScore > 0;
  const scored = scoreRules(f, t, bot, scalper).map((rule) => (withModel ? { ...rule, points: 0 } : rule));
  const rules = [...limits, ...scored];
  if (limits.length > 0) return { ...base, score: 100, level: 'VERY_HIGH', decision: 'decline', rules, declineCode: declineCodeOf(limits) };

  const score = withModel ? Math.round(100 * modelScore) : Math.min(100, scored.reduce((sum, rule) => sum + rule.points, 0));
  const byScore: RiskDecision = score >= t.declineAt ? 'decline' : score >= t.reviewAt ? 'review' : score >= t.challengeAt ? 'challenge' : 'approve';
  const atLeastReview = scored.some((rule) => REVIEW_AT_LEAST.has(rule.rule)) && RISK_DECISIONS.indexOf(byScore) < RISK_DECISIONS.indexOf('review');
  const decision: RiskDecision = atLeastReview ? 'review' : byScore;
  return { ...base, score, level: riskLevel(score), decision, rules, ...(decision === 'decline' ? { declineCode: 'FRAUD_DETECTED' as const } : {}) };
}

/** The list kinds an allow entry counts for: identities the server vouches for, not client-sent ones. */
export const ALLOWABLE: ReadonlySet<RiskListKind> = new Set(['user', 'card']);

/** Limits an allow-listed buyer is still held to: the per-event cap, a card shared too widely, a bot. */
const ALLOWED_STILL_HELD: ReadonlySet<string> = new Set(['event_ticket_limit', 'card_users', 'bot']);

function declineCodeOf(limits: readonly FiredRule[]): RiskDeclineCode {
  if (limits.some((rule) => rule.rule === 'bot')) return 'BOT_DETECTED';
  if (limits.some((rule) => rule.rule.startsWith('velocity_'))) return 'VELOCITY_LIMIT_EXCEEDED';
  if (limits.some((rule) => rule.rule === 'event_ticket_limit')) return 'PURCHASE_LIMIT_EXCEEDED';
  return 'FRAUD_DETECTED';
}

/** The session signals a checkout page sends (seed 003's `sessionData`). */
export interface SessionSignals {
  readonly actions?: readonly { readonly type: string; readonly t: number; readonly x?: number; readonly y?: number }[];
  readonly browserFeatures?: {
    readonly webdriver?: boolean;
    readonly headless?: boolean;
    readonly userAgent?: string;
    readonly languages?: number;
    readonly plugins?: number;
    readonly screenWidth?: number;
    readonly screenHeight?: number;
    /** The page's `navigator.maxTouchPoints > 0`: a touch screen, where a tap is a click with no pointer moving before it. */
    readonly touch?: boolean;
  };
}

/** Taps closer than this on average (ms) are faster than a thumb moves from one button to the next. */
const MIN_TAP_GAP_MS = 200;

/**
 * Bot score 0-1 (seed 003: >0.7 = bot) from the session: an automation flag or a headless
 * browser; actions spaced like a metronome; a pointer moving in a ruler-straight line; a checkout
 * completed faster than a person reads; clicks with no pointer movement at all; too few actions
 * to judge. A touch screen (`browserFeatures.touch`) is judged as a phone: taps come with no
 * pointer moves, a saved card pays in two taps, and a phone checkout is fast only when the taps
 * come faster than a thumb moves between buttons. No session data at all is 0.5: unknown, not proof.
 */
export function botScore(session: SessionSignals | undefined): number {
  if (!session || (!session.actions?.length && !session.browserFeatures)) return 0.5;
  const browser = session.browserFeatures ?? {};
  const ua = browser.userAgent ?? '';
  if (browser.webdriver === true || browser.headless === true || /HeadlessChrome|PhantomJS|puppeteer|playwright|selenium/i.test(ua)) return 0.99;
  const touch = browser.touch === true;
  const actions = [...(session.actions ?? [])].sort((a, b) => a.t - b.t);
  let score = 0.1;
  // A desktop checkout takes a few moves and clicks; a phone with a saved card pays in two taps.
  if (actions.length < (touch ? 2 : 3)) score += 0.3;
  if (browser.plugins === 0 && browser.languages === 0) score += 0.2;
  const gaps = actions.slice(1).map((a, i) => a.t - actions[i]!.t);
  if (gaps.length >= 4) {
    const mean = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - mean) ** 2, 0) / gaps.length);
    if (mean > 0 && sd / mean < 0.1) score += 0.35;
    if (mean < 30) score += 0.2;
  }
  if (actions.length >= 2) {
    const span = actions[actions.length - 1]!.t - actions[0]!.t;
    if (touch ? span / gaps.length < MIN_TAP_GAP_MS : span < 1_500) score += 0.25;
  }
  const moves = actions.filter((a) => a.type === 'mousemove' && a.x !== undefined && a.y !== undefined);
  const clicks = actions.filter((a) => a.type === 'click').length;
  if (clicks > 0 && moves.length === 0 && !touch) score += 0.25;
  if (moves.length >= 5 && collinear(moves as { x: number; y: number }[])) score += 0.3;
  return round3(clamp01(score));
}

/** Every point within a pixel of the line through the first and last: no hand moves like that. */
function collinear(points: readonly { x: number; y: number }[]): boolean {
  const a = points[0]!;
  const b = points[points.length - 1]!;
  const length = Math.hypot(b.x - a.x, b.y - a.y);
  if (length < 50) return false;
  return points.every((p) => Math.abs((b.x - a.x) * (a.y - p.y) - (a.x - p.x) * (b.y - a.y)) / length < 1);
}

/**
 * The key an address is counted under: IPv4 as it is (an IPv4-mapped IPv6 address as its IPv4),
 * IPv6 by its /64, which one subscriber is usually given whole: counting single IPv6 addresses
 * would let one household present billions.
 */
export function addressKey(ip: string): string {
  const address = ip.trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.split('::', 2);
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = address.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const groups = address.includes('::') ? [...headGroups, ...Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups] : headGroups;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
