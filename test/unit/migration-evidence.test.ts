import { describe, expect, it } from 'vitest';
import { parseEvidence } from '../../src/migration/index.js';
import { configIssues } from '../support/config-issues.js';

const report = {
  format: 'prio-shadow-report/1',
  totals: { read: 12, quarantined: 2, compared: 10 },
  outcomes: { same: 7, changed: 3, baselineError: 0, candidateError: 0, bothError: 0 },
  breakdowns: {},
};


describe('gate evidence', () => {
  it('takes the summary and a verdict carried in the report', () => {
    const e = parseEvidence({ report: { ...report, verdict: { passed: false, failures: [{ threshold: 'maxChangedShare', measured: 0.3, limit: 0.05 }] } }, reportFile: 'r.json', alarms: { a: 'OK' } });
    expect(e).toEqual({
      source: 'r.json',
      totals: report.totals,
      outcomes: report.outcomes,
      verdict: { passed: false, failures: [{ threshold: 'maxChangedShare', measured: 0.3, limit: 0.05 }] },
      alarms: { a: 'OK' },
    });
  });

  it("accepts the shadow gate command's output ({passed, checks, failed}), bare or wrapped", () => {
    const verdict = { passed: false, checks: [], failed: [{ threshold: 'minFidelity', limit: 0.99, measured: null, passed: false, detail: 'x' }] };
    for (const doc of [verdict, { gate: verdict, totals: report.totals }]) {
      const e = parseEvidence({ report, reportFile: 'r.json', verdict: doc, verdictFile: 'g.json', alarms: {} });
      expect(e.verdict).toEqual({ passed: false, failures: [{ threshold: 'minFidelity', limit: 0.99, measured: null }] });
    }
  });

  it('reports a malformed report or verdict with file and pointer', () => {
    expect(configIssues(() => parseEvidence({ report: { ...report, totals: { read: -1, quarantined: 0, compared: 0 } }, reportFile: 'r.json', alarms: {} }))).toContainEqual({
      file: 'r.json',
      pointer: '/totals/read',
      message: 'must be >= 0',
    });
    expect(configIssues(() => parseEvidence({ report, reportFile: 'r.json', alarms: {} }))[0]?.message).toContain('no gate verdict');
    expect(configIssues(() => parseEvidence({ report: { ...report, gate: { passed: 'yes', failures: [] } }, reportFile: 'r.json', alarms: {} }))[0]).toMatchObject({ pointer: '/gate/passed' });
  });
});
