import { describe, expect, it } from 'vitest';
import { overrideTable } from '../../bench/rules/override-table.js';
import { loadDomain } from '../../src/config/index.js';
import { lintRuleSetReport } from '../../src/rules/index.js';

const domain = loadDomain();

describe('lint of large rule sets', () => {
  it('compares a 20,001-rule override table pair by pair only where rules can meet', () => {
    const { findings, stats } = lintRuleSetReport(overrideTable(20_000), 'overrides.json', domain);
    expect(findings).toEqual([]);
    expect(stats.rules).toBe(20_001);
    // All pairs would be n(n-1)/2 = 200 million for shadowing and as many again for ambiguity
    // (the overrides share one precedence); each override meets only the catch-all rule.
    expect(stats.pairComparisons).toBeLessThanOrEqual(2 * stats.rules);
  });

  it('still finds the conflicts hidden in a large table', () => {
    const doc = overrideTable(10_000) as { accountOverrides: { id: string; accountId: string; then: object; when?: object }[] };
    const [first, second] = doc.accountOverrides as [(typeof doc.accountOverrides)[number], (typeof doc.accountOverrides)[number]];
    // A second, disagreeing override for the first account and a duplicate of the second one.
    doc.accountOverrides.push({ id: 'conflict', accountId: first.accountId, then: { tier: 'P5', preemptable: true } });
    doc.accountOverrides.push({ ...second, id: 'repeat' });
    const { findings, stats } = lintRuleSetReport(doc, 'overrides.json', domain);
    expect(findings.map((f) => [f.kind, f.ruleId, f.related])).toEqual([
      ['unreachable', 'repeat', [second.id]],
      ['ambiguous', 'conflict', [first.id]],
    ]);
    expect(stats.pairComparisons).toBeLessThan(3 * stats.rules);
  });
});
