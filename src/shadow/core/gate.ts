/**
 * The gate: turns a shadow report into the go/no-go a rollout obeys. A gate file
 * (shadow/schema/gate.schema.json) lists thresholds; each present threshold becomes one check
 * with its limit and its measured value, so a failed gate says exactly what failed and by how
 * much. Pure: the caller reads the gate file.
 */
import gateSchema from '../../../shadow/schema/gate.schema.json' with { type: 'json' };
import { ConfigError, schemaValidator } from '../../validation/index.js';
import type { ShadowReport } from './report.js';

export interface GateSpec {
  readonly description?: string;
  readonly minFidelity?: number;
  readonly allowUncheckedFidelity?: boolean;
  readonly minCompared?: number;
  readonly maxChangedShare?: number;
  readonly maxCandidateErrors?: number;
  readonly maxBothErrors?: number;
  readonly maxBaselineErrors?: number;
  readonly maxDowngrades?: Readonly<Record<string, number>>;
  readonly maxDowngradeShare?: Readonly<Record<string, number>>;
  readonly maxQuarantinedShare?: number;
  readonly maxTokenInvalidShare?: number;
  readonly maxTokenMismatches?: number;
  readonly maxSourceDamage?: number;
}

export interface GateCheck {
  /** The threshold's name, e.g. `maxDowngradeShare.P100`. */
  readonly threshold: string;
  readonly limit: number | boolean;
  /** What the report measured; null when it could not be measured (e.g. no observed outcomes). */
  readonly measured: number | null;
  readonly passed: boolean;
  /** One sentence saying what was compared. */
  readonly detail: string;
}

export interface GateVerdict {
  readonly passed: boolean;
  readonly checks: readonly GateCheck[];
  readonly failed: readonly GateCheck[];
}

const validateGate = schemaValidator(gateSchema);

/** Validates a gate document; throws {@link ConfigError} with file and JSON pointer for each problem. */
export function parseGate(doc: unknown, file: string): GateSpec {
  const issues = validateGate(doc, file);
  if (issues.length > 0) throw new ConfigError(issues);
  return doc as GateSpec;
}

function ratio(part: number, whole: number): number {
  return whole === 0 ? 0 : Math.round((part / whole) * 1e6) / 1e6;
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

export function evaluateGate(report: ShadowReport, gate: GateSpec): GateVerdict {
  const checks: GateCheck[] = [];
  const atMost = (threshold: string, limit: number, measured: number, what: string, asShare: boolean): void => {
    const show = asShare ? pct : String;
    checks.push({ threshold, limit, measured, passed: measured <= limit, detail: `${what}: ${show(measured)} (limit ${show(limit)})` });
  };

  if (gate.minFidelity !== undefined) {
    const rate = report.fidelity.rate;
    if (rate === null) {
      const passed = gate.allowUncheckedFidelity === true;
      checks.push({
        threshold: 'minFidelity',
        limit: gate.minFidelity,
        measured: null,
        passed,
        detail: `baseline fidelity: unchecked (no record has an observed outcome)${passed ? ', allowed by allowUncheckedFidelity' : ''}`,
      });
    } else {
      checks.push({
        threshold: 'minFidelity',
        limit: gate.minFidelity,
        measured: rate,
        passed: rate >= gate.minFidelity,
        detail: `baseline fidelity: ${pct(rate)} of ${report.fidelity.checked} observed records reproduced (minimum ${pct(gate.minFidelity)})`,
      });
    }
  }
  if (gate.minCompared !== undefined) {
    const n = report.totals.compared;
    checks.push({ threshold: 'minCompared', limit: gate.minCompared, measured: n, passed: n >= gate.minCompared, detail: `compared records: ${n} (minimum ${gate.minCompared})` });
  }
  if (gate.maxChangedShare !== undefined) atMost('maxChangedShare', gate.maxChangedShare, report.shares.changed, 'changed share of compared records', true);
  if (gate.maxCandidateErrors !== undefined) atMost('maxCandidateErrors', gate.maxCandidateErrors, report.outcomes.candidateError, 'records only the candidate refuses', false);
  if (gate.maxBothErrors !== undefined) atMost('maxBothErrors', gate.maxBothErrors, report.outcomes.bothError, 'records both rule sets refuse', false);
  if (gate.maxBaselineErrors !== undefined) atMost('maxBaselineErrors', gate.maxBaselineErrors, report.outcomes.baselineError, 'records only the baseline refuses', false);

  const tiers = report.confusion.labels.slice(0, -1);
  const limitFor = (map: Readonly<Record<string, number>>, tier: string): number | undefined => map[tier] ?? map['*'];
  if (gate.maxDowngrades !== undefined) {
    for (const tier of tiers) {
      const limit = limitFor(gate.maxDowngrades, tier);
      if (limit !== undefined) atMost(`maxDowngrades.${tier}`, limit, report.downgradesByTier[tier] ?? 0, `downgrades from ${tier}`, false);
    }
  }
  if (gate.maxDowngradeShare !== undefined) {
    report.confusion.matrix.forEach((row, r) => {
      const tier = tiers[r];
      if (tier === undefined) return;
      const limit = limitFor(gate.maxDowngradeShare ?? {}, tier);
      if (limit === undefined) return;
      const fromTier = row.reduce((a, b) => a + b, 0);
      // A tier the baseline never assigned cannot be downgraded from: nothing to measure.
      if (fromTier === 0) return;
      atMost(`maxDowngradeShare.${tier}`, limit, ratio(report.downgradesByTier[tier] ?? 0, fromTier), `share of ${tier} records (${fromTier}) ranked lower`, true);
    });
  }
  if (gate.maxQuarantinedShare !== undefined) {
    atMost('maxQuarantinedShare', gate.maxQuarantinedShare, ratio(report.totals.quarantined, report.totals.read), 'quarantined share of read records', true);
  }
  if (gate.maxTokenInvalidShare !== undefined) {
    const invalid = report.tokens.checked - report.tokens.valid;
    atMost('maxTokenInvalidShare', gate.maxTokenInvalidShare, ratio(invalid, report.tokens.checked), `share of ${report.tokens.checked} session tokens the dual reader rejects`, true);
  }
  if (gate.maxTokenMismatches !== undefined) {
    const mismatches = Object.values(report.tokens.mismatch).reduce((a, b) => a + b, 0);
    atMost('maxTokenMismatches', gate.maxTokenMismatches, mismatches, 'tokens the legacy and dual readers disagree on', false);
  }
  if (gate.maxSourceDamage !== undefined) {
    const d = report.damage;
    const lost = [
      d.recordsLost > 0 ? `${d.recordsLost} records known lost` : '',
      d.unknownLoss > 0 ? `${d.unknownLoss} with a loss that cannot be counted` : '',
    ].filter((x) => x !== '');
    atMost('maxSourceDamage', gate.maxSourceDamage, d.events.length, `damaged source input (cut or corrupt .gz, Kafka offset gaps${lost.length > 0 ? `; ${lost.join(', ')}` : ''})`, false);
  }
  const failed = checks.filter((c) => !c.passed);
  return { passed: failed.length === 0, checks, failed };
}
