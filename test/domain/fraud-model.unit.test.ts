import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fraudModel, modelInputs, scaleInputs, sigmoid, type FraudModelArtefact } from '../../src/domain/fraud-model.js';
import type { RiskFeatures } from '../../src/domain/risk.js';
import { auc } from '../../scripts/fraud/evaluate.js';
import { trainLogistic } from '../../scripts/fraud/fit.js';
import { generatePurchases } from '../../scripts/fraud/generate.js';

const artefact = (file: string): FraudModelArtefact => JSON.parse(readFileSync(new URL(`../../models/${file}`, import.meta.url), 'utf8')) as FraudModelArtefact;
const live = artefact('fraud-v1.json');

/** A regular buying two tickets from the phone they always use. */
const ordinary: RiskFeatures = {
  amount: 11_200,
  ticketCount: 2,
  userAverageAmount: 9_000,
  userPurchaseCount: 8,
  accountAgeDays: 400,
  userPurchasesHour: 1,
  userPurchasesDay: 1,
  userPurchasesWeek: 1,
  ipPurchasesMinute: 1,
  ipPurchasesHour: 1,
  cardPurchasesDay: 1,
  cardUsers: 1,
  eventTicketsByUser: 2,
  eventPurchasesTenMinutes: 5,
  hasDevice: true,
  newDevice: false,
  deviceUsers: 1,
  userDevices: 1,
  botScore: 0.35,
  hasSession: true,
  resaleMarkup: 0,
  hourOfDay: 19,
};

/** A fresh account putting a $4 ticket on a card three users have tried six times today. */
const cardTesting: RiskFeatures = {
  ...ordinary,
  amount: 400,
  ticketCount: 1,
  userAverageAmount: 0,
  userPurchaseCount: 0,
  accountAgeDays: 0,
  ipPurchasesMinute: 3,
  ipPurchasesHour: 9,
  cardPurchasesDay: 6,
  cardUsers: 3,
  eventTicketsByUser: 1,
  newDevice: true,
  deviceUsers: 3,
  botScore: 0.55,
  hourOfDay: 3,
};

describe('The fraud model artefacts', () => {
  it.each(['fraud-v1.json', 'fraud-v2.json'])('%s loads and predicts a probability between 0 and 1 for any purchase', (file) => {
    const model = fraudModel(artefact(file));
    expect(model.version).toBe(file.replace('.json', ''));
    for (const { features } of generatePurchases(11, 2_000)) {
      const p = model.predict(features);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(1);
    }
  });

  it('refuses a malformed artefact, saying what is wrong', () => {
    const input = live.inputs[0]!;
    expect(() => fraudModel(null)).toThrow(/fraud model artefact: not an object/);
    expect(() => fraudModel({ ...live, version: '' })).toThrow(/no version/);
    expect(() => fraudModel({ ...live, algorithm: 'gradient-boosting' })).toThrow(/algorithm gradient-boosting/);
    expect(() => fraudModel({ ...live, intercept: 'NaN' })).toThrow(/intercept/);
    expect(() => fraudModel({ ...live, inputs: [] })).toThrow(/no inputs/);
    expect(() => fraudModel({ ...live, inputs: [{ ...input, name: 'shoe_size' }] })).toThrow(/unknown input shoe_size/);
    expect(() => fraudModel({ ...live, inputs: [input, input] })).toThrow(/repeats/);
    expect(() => fraudModel({ ...live, inputs: [{ ...input, scale: 0 }] })).toThrow(/positive scale/);
    expect(() => fraudModel({ ...live, inputs: [{ ...input, weight: Infinity }] })).toThrow(/finite mean and weight/);
  });

  it('predicts the sigmoid of the standardised inputs times their weights, as trained', () => {
    const names = live.inputs.map((input) => input.name);
    const scaled = scaleInputs(modelInputs(names, cardTesting), live.inputs);
    const z = scaled.reduce((sum, x, j) => sum + x * live.inputs[j]!.weight, live.intercept);
    expect(fraudModel(live).predict(cardTesting)).toBeCloseTo(sigmoid(z), 12);
  });

  it('scores a card-testing purchase far above an ordinary one', () => {
    const model = fraudModel(live);
    expect(model.predict(ordinary)).toBeLessThan(0.05);
    expect(model.predict(cardTesting)).toBeGreaterThan(10 * model.predict(ordinary));
  });

  it('predicts the same probability for the same purchase, every time and from every copy', () => {
    const [a, b] = [fraudModel(live), fraudModel(structuredClone(live))];
    const first = a.predict(cardTesting);
    expect(a.predict(cardTesting)).toBe(first);
    expect(b.predict(cardTesting)).toBe(first);
  });

  it('predicts in well under a tenth of a millisecond', () => {
    const model = fraudModel(live);
    const rows = generatePurchases(12, 5_000).map((row) => row.features);
    const started = performance.now();
    for (let round = 0; round < 4; round++) for (const features of rows) model.predict(features);
    expect((performance.now() - started) / (4 * rows.length)).toBeLessThan(0.02);
  });
});

describe('The synthetic purchases', () => {
  it('are the same for the same seed and differ for another', () => {
    expect(generatePurchases(5, 300)).toEqual(generatePurchases(5, 300));
    expect(generatePurchases(6, 300)).not.toEqual(generatePurchases(5, 300));
  });

  it('hold between 5% and 10% fraud, every pattern, and counts that include the purchase itself', () => {
    const rows = generatePurchases(7, 20_000);
    const fraudShare = rows.filter((row) => row.fraud).length / rows.length;
    expect(fraudShare).toBeGreaterThan(0.05);
    expect(fraudShare).toBeLessThan(0.1);
    expect(new Set(rows.map((row) => row.pattern)).size).toBe(11);
    for (const { features: f } of rows) {
      expect(Math.min(f.userPurchasesHour, f.ipPurchasesMinute, f.cardPurchasesDay, f.cardUsers, f.eventPurchasesTenMinutes)).toBeGreaterThanOrEqual(1);
      expect(f.userPurchasesHour <= f.userPurchasesDay && f.userPurchasesDay <= f.userPurchasesWeek).toBe(true);
      expect(f.userPurchasesWeek).toBeLessThanOrEqual(f.userPurchaseCount + 1);
      expect(f.eventTicketsByUser).toBeGreaterThanOrEqual(f.ticketCount);
    }
  });
});

describe('Training', () => {
  const spec = { version: 'test', trainedAt: 'test', inputs: live.inputs.map((input) => input.name), steps: 150, learningRate: 2, data: {} };

  it('on a few thousand purchases ranks held-out fraud above legitimate purchases (AUC over 0.9)', () => {
    const model = fraudModel(trainLogistic(generatePurchases(21, 4_000), spec));
    const heldOut = generatePurchases(22, 4_000);
    const p = heldOut.map((row) => model.predict(row.features));
    expect(auc(p, heldOut.map((row) => row.fraud))).toBeGreaterThan(0.9);
  });

  it('gives the same artefact, to the byte, from the same rows', () => {
    const rows = generatePurchases(23, 1_000);
    expect(JSON.stringify(trainLogistic(rows, spec))).toBe(JSON.stringify(trainLogistic(rows, spec)));
  });
});
