/**
 * The fraud model (issue 20): reads a trained artefact (models/fraud-v*.json) into a RiskModel.
 * The transform from a purchase's features to the model's inputs lives here, and the artefact
 * names the inputs it was trained on with their means and scales, so training
 * (scripts/fraud/train.ts) and inference compute the very same numbers.
 */
import type { RiskFeatures, RiskModel } from './risk.js';

const bit = (b: boolean): number => (b ? 1 : 0);
const hasHistory = (f: RiskFeatures): boolean => f.userPurchaseCount > 0 && f.userAverageAmount > 0;
/** How many times the user's average this order is, as a logarithm: 0 without history. */
const amountVsAverage = (f: RiskFeatures): number => (hasHistory(f) ? Math.log(Math.max(1, f.amount) / f.userAverageAmount) : 0);
/** Cheap enough to probe a card with (under $20). */
const small = (f: RiskFeatures): number => bit(f.amount < 2_000);
const hourAngle = (f: RiskFeatures): number => (2 * Math.PI * f.hourOfDay) / 24;

/**
 * Every input a model may use, each a number computed from the features alone. Counts enter as
 * logarithms (the tenth purchase says less than the second), the amount against the user's
 * average split in two (far below is card testing, far above a stolen card), the hour as a point
 * on a circle. The products at the end are conjunctions a linear model cannot form by itself.
 */
export const MODEL_INPUTS = {
  log_amount: (f) => Math.log1p(f.amount / 100),
  amount_above_average: (f) => Math.max(0, amountVsAverage(f)),
  amount_below_average: (f) => Math.max(0, -amountVsAverage(f)),
  small_amount: small,
  first_purchase: (f) => bit(f.userPurchaseCount === 0),
  log_purchase_count: (f) => Math.log1p(f.userPurchaseCount),
  log_account_age: (f) => Math.log1p(f.accountAgeDays),
  tickets: (f) => f.ticketCount,
  event_tickets: (f) => f.eventTicketsByUser,
  log_user_hour: (f) => Math.log(Math.max(1, f.userPurchasesHour)),
  log_user_day: (f) => Math.log(Math.max(1, f.userPurchasesDay)),
  log_user_week: (f) => Math.log(Math.max(1, f.userPurchasesWeek)),
  log_ip_minute: (f) => Math.log(Math.max(1, f.ipPurchasesMinute)),
  log_ip_hour: (f) => Math.log(Math.max(1, f.ipPurchasesHour)),
  log_card_day: (f) => Math.log(Math.max(1, f.cardPurchasesDay)),
  log_card_users: (f) => Math.log(Math.max(1, f.cardUsers)),
  log_event_demand: (f) => Math.log(Math.max(1, f.eventPurchasesTenMinutes)),
  no_device: (f) => bit(!f.hasDevice),
  new_device: (f) => bit(f.hasDevice && f.newDevice),
  log_device_users: (f) => (f.hasDevice ? Math.log(Math.max(1, f.deviceUsers)) : 0),
  log_user_devices: (f) => Math.log(Math.max(1, f.userDevices)),
  bot_score: (f) => f.botScore,
  no_session: (f) => bit(!f.hasSession),
  resale_markup: (f) => f.resaleMarkup,
  hour_sin: (f) => Math.sin(hourAngle(f)),
  hour_cos: (f) => Math.cos(hourAngle(f)),
  small_amount_x_card_day: (f) => small(f) * Math.log(Math.max(1, f.cardPurchasesDay)),
  new_device_x_amount_above_average: (f) => bit(f.hasDevice && f.newDevice) * Math.max(0, amountVsAverage(f)),
  first_purchase_x_log_amount: (f) => bit(f.userPurchaseCount === 0) * Math.log1p(f.amount / 100),
  shared_device_x_demand: (f) => (f.hasDevice ? Math.log(Math.max(1, f.deviceUsers)) : 0) * Math.log(Math.max(1, f.eventPurchasesTenMinutes)),
} satisfies Record<string, (f: RiskFeatures) => number>;

export type ModelInput = keyof typeof MODEL_INPUTS;

const isModelInput = (name: unknown): name is ModelInput => typeof name === 'string' && Object.hasOwn(MODEL_INPUTS, name);

/** How one input is centred and scaled before its weight applies: (x - mean) / scale. */
export interface InputScaling {
  readonly mean: number;
  readonly scale: number;
}

/** A trained logistic regression as models/ stores it. */
export interface FraudModelArtefact {
  readonly version: string;
  readonly trainedAt: string;
  readonly algorithm: 'logistic-regression';
  readonly inputs: readonly (InputScaling & { readonly name: ModelInput; readonly weight: number })[];
  readonly intercept: number;
  /** How it was trained (library, seed, rows, steps): for the reader; inference ignores it. */
  readonly training?: Readonly<Record<string, unknown>>;
}

/** The named inputs of one purchase, unscaled, in the order given. */
export function modelInputs(names: readonly ModelInput[], f: RiskFeatures): number[] {
  return names.map((name) => MODEL_INPUTS[name](f));
}

/** Each column's mean and standard deviation (1 for a constant column, which then stays 0). */
export function fitScaling(rows: readonly (readonly number[])[]): InputScaling[] {
  const columns = rows[0]?.length ?? 0;
  return Array.from({ length: columns }, (_, j) => {
    const mean = rows.reduce((sum, row) => sum + row[j]!, 0) / rows.length;
    const variance = rows.reduce((sum, row) => sum + (row[j]! - mean) ** 2, 0) / rows.length;
    return { mean, scale: variance > 0 ? Math.sqrt(variance) : 1 };
  });
}

export function scaleInputs(row: readonly number[], scaling: readonly InputScaling[]): number[] {
  return row.map((x, j) => (x - scaling[j]!.mean) / scaling[j]!.scale);
}

export const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** A RiskModel from a parsed artefact; throws on one that is malformed rather than guess. */
export function fraudModel(artefact: unknown): RiskModel {
  const valid = validArtefact(artefact);
  // Fold each input's mean and scale into its weight and the intercept: predict is then one
  // multiply-add per input.
  const terms = valid.inputs.map((input) => ({ input: MODEL_INPUTS[input.name], weight: input.weight / input.scale }));
  const intercept = valid.inputs.reduce((z, input) => z - (input.weight * input.mean) / input.scale, valid.intercept);
  return {
    version: valid.version,
    predict(features: RiskFeatures): number {
      let z = intercept;
      for (const term of terms) z += term.weight * term.input(features);
      return sigmoid(z);
    },
  };
}

function validArtefact(artefact: unknown): FraudModelArtefact {
  const fail = (why: string): never => {
    throw new Error(`fraud model artefact: ${why}`);
  };
  if (typeof artefact !== 'object' || artefact === null || Array.isArray(artefact)) return fail('not an object');
  const a = artefact as Record<string, unknown>;
  if (typeof a.version !== 'string' || a.version === '') fail('no version');
  if (typeof a.trainedAt !== 'string') fail('no trainedAt');
  if (a.algorithm !== 'logistic-regression') fail(`algorithm ${String(a.algorithm)} is not logistic-regression`);
  if (!isFiniteNumber(a.intercept)) fail('the intercept is not a finite number');
  if (!Array.isArray(a.inputs) || a.inputs.length === 0) return fail('no inputs');
  const seen = new Set<string>();
  for (const [i, input] of (a.inputs as unknown[]).entries()) {
    const at = `input ${i}`;
    if (typeof input !== 'object' || input === null) return fail(`${at} is not an object`);
    const { name, mean, scale, weight } = input as Record<string, unknown>;
    if (!isModelInput(name)) fail(`${at} names an unknown input ${String(name)}`);
    if (seen.has(name as string)) fail(`${at} repeats ${String(name)}`);
    seen.add(name as string);
    if (!isFiniteNumber(mean) || !isFiniteNumber(weight)) fail(`${at} (${String(name)}) needs a finite mean and weight`);
    if (!isFiniteNumber(scale) || scale <= 0) fail(`${at} (${String(name)}) needs a positive scale`);
  }
  return artefact as FraudModelArtefact;
}

const isFiniteNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
