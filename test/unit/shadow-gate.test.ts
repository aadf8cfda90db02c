import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PACKAGE_ROOT, readJsonFile } from '../../src/config/index.js';
import { evaluateGate, parseGate } from '../../src/shadow/index.js';
import { ConfigError } from '../../src/validation/index.js';
import { aggregateOf, generatedLines, record, reportOf } from '../fixtures/shadow/harness.js';

const clean = reportOf(aggregateOf(generatedLines(400, 21)).agg);

describe('gate', () => {
  it('the default gate parses and passes a clean generated log', () => {
    const file = join(PACKAGE_ROOT, 'shadow', 'gates', 'default.json');
    const verdict = evaluateGate(clean, parseGate(readJsonFile(file), file));
    expect(verdict.failed).toEqual([]);
    expect(verdict.passed).toBe(true);
    expect(verdict.checks.length).toBeGreaterThan(5);
  });

  it('lists each failed threshold with its measured value', () => {
    const verdict = evaluateGate(clean, { maxChangedShare: 0.01, maxDowngrades: { P100: 0 }, maxCandidateErrors: 0, minCompared: 1 });
    expect(verdict.passed).toBe(false);
    const failed = Object.fromEntries(verdict.failed.map((c) => [c.threshold, c]));
    expect(Object.keys(failed).sort()).toEqual(['maxChangedShare', 'maxDowngrades.P100']);
    expect(failed.maxChangedShare?.measured).toBe(clean.shares.changed);
    expect(failed.maxChangedShare?.detail).toMatch(/changed share of compared records: \d+\.\d\d% \(limit 1\.00%\)/);
    expect(failed['maxDowngrades.P100']?.measured).toBe(clean.downgradesByTier.P100);
  });

  it('"*" covers tiers not named; a named tier wins', () => {
    const verdict = evaluateGate(clean, { maxDowngradeShare: { '*': 0, P100: 1 } });
    const names = verdict.failed.map((c) => c.threshold);
    expect(names).not.toContain('maxDowngradeShare.P100');
    expect(names).toContain('maxDowngradeShare.P50');
  });

  it('an unverified baseline fails minFidelity unless explicitly allowed', () => {
    const unchecked = reportOf(aggregateOf([JSON.stringify(record())]).agg);
    expect(evaluateGate(unchecked, { minFidelity: 0.99 }).failed[0]).toMatchObject({ threshold: 'minFidelity', measured: null });
    expect(evaluateGate(unchecked, { minFidelity: 0.99, allowUncheckedFidelity: true }).passed).toBe(true);
  });

  it('fails on drift below the fidelity floor and on token mismatches', () => {
    const drifted = reportOf(aggregateOf(generatedLines(300, 8, 0.1)).agg);
    const verdict = evaluateGate(drifted, { minFidelity: 0.999 });
    expect(verdict.failed[0]?.threshold).toBe('minFidelity');
    expect(verdict.failed[0]?.measured).toBeLessThan(0.999);
  });

  it('rejects a malformed gate file with a pointer to the problem', () => {
    expect(() => parseGate({ maxChangedShare: 2, maxDowngrades: { GOLD: 1 }, surprise: true }, 'g.json')).toThrow(ConfigError);
    try {
      parseGate({ maxChangedShare: 2 }, 'g.json');
    } catch (err) {
      expect((err as ConfigError).issues[0]).toMatchObject({ file: 'g.json', pointer: '/maxChangedShare' });
    }
  });
});
