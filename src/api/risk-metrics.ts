import { Counter, Histogram } from 'prom-client';
import type { RiskAssessment, RiskMetrics } from '../commands/risk.js';

/** The risk assessment's metrics (seed 002's `fraud_detection_latency_seconds`), unregistered until a route module registers them. */
export interface RiskMetricSet extends RiskMetrics {
  readonly all: readonly (Counter | Histogram)[];
}

export function createRiskMetrics(): RiskMetricSet {
  const latency = new Histogram({
    name: 'fraud_detection_latency_seconds',
    help: 'Time taken for fraud detection (a risk assessment, feature counting included)',
    labelNames: ['risk_level'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [],
  });
  const decisions = new Counter({ name: 'fraud_decisions_total', help: 'Risk assessments by decision', labelNames: ['decision'], registers: [] });
  const rules = new Counter({ name: 'fraud_rule_hits_total', help: 'Rules that fired in risk assessments', labelNames: ['rule'], registers: [] });
  return {
    all: [latency, decisions, rules],
    observe(assessment: RiskAssessment, seconds: number) {
      latency.observe({ risk_level: assessment.level }, seconds);
      decisions.inc({ decision: assessment.decision });
      for (const rule of assessment.rules) rules.inc({ rule: rule.rule });
    },
  };
}
