/**
 * A labelled synthetic data set for the fraud model (issue 20): one RiskFeatures row per
 * purchase, as src/commands/risk.ts would count it, with the pattern that made it. Ordinary
 * buyers are the bulk; the fraud patterns come from seed 003 (card testing, account farms,
 * scalper bursts, bots); and the hard cases are there on purpose, on both sides: legitimate
 * buyers who look like fraud (a family at an on-sale, a corporate buyer, a fan on a new phone, a
 * big night out) and fraud that looks ordinary (slow card testing, stolen cards). Seeded, so
 * a seed always gives the same rows.
 */
import type { RiskFeatures } from '../../src/domain/risk.js';
import { seededRandom, type Random } from './random.js';
import { botSession, humanSession, sessionSignal } from './sessions.js';

export interface LabelledPurchase {
  readonly features: RiskFeatures;
  readonly fraud: boolean;
  readonly pattern: Pattern;
}

/** Each pattern's share of purchases: legitimate 93%, fraud 7%, a third of that the hard kind. */
export const PATTERN_SHARES = {
  ordinary: 0.86,
  'on-sale family': 0.03,
  corporate: 0.01,
  'new phone': 0.02,
  'big night out': 0.01,
  'card testing': 0.012,
  'slow card testing': 0.01,
  'account farm': 0.012,
  'scalper burst': 0.012,
  bot: 0.012,
  'stolen card': 0.012,
} as const;

export type Pattern = keyof typeof PATTERN_SHARES;

const FRAUD: ReadonlySet<Pattern> = new Set<Pattern>(['card testing', 'slow card testing', 'account farm', 'scalper burst', 'bot', 'stolen card']);

/** The patterns made to look like the other side: legitimate buyers who look risky, fraud that looks ordinary. */
export const HARD_CASES: ReadonlySet<Pattern> = new Set<Pattern>(['on-sale family', 'corporate', 'new phone', 'big night out', 'slow card testing', 'stolen card']);

export function generatePurchases(seed: number, count: number): LabelledPurchase[] {
  const rng = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const pattern = rng.pick(PATTERN_SHARES);
    return { features: PATTERNS[pattern](rng), fraud: FRAUD.has(pattern), pattern };
  });
}

/** What the platform knew of the buyer before this purchase. */
interface Buyer {
  readonly purchaseCount: number;
  readonly accountAgeDays: number;
  /** Cents; 0 without history. */
  readonly averageAmount: number;
  readonly devices: number;
}

const NEW_BUYER: Buyer = { purchaseCount: 0, accountAgeDays: 0, averageAmount: 0, devices: 0 };

function establishedBuyer(rng: Random, minPurchases = 1): Buyer {
  const purchaseCount = minPurchases + Math.min(400, Math.floor(rng.logNormal(5, 1)));
  return {
    purchaseCount,
    accountAgeDays: Math.max(1, Math.min(4_000, Math.round(rng.logNormal(60 + 10 * purchaseCount, 0.8)))),
    averageAmount: Math.round(rng.logNormal(9_000, 0.6)),
    devices: 1 + rng.poisson(0.5),
  };
}

const anyBuyer = (rng: Random, newShare: number): Buyer => (rng.chance(newShare) ? NEW_BUYER : establishedBuyer(rng));

const history = (b: Buyer) => ({ userPurchaseCount: b.purchaseCount, accountAgeDays: b.accountAgeDays, userAverageAmount: b.averageAmount });

/** Fees on top of the ticket price, roughly the platform's 12%. */
const charged = (tickets: number, price: number): number => Math.max(100, Math.round(tickets * price * 1.12));

/** A ticket's price: near what the buyer usually pays when there is history, else a typical one. */
const ticketPrice = (rng: Random, b: Buyer): number => (b.averageAmount > 0 ? (b.averageAmount / 2.2) * rng.logNormal(1, 0.45) : rng.logNormal(5_500, 0.7));

function velocity(b: Buyer, hour: number, day: number, week: number) {
  // The windows nest, and the week cannot hold more purchases than the user ever made.
  const userPurchasesWeek = Math.min(week, b.purchaseCount + 1);
  const userPurchasesDay = Math.min(day, userPurchasesWeek);
  return { userPurchasesHour: Math.min(hour, userPurchasesDay), userPurchasesDay, userPurchasesWeek };
}

const network = (ipMinute: number, ipHour: number) => ({ ipPurchasesMinute: ipMinute, ipPurchasesHour: Math.max(ipMinute, ipHour) });

function device(rng: Random, b: Buyer, present: number, newChance: number, users: number) {
  if (!rng.chance(present)) return { hasDevice: false, newDevice: false, deviceUsers: 0, userDevices: b.devices };
  const newDevice = b.purchaseCount === 0 || rng.chance(newChance);
  return { hasDevice: true, newDevice, deviceUsers: users, userDevices: b.devices + (newDevice ? 1 : 0) };
}

/** Hour of day in UTC for a buyer in the Americas or Europe: evenings and lunchtimes, or at any hour. */
function hourOfDay(rng: Random, anyHour: number): number {
  const offset = rng.pick({ '-8': 0.2, '-5': 0.3, '0': 0.3, '1': 0.2 });
  const local = rng.chance(anyHour) ? rng.uniform(0, 24) : rng.chance(0.55) ? rng.normal(20, 2.5) : rng.normal(13, 2.5);
  return (((Math.floor(local) - Number(offset)) % 24) + 24) % 24;
}

/** How hot the event is: purchases for it in the last ten minutes, platform-wide. */
const demand = (rng: Random, onSale: boolean): number => Math.max(1, Math.round(onSale ? rng.logNormal(700, 0.9) : rng.logNormal(4, 1.3)));

const fanResale = (rng: Random): number => (rng.chance(0.12) ? Math.min(1, rng.next() ** 1.5) : 0);

const PATTERNS: Record<Pattern, (rng: Random) => RiskFeatures> = {
  ordinary(rng) {
    const buyer = anyBuyer(rng, 0.3);
    const tickets = Number(rng.pick({ 1: 0.3, 2: 0.45, 3: 0.1, 4: 0.15 }));
    const hour = 1 + (rng.chance(0.04) ? 1 + rng.poisson(0.3) : 0);
    const day = hour + rng.poisson(0.08);
    return {
      ...history(buyer),
      ...order(tickets, charged(tickets, ticketPrice(rng, buyer)), tickets + (rng.chance(0.08) ? rng.int(0, 4 - tickets) : 0), demand(rng, rng.chance(0.04))),
      ...velocity(buyer, hour, day, day + rng.poisson(0.3)),
      // A few buyers sit behind a carrier's or a campus's shared address.
      ...network(1 + (rng.chance(0.02) ? rng.int(1, 3) : 0), rng.chance(0.05) ? Math.round(rng.logNormal(6, 0.8)) : 1 + rng.poisson(0.2)),
      ...card(day + (rng.chance(0.05) ? rng.poisson(0.7) : 0), Number(rng.pick({ 1: 0.9, 2: 0.08, 3: 0.02 }))),
      ...device(rng, buyer, 0.92, 0.08, 1 + Number(rng.pick({ 0: 0.85, 1: 0.12, 2: 0.03 }))),
      ...sessionSignal(humanSession(rng), rng),
      resaleMarkup: fanResale(rng),
      hourOfDay: hourOfDay(rng, 0.1),
    };
  },

  /** The per-event limit bought the second the on-sale opens: hot event, 4 tickets, fast but human. */
  'on-sale family'(rng) {
    const buyer = anyBuyer(rng, 0.35);
    const hour = rng.chance(0.15) ? 2 : 1;
    return {
      ...history(buyer),
      ...order(4, charged(4, rng.logNormal(9_000, 0.5)), 4, Math.max(100, demand(rng, true))),
      ...velocity(buyer, hour, hour + rng.poisson(0.1), hour + rng.poisson(0.4)),
      ...network(rng.chance(0.2) ? 2 : 1, rng.int(1, 3)),
      ...card(hour, rng.chance(0.15) ? 2 : 1),
      ...device(rng, buyer, 0.95, 0.1, Number(rng.pick({ 1: 0.8, 2: 0.15, 3: 0.05 }))),
      ...sessionSignal(humanSession(rng, true), rng),
      resaleMarkup: 0,
      hourOfDay: hourOfDay(rng, 0.05),
    };
  },

  /** An office buying for clients: large orders, several a day, one stable device, a shared card. */
  corporate(rng) {
    const buyer = { ...establishedBuyer(rng, 10), averageAmount: Math.round(rng.logNormal(150_000, 0.5)) };
    const tickets = rng.int(2, 4);
    const hour = 1 + (rng.chance(0.3) ? rng.int(1, 2) : 0);
    const day = hour + rng.int(1, 5);
    return {
      ...history(buyer),
      ...order(tickets, Math.round(buyer.averageAmount * rng.logNormal(1, 0.5)), tickets, demand(rng, rng.chance(0.1))),
      ...velocity(buyer, hour, day, day + rng.int(2, 15)),
      ...network(1, hour + rng.poisson(2)),
      ...card(day + rng.poisson(1), Number(rng.pick({ 1: 0.5, 2: 0.3, 3: 0.2 }))),
      ...device(rng, buyer, 1, 0.05, rng.int(1, 2)),
      ...sessionSignal('desktop', rng),
      resaleMarkup: 0,
      hourOfDay: hourOfDay(rng, 0),
    };
  },

  /** A long-standing customer buying from a phone the platform has never seen. */
  'new phone'(rng) {
    const buyer = establishedBuyer(rng, 3);
    const tickets = rng.int(1, 4);
    const amount = charged(tickets, ticketPrice(rng, buyer)) * (rng.chance(0.1) ? rng.uniform(2, 4) : 1);
    return {
      ...history(buyer),
      ...order(tickets, Math.round(amount), tickets, demand(rng, rng.chance(0.1))),
      ...velocity(buyer, 1, 1 + rng.poisson(0.1), 1 + rng.poisson(0.4)),
      ...network(1, 1 + rng.poisson(0.3)),
      ...card(1, 1),
      ...device(rng, buyer, 1, 1, Number(rng.pick({ 1: 0.9, 2: 0.1 }))),
      ...sessionSignal(rng.chance(0.95) ? 'phone' : 'none', rng),
      resaleMarkup: fanResale(rng),
      hourOfDay: hourOfDay(rng, 0.1),
    };
  },

  /** A regular who, once, spends several times the usual: a festival, a box for friends. */
  'big night out'(rng) {
    const buyer = establishedBuyer(rng, 3);
    const tickets = rng.int(2, 4);
    return {
      ...history(buyer),
      ...order(tickets, Math.round(buyer.averageAmount * rng.uniform(4, 12)), tickets, demand(rng, rng.chance(0.2))),
      ...velocity(buyer, 1, 1, 1 + rng.poisson(0.3)),
      ...network(1, 1 + rng.poisson(0.2)),
      ...card(1, Number(rng.pick({ 1: 0.85, 2: 0.15 }))),
      ...device(rng, buyer, 0.95, 0.05, Number(rng.pick({ 1: 0.85, 2: 0.15 }))),
      ...sessionSignal(humanSession(rng), rng),
      resaleMarkup: fanResale(rng),
      hourOfDay: hourOfDay(rng, 0.1),
    };
  },

  /** Stolen card numbers tried on cheap tickets, fast, from fresh accounts sharing the cards. */
  'card testing'(rng) {
    const buyer = rng.chance(0.8) ? NEW_BUYER : { purchaseCount: rng.int(1, 2), accountAgeDays: rng.int(0, 3), averageAmount: Math.round(rng.logNormal(500, 0.5)), devices: 1 };
    const hour = rng.int(1, 3);
    const ipMinute = rng.int(1, 12);
    return {
      ...history(buyer),
      ...order(1, Math.max(100, Math.round(rng.logNormal(500, 0.6))), 1, demand(rng, false)),
      ...velocity(buyer, hour, hour + rng.poisson(1), hour + rng.poisson(2)),
      ...network(ipMinute, ipMinute + rng.int(2, 60)),
      ...card(rng.int(3, 30), rng.int(2, 8)),
      ...device(rng, buyer, 0.7, 1, rng.int(1, 10)),
      ...sessionSignal(rng.chance(0.6) ? botSession(rng) : humanSession(rng), rng),
      resaleMarkup: 0,
      hourOfDay: hourOfDay(rng, 0.5),
    };
  },

  /** Card testing kept under every velocity limit: a few small charges a day, aged or fresh accounts. */
  'slow card testing'(rng) {
    const aged = rng.chance(0.5);
    const buyer = aged ? { ...establishedBuyer(rng), accountAgeDays: Math.max(7, Math.round(rng.logNormal(120, 1))) } : NEW_BUYER;
    const day = rng.int(1, 2);
    return {
      ...history(buyer),
      ...order(1, Math.max(100, Math.round(rng.logNormal(700, 0.5))), 1, demand(rng, false)),
      ...velocity(buyer, 1, day, day + rng.poisson(1)),
      ...network(1, 1 + rng.poisson(1)),
      ...card(rng.int(2, 8), rng.int(1, 3)),
      ...device(rng, buyer, 0.85, 0.5, rng.int(1, 2)),
      ...sessionSignal(rng.chance(0.8) ? humanSession(rng) : 'none', rng),
      resaleMarkup: 0,
      hourOfDay: hourOfDay(rng, 0.4),
    };
  },

  /** Young accounts run from a handful of devices, each taking its per-event limit of a hot event. */
  'account farm'(rng) {
    const buyer = rng.chance(0.5) ? NEW_BUYER : { purchaseCount: rng.int(1, 3), accountAgeDays: rng.int(1, 30), averageAmount: Math.round(rng.logNormal(30_000, 0.4)), devices: 1 };
    const ipMinute = rng.int(1, 6);
    return {
      ...history(buyer),
      ...order(4, charged(4, rng.logNormal(9_000, 0.4)), 4, demand(rng, true)),
      ...velocity(buyer, 1, 1 + rng.poisson(0.5), 1 + rng.poisson(1.5)),
      ...network(ipMinute, ipMinute + rng.int(4, 40)),
      ...card(rng.int(1, 8), rng.int(1, 5)),
      ...device(rng, buyer, 0.9, 0.5, rng.int(4, 25)),
      ...sessionSignal(rng.chance(0.5) ? humanSession(rng, true) : 'evasive', rng),
      resaleMarkup: 0,
      hourOfDay: hourOfDay(rng, 0.2),
    };
  },

  /** One account buying a hot event again and again to resell. */
  'scalper burst'(rng) {
    const hour = rng.int(2, 10);
    const day = hour + rng.int(0, 15);
    const week = day + rng.int(0, 30);
    const buyer = { ...establishedBuyer(rng), purchaseCount: week - 1 + rng.poisson(10), averageAmount: Math.round(rng.logNormal(40_000, 0.4)) };
    const tickets = rng.int(2, 4);
    const ipMinute = rng.int(1, 4);
    return {
      ...history(buyer),
      ...order(tickets, charged(tickets, rng.logNormal(12_000, 0.5)), tickets + rng.int(0, 6), demand(rng, true)),
      ...velocity(buyer, hour, day, week),
      ...network(ipMinute, hour + rng.int(0, 20)),
      ...card(day, rng.int(1, 2)),
      ...device(rng, buyer, 0.9, 0.2, rng.int(1, 5)),
      ...sessionSignal(rng.chance(0.6) ? humanSession(rng, true) : botSession(rng), rng),
      resaleMarkup: 0,
      hourOfDay: hourOfDay(rng, 0.2),
    };
  },

  /** Automated checkout, from headless browsers to bots that replay human-looking sessions. */
  bot(rng) {
    const buyer = rng.chance(0.7) ? NEW_BUYER : { purchaseCount: rng.int(1, 2), accountAgeDays: rng.int(0, 10), averageAmount: Math.round(rng.logNormal(20_000, 0.5)), devices: 1 };
    const hour = rng.int(1, 3);
    const ipMinute = rng.int(1, 20);
    return {
      ...history(buyer),
      ...order(4, charged(4, rng.logNormal(9_000, 0.5)), 4, demand(rng, rng.chance(0.7))),
      ...velocity(buyer, hour, hour + rng.poisson(0.5), hour + rng.poisson(1)),
      ...network(ipMinute, ipMinute + rng.int(0, 80)),
      ...card(rng.int(1, 4), rng.int(1, 3)),
      ...device(rng, buyer, 0.6, 1, rng.int(1, 8)),
      ...sessionSignal(botSession(rng), rng),
      resaleMarkup: 0,
      hourOfDay: hourOfDay(rng, 0.4),
    };
  },

  /** A stolen card used once: on a taken-over account at an unusual amount, or on a fresh one. */
  'stolen card'(rng) {
    const takeover = rng.chance(0.5);
    const buyer = takeover ? establishedBuyer(rng, 3) : NEW_BUYER;
    const tickets = rng.int(2, 4);
    const amount = takeover ? buyer.averageAmount * rng.uniform(2, 15) : charged(tickets, rng.logNormal(12_000, 0.6));
    return {
      ...history(buyer),
      ...order(tickets, Math.round(amount), tickets, demand(rng, rng.chance(0.3))),
      ...velocity(buyer, 1, 1, 1 + rng.poisson(0.3)),
      ...network(1, 1 + rng.poisson(0.3)),
      ...card(1, 1),
      ...device(rng, buyer, 0.85, 0.7, 1),
      ...sessionSignal(rng.chance(0.85) ? humanSession(rng) : 'none', rng),
      // Resale tickets for a sold-out show sell on quickest.
      resaleMarkup: rng.chance(0.4) ? rng.uniform(0.3, 1) : 0,
      hourOfDay: hourOfDay(rng, 0.4),
    };
  },
};

function order(ticketCount: number, amount: number, eventTicketsByUser: number, eventPurchasesTenMinutes: number) {
  return { ticketCount, amount, eventTicketsByUser, eventPurchasesTenMinutes };
}

const card = (cardPurchasesDay: number, cardUsers: number) => ({ cardPurchasesDay, cardUsers });

