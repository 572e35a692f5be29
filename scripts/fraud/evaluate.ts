/** The held-out figures: ranking quality (AUC) and what the decline threshold does. */
import { riskVerdict, type RiskFeatures } from '../../src/domain/risk.js';
import type { LabelledPurchase, Pattern } from './generate.js';

export interface Confusion {
  /** Fraud declined. */
  readonly truePositives: number;
  /** Legitimate purchases declined. */
  readonly falsePositives: number;
  readonly trueNegatives: number;
  /** Fraud let through (approved, challenged or held for review). */
  readonly falseNegatives: number;
}

export interface DeclineFigures {
  /** AUC of the verdict's 0-100 score. */
  readonly scoreAuc: number;
  readonly precision: number;
  readonly recall: number;
  readonly falsePositiveRate: number;
  readonly confusion: Confusion;
  /** Share of each pattern's purchases declined. */
  readonly declinedByPattern: Readonly<Partial<Record<Pattern, number>>>;
}

const NO_LISTS = { blocked: [], allowed: [] } as const;

/**
 * The decision with the default thresholds and no list hits, given the model's probability for
 * each purchase (a constant 0 for the rules alone).
 */
export function declineFigures(rows: readonly LabelledPurchase[], modelScore: (f: RiskFeatures) => number): DeclineFigures {
  const verdicts = rows.map((row) => riskVerdict(row.features, NO_LISTS, modelScore(row.features)));
  const declined = verdicts.map((verdict) => verdict.decision === 'decline');
  const confusion = confusionOf(declined, rows);
  const { truePositives: tp, falsePositives: fp, trueNegatives: tn, falseNegatives: fn } = confusion;
  return {
    scoreAuc: auc(
      verdicts.map((verdict) => verdict.score),
      rows.map((row) => row.fraud),
    ),
    precision: tp + fp > 0 ? tp / (tp + fp) : 0,
    recall: tp / Math.max(1, tp + fn),
    falsePositiveRate: fp / Math.max(1, fp + tn),
    confusion,
    declinedByPattern: shareByPattern(rows, declined),
  };
}

function confusionOf(declined: readonly boolean[], rows: readonly LabelledPurchase[]): Confusion {
  const count = (fraud: boolean, decline: boolean) => rows.filter((row, i) => row.fraud === fraud && declined[i] === decline).length;
  return { truePositives: count(true, true), falsePositives: count(false, true), trueNegatives: count(false, false), falseNegatives: count(true, false) };
}

function shareByPattern(rows: readonly LabelledPurchase[], declined: readonly boolean[]): Partial<Record<Pattern, number>> {
  const tally = new Map<Pattern, { all: number; declined: number }>();
  rows.forEach((row, i) => {
    const t = tally.get(row.pattern) ?? { all: 0, declined: 0 };
    tally.set(row.pattern, { all: t.all + 1, declined: t.declined + (declined[i] ? 1 : 0) });
  });
  return Object.fromEntries([...tally].map(([pattern, t]) => [pattern, t.declined / t.all]));
}

/**
 * Area under the ROC curve: the chance a random fraud scores above a random legitimate
 * purchase, ties counting half (the Mann-Whitney statistic, from average ranks).
 */
export function auc(scores: readonly number[], positive: readonly boolean[]): number {
  const order = scores.map((score, i) => ({ score, positive: positive[i]! })).sort((a, b) => a.score - b.score);
  let rankSum = 0;
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end < order.length && order[end]!.score === order[start]!.score) end++;
    const averageRank = (start + 1 + end) / 2;
    for (let i = start; i < end; i++) if (order[i]!.positive) rankSum += averageRank;
    start = end;
  }
  const positives = order.filter((row) => row.positive).length;
  const negatives = order.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
