// The package ships no types; these cover what scripts/fraud/fit.ts uses of its 2.0.0 API.
declare module 'ml-logistic-regression' {
  import type { Matrix } from 'ml-matrix';

  /** One yes/no classifier: gradient ascent on the log-likelihood, weights a 1 x columns row. */
  interface TwoClassLogisticRegression {
    weights: Matrix | null;
    train(features: Matrix, target: Matrix): void;
    testScores(features: Matrix): number[];
  }

  interface Options {
    numSteps?: number;
    learningRate?: number;
  }

  /** One-vs-all over the classes in Y: one TwoClassLogisticRegression per class. */
  export default class LogisticRegression {
    constructor(options?: Options);
    classifiers: TwoClassLogisticRegression[];
    numberClasses: number;
    train(features: Matrix, classes: Matrix): void;
    predict(features: Matrix): number[];
    static load(model: Options & { name: 'LogisticRegression'; numberClasses: number; classifiers: Options[] }): LogisticRegression;
  }
}
