import { describe, expect, it } from 'vitest';
import { addressKey, botScore, DEFAULT_RISK_THRESHOLDS, riskVerdict, scalperScore, type RiskFeatures } from '../../src/domain/risk.js';

const ordinary: RiskFeatures = {
  amount: 11_765,
  ticketCount: 1,
  userAverageAmount: 12_000,
  userPurchaseCount: 4,
  accountAgeDays: 200,
  userPurchasesHour: 1,
  userPurchasesDay: 1,
  userPurchasesWeek: 2,
  ipPurchasesMinute: 1,
  ipPurchasesHour: 1,
  cardPurchasesDay: 1,
  cardUsers: 1,
  eventTicketsByUser: 1,
  eventPurchasesTenMinutes: 3,
  hasDevice: true,
  newDevice: false,
  deviceUsers: 1,
  userDevices: 1,
  botScore: 0.1,
  hasSession: true,
  resaleMarkup: 0,
  hourOfDay: 20,
};
const noLists = { blocked: [], allowed: [] };

describe('the risk verdict (seed 003 numbers)', () => {
  it('approves an ordinary purchase on a low model score', () => {
    expect(riskVerdict(ordinary, noLists, 0.02)).toMatchObject({ decision: 'approve', level: 'VERY_LOW', score: 2 });
  });

  it.each([
    ['the 6th purchase by a user in an hour', { userPurchasesHour: 6 }, 'velocity_user_hour', 'VELOCITY_LIMIT_EXCEEDED'],
    ['the 21st in a day', { userPurchasesDay: 21 }, 'velocity_user_day', 'VELOCITY_LIMIT_EXCEEDED'],
    ['the 51st in a week', { userPurchasesWeek: 51 }, 'velocity_user_week', 'VELOCITY_LIMIT_EXCEEDED'],
    ['the 11th from one address in a minute', { ipPurchasesMinute: 11 }, 'velocity_ip_minute', 'VELOCITY_LIMIT_EXCEEDED'],
    ['the 51st from one address in an hour', { ipPurchasesHour: 51 }, 'velocity_ip_hour', 'VELOCITY_LIMIT_EXCEEDED'],
    ['the 11th on one card in a day', { cardPurchasesDay: 11 }, 'velocity_card_day', 'VELOCITY_LIMIT_EXCEEDED'],
    ['the 4th user on one card', { cardUsers: 4 }, 'card_users', 'FRAUD_DETECTED'],
    ['the 5th ticket to one event', { eventTicketsByUser: 5 }, 'event_ticket_limit', 'PURCHASE_LIMIT_EXCEEDED'],
    ['a bot score over 0.7', { botScore: 0.71 }, 'bot', 'BOT_DETECTED'],
  ])('declines %s', (_, change, rule, code) => {
    const verdict = riskVerdict({ ...ordinary, ...change }, noLists, 0.01);
    expect(verdict).toMatchObject({ decision: 'decline', declineCode: code });
    expect(verdict.rules.map((r) => r.rule)).toContain(rule);
  });

  it('lets through exactly the limit: the 5th purchase in an hour, the 3rd user on a card, the 4th ticket', () => {
    expect(riskVerdict({ ...ordinary, userPurchasesHour: 5, cardUsers: 3, eventTicketsByUser: 4 }, noLists, 0.01).decision).not.toBe('decline');
  });

  it('declines anything on a block list, whatever the score', () => {
    expect(riskVerdict(ordinary, { blocked: ['card'], allowed: [] }, 0)).toMatchObject({ decision: 'decline', declineCode: 'FRAUD_DETECTED', score: 100 });
  });

  it('approves an allow-listed buyer past the velocity limits but not past the per-event cap', () => {
    const allowed = { blocked: [], allowed: ['user' as const] };
    expect(riskVerdict({ ...ordinary, userPurchasesHour: 40 }, allowed, 0.9).decision).toBe('approve');
    expect(riskVerdict({ ...ordinary, eventTicketsByUser: 5 }, allowed, 0)).toMatchObject({ decision: 'decline', declineCode: 'PURCHASE_LIMIT_EXCEEDED' });
  });

  it('still refuses an allow-listed buyer that is a bot, or whose card too many users share', () => {
    const allowed = { blocked: [], allowed: ['user' as const] };
    expect(riskVerdict({ ...ordinary, botScore: 0.99 }, allowed, 0)).toMatchObject({ decision: 'decline', declineCode: 'BOT_DETECTED' });
    expect(riskVerdict({ ...ordinary, cardUsers: 4 }, allowed, 0)).toMatchObject({ decision: 'decline', declineCode: 'FRAUD_DETECTED' });
  });

  it('ignores an allow entry for a device or an address: the client names those', () => {
    const verdict = riskVerdict({ ...ordinary, userPurchasesHour: 6 }, { blocked: [], allowed: ['device', 'ip'] }, 0.01);
    expect(verdict).toMatchObject({ decision: 'decline', declineCode: 'VELOCITY_LIMIT_EXCEEDED' });
  });

  it('challenges, holds for review and declines as the score crosses 50, 70 and 90', () => {
    expect(riskVerdict(ordinary, noLists, 0.55).decision).toBe('challenge');
    expect(riskVerdict(ordinary, noLists, 0.75).decision).toBe('review');
    expect(riskVerdict(ordinary, noLists, 0.95)).toMatchObject({ decision: 'decline', declineCode: 'FRAUD_DETECTED' });
  });

  /** A regular spending eight times the usual on a festival, from a phone not seen before. */
  const bigNightOut: RiskFeatures = { ...ordinary, amount: 8 * 14_000, ticketCount: 4, eventTicketsByUser: 4, userAverageAmount: 14_000, newDevice: true, userDevices: 2 };

  it('scores with the model alone: the rules that fired explain the score at 0 points, they do not add to it', () => {
    const verdict = riskVerdict(bigNightOut, noLists, 0.62);
    expect(verdict).toMatchObject({ score: 62, decision: 'challenge', modelScore: 0.62 });
    expect(verdict.rules.map((r) => [r.rule, r.points])).toEqual([
      ['amount_large', 0],
      ['amount_unusual', 0],
      ['device_new', 0],
    ]);
  });

  it('does not decline a big night out the model finds suspect: its amount and new device are already in the probability', () => {
    // Adding the rules' 30 points to the model's 70 declined it (score 100) before.
    expect(riskVerdict(bigNightOut, noLists, 0.7)).toMatchObject({ score: 70, decision: 'review' });
    expect(riskVerdict(bigNightOut, noLists, 0.2)).toMatchObject({ score: 20, decision: 'approve' });
  });

  it('without a model (a model score of 0, the rules alone) scores the points of the rules that fired', () => {
    expect(riskVerdict(bigNightOut, noLists, 0)).toMatchObject({ score: 30, decision: 'approve', rules: [{ points: 10 }, { points: 15 }, { points: 5 }] });
    const farm = riskVerdict({ ...bigNightOut, deviceUsers: 5, userPurchasesHour: 4, eventPurchasesTenMinutes: 400, newDevice: false }, noLists, 0);
    expect(farm.rules.map((r) => r.rule)).toEqual(['amount_large', 'amount_unusual', 'device_shared', 'scalper']);
    expect(farm).toMatchObject({ score: 80, decision: 'review' });
  });

  it('holds a device shared by more users than the limit for review at least, whatever the model says', () => {
    const farm = riskVerdict({ ...ordinary, deviceUsers: 6 }, noLists, 0.12);
    expect(farm.rules.map((r) => r.rule)).toContain('device_shared');
    expect(farm).toMatchObject({ score: 12, level: 'VERY_LOW', decision: 'review' });
    expect(riskVerdict({ ...ordinary, deviceUsers: 6 }, noLists, 0.93).decision).toBe('decline');
    expect(riskVerdict({ ...ordinary, deviceUsers: 3 }, noLists, 0.12).decision).toBe('approve');
    // Review, not a decline, where a venue's review and decline thresholds meet.
    expect(riskVerdict({ ...ordinary, deviceUsers: 6 }, noLists, 0.12, { ...DEFAULT_RISK_THRESHOLDS, reviewAt: 100, declineAt: 100 }).decision).toBe('review');
  });

  it('obeys thresholds set for a venue or event', () => {
    expect(riskVerdict({ ...ordinary, eventTicketsByUser: 8 }, noLists, 0, { ...DEFAULT_RISK_THRESHOLDS, ticketsPerEventPerUser: 8 }).decision).toBe('approve');
  });
});

describe('the scalper score (>0.7 = scalper)', () => {
  it('is low for a fan buying the limit the moment an on-sale opens', () => {
    expect(scalperScore({ ...ordinary, eventPurchasesTenMinutes: 5_000, eventTicketsByUser: 4, ticketCount: 4 })).toBeLessThan(0.3);
  });

  it('is high for bursts from a device shared by several accounts on a hot event', () => {
    expect(scalperScore({ ...ordinary, userPurchasesHour: 5, deviceUsers: 4, eventPurchasesTenMinutes: 500 })).toBeGreaterThan(0.7);
  });
});

describe('the bot score (>0.7 = bot)', () => {
  it('is 0.5, unknown, without session data', () => {
    expect(botScore(undefined)).toBe(0.5);
  });

  it('is high for an automation flag or a headless browser', () => {
    expect(botScore({ browserFeatures: { webdriver: true } })).toBeGreaterThan(0.9);
    expect(botScore({ browserFeatures: { userAgent: 'Mozilla/5.0 HeadlessChrome/120' } })).toBeGreaterThan(0.9);
  });

  it('is high for metronome timing along a ruler-straight line, completed in under a second', () => {
    const actions = Array.from({ length: 10 }, (_, i) => ({ type: 'mousemove', t: i * 50, x: i * 30, y: i * 15 }));
    expect(botScore({ actions })).toBeGreaterThan(0.7);
  });

  it('is low for a person: a wandering pointer, uneven pauses, seconds to check out', () => {
    const actions = Array.from({ length: 12 }, (_, i) => ({ type: i % 4 === 3 ? 'click' : 'mousemove', t: 400 + i * 350 + ((i * 137) % 260), x: 100 + i * 23 + ((i * 53) % 40), y: 200 + ((i * 71) % 90) }));
    expect(botScore({ actions, browserFeatures: { languages: 2, plugins: 3 } })).toBeLessThan(0.4);
  });

  describe('on a touch screen (browserFeatures.touch)', () => {
    const phone = { userAgent: 'Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile', plugins: 0, languages: 2, screenWidth: 412, screenHeight: 915 };
    const taps = (...at: number[]) => at.map((t) => ({ type: 'click', t, x: 200, y: 700 + t / 100 }));

    it('is low for a person paying a saved card with two quick taps (under 1.5 s): not a bot', () => {
      const session = { actions: taps(2_300, 3_100), browserFeatures: { ...phone, touch: true } };
      expect(botScore(session)).toBeLessThan(0.5);
      expect(riskVerdict({ ...ordinary, botScore: botScore(session) }, noLists, 0.02).decision).toBe('approve');
    });

    it('is low for a phone checkout of taps without any pointer movement', () => {
      expect(botScore({ actions: taps(500, 1_900, 2_600, 4_800, 6_100, 7_000), browserFeatures: { ...phone, touch: true } })).toBeLessThan(0.2);
    });

    it('still scores the same taps as a bot without the touch signal: a click with no pointer is suspicious on a desktop', () => {
      expect(botScore({ actions: taps(2_300, 3_100), browserFeatures: phone })).toBeGreaterThan(0.7);
    });

    it('is raised by taps faster than a thumb moves between buttons, metronome taps, or no tap at all', () => {
      const touch = { ...phone, touch: true };
      expect(botScore({ actions: taps(0, 90, 210, 280), browserFeatures: touch })).toBeGreaterThanOrEqual(0.35);
      expect(botScore({ actions: taps(0, 500, 1_000, 1_500, 2_000, 2_500), browserFeatures: touch })).toBeGreaterThanOrEqual(0.45);
      expect(botScore({ actions: [], browserFeatures: touch })).toBeGreaterThanOrEqual(0.4);
    });
  });
});

describe('the key an address is counted under', () => {
  it('keeps IPv4, unwraps IPv4-mapped IPv6, and counts IPv6 by its /64', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:DB8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});
