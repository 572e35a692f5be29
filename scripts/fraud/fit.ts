/**
 * Trains a fraud model artefact (src/domain/fraud-model.ts reads it) with ml-logistic-regression:
 * the model inputs are computed and standardised by the domain module's own transform, then
 * fitted by the library's batch gradient ascent.
 */
import LogisticRegression from 'ml-logistic-regression';
import { Matrix } from 'ml-matrix';
import { fitScaling, fraudModel, modelInputs, scaleInputs, type FraudModelArtefact, type ModelInput } from '../../src/domain/fraud-model.js';
import { declineFigures } from './evaluate.js';
import type { LabelledPurchase } from './generate.js';

export interface TrainingSpec {
  readonly version: string;
  readonly trainedAt: string;
  readonly inputs: readonly ModelInput[];
  /** Gradient steps over the whole training set. */
  readonly steps: number;
  /** Step size on the mean gradient (the library sums the gradient over rows, so it is divided by the row count). */
  readonly learningRate: number;
  /** Recorded in the artefact for the reader: where the rows came from. */
  readonly data: Readonly<Record<string, unknown>>;
}

export function trainLogistic(rows: readonly LabelledPurchase[], spec: TrainingSpec): FraudModelArtefact {
  const raw = rows.map((row) => modelInputs(spec.inputs, row.features));
  const scaling = fitScaling(raw);
  // A constant last column carries the intercept: the library fits no bias of its own.
  const features = new Matrix(raw.map((row) => [...scaleInputs(row, scaling), 1]));
  const fraud = Matrix.columnVector(rows.map((row) => (row.fraud ? 1 : 0)));
  const weights = fitWeights(features, fraud, spec.steps, spec.learningRate / rows.length);
  return {
    version: spec.version,
    trainedAt: spec.trainedAt,
    algorithm: 'logistic-regression',
    inputs: spec.inputs.map((name, j) => ({ name, mean: round(scaling[j]!.mean), scale: round(scaling[j]!.scale), weight: round(weights[j]!) })),
    intercept: round(weights[spec.inputs.length]!),
    training: { library: 'ml-logistic-regression@2.0.0', steps: spec.steps, learningRate: spec.learningRate, rows: rows.length, ...spec.data },
  };
}

/**
 * The package exports only its one-vs-all wrapper, which for a yes/no label would train two
 * mirror-image classifiers; load() with one class hands back a single two-class classifier,
 * trained here on fraud = 1, so the work is done once.
 */
function fitWeights(features: Matrix, fraud: Matrix, numSteps: number, learningRate: number): number[] {
  const options = { numSteps, learningRate };
  const [classifier] = LogisticRegression.load({ name: 'LogisticRegression', ...options, numberClasses: 1, classifiers: [options] }).classifiers;
  classifier!.train(features, fraud);
  return classifier!.weights!.to1DArray();
}

/** Eight significant digits: plenty for a weight, and the artefact reads (and diffs) cleanly. */
const round = (x: number): number => Number(x.toPrecision(8));

/**
 * The operating point. risk.ts declines at a score (the model's probability as 0-100) of 90, and
 * the probability as trained, from a set rich in fraud (7%), declines a few more legitimate
 * purchases there than the rules alone do. This lowers the model's log-odds by the least shift
 * (to 0.01; none if none is needed, never a rise) with which the model and the hard limits
 * decline no more legitimate purchases of a validation set (never the held-out one) than the
 * rules alone do, and records the shift in the artefact.
 */
export function withOperatingPoint(artefact: FraudModelArtefact, validation: readonly LabelledPurchase[]): FraudModelArtefact {
  const shifted = (shift: number): FraudModelArtefact => ({ ...artefact, intercept: round(artefact.intercept + shift) });
  const falsePositiveRate = (shift: number): number => {
    const model = fraudModel(shifted(shift));
    return declineFigures(validation, (f) => model.predict(f)).falsePositiveRate;
  };
  const rulesAlone = declineFigures(validation, () => 0).falsePositiveRate;
  let [low, high] = [-10, 0];
  if (falsePositiveRate(high) <= rulesAlone) low = high;
  while (high - low > 0.01) {
    const middle = (low + high) / 2;
    if (falsePositiveRate(middle) <= rulesAlone) low = middle;
    else high = middle;
  }
  // Down to the hundredth, so the rounded shift still meets the bound.
  const shift = Math.floor(low * 100) / 100;
  return {
    ...shifted(shift),
    training: { ...artefact.training, interceptShift: shift, validationFalsePositiveRate: round(falsePositiveRate(shift)), rulesAloneValidationFalsePositiveRate: round(rulesAlone) },
  };
}
