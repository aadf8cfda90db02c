import { describe, expect, it } from 'vitest';
import type { Domain } from '../../src/catalog/index.js';
import { loadDomain, loadRuleSet } from '../../src/config/index.js';
import { ATTRIBUTES, compileRuleSet, diffRuleSets, FailClosedError, normalize, type CompiledRuleSet } from '../../src/rules/index.js';

const domain = loadDomain();

function ruleSet(name: string, mode: string, rules: unknown[]): Record<string, unknown> {
  return { name, scheme: 'tier', mode, rules };
}
const outcome = (tier: string, qos: number, preemptable = false) => ({ tier, qos, preemptable });

describe('normalize', () => {
  const serviceTier = loadRuleSet('rules/service_tier.json', domain);
  const legacy = loadRuleSet('rules/legacy.json', domain);

  it('labels a success with tier and qos, and marks preemptable outcomes', () => {
    expect(normalize(serviceTier, { serviceTier: 'FLEX', classification: 'ON_DEMAND' })).toEqual({
      label: 'P10 qos 10 preemptable',
      tier: 'P10',
      value: 10,
      qos: 10,
      preemptable: true,
      ruleId: 'flex',
      legacyLevel: null,
    });
  });

  it('maps a legacy level onto the P scale and keeps the level', () => {
    expect(normalize(legacy, { classification: 'PTV2', requestType: 'PROVISIONED' })).toEqual({
      label: 'P100 qos 0',
      tier: 'P100',
      value: 100,
      qos: 0,
      preemptable: false,
      ruleId: 'legacy-provisioned',
      legacyLevel: 0,
    });
  });

  it('turns a fail-closed evaluation into a labelled failure without counting it', () => {
    const rs = compileRuleSet(ruleSet('only-default', 'service-tier', [{ id: 'd', precedence: 0, when: { serviceTier: 'DEFAULT' }, then: outcome('P50', 1) }]), 'd.json', domain);
    const blank = { tier: null, value: null, qos: null, preemptable: null, ruleId: null, legacyLevel: null };
    expect(normalize(rs, { serviceTier: 'FLEX', classification: 'ON_DEMAND' })).toEqual({ label: 'fail-closed NO_MATCHING_RULE', ...blank });
    expect(normalize(rs, { serviceTier: 'DEFAULT', classification: 'MYSTERY' })).toEqual({ label: 'fail-closed UNKNOWN_VALUE', ...blank });
    expect(rs.failClosedCount).toBe(0);
  });

  it('lets errors other than a fail-closed rejection propagate', () => {
    const rs = compileRuleSet(ruleSet('any', 'service-tier', [{ id: 'any', precedence: 0, when: {}, then: outcome('P50', 1) }]), 'a.json', domain);
    const broken = { ...rs, model: { ...rs.model, rules: [null] } } as unknown as CompiledRuleSet;
    expect(() => normalize(broken, { classification: 'ON_DEMAND' })).toThrow(TypeError);
  });
});

describe('diffRuleSets: directions, counts and ordering', () => {
  // service-tier mode: the request type is ignored, so each service tier covers 10 × 4 = 40 inputs.
  const oldSet = compileRuleSet(
    ruleSet('old', 'service-tier', [
      { id: 'o-reserved', precedence: 0, when: { serviceTier: 'RESERVED' }, then: outcome('P100', 0) },
      { id: 'o-priority', precedence: 0, when: { serviceTier: 'PRIORITY' }, then: outcome('P75', 1) },
      { id: 'o-default', precedence: 0, when: { serviceTier: 'DEFAULT' }, then: outcome('P50', 1) },
      { id: 'o-missing', precedence: 0, when: { serviceTier: null }, then: outcome('P25', 1) },
    ]),
    'old.json',
    domain,
  );
  const newSet = compileRuleSet(
    ruleSet('new', 'service-tier', [
      { id: 'n-reserved', precedence: 0, when: { serviceTier: 'RESERVED' }, then: outcome('P90', 0) },
      { id: 'n-ptv1', precedence: 0, when: { serviceTier: 'PRIORITY', classification: 'PTV1' }, then: outcome('P90', 0) },
      { id: 'n-ptv2', precedence: 0, when: { serviceTier: 'PRIORITY', classification: 'PTV2' }, then: outcome('P100', 0) },
      { id: 'n-default', precedence: 0, when: { serviceTier: 'DEFAULT' }, then: outcome('P50', 1, true) },
      { id: 'n-flex', precedence: 0, when: { serviceTier: 'FLEX' }, then: outcome('P10', 10, true) },
      { id: 'n-missing', precedence: 0, when: { serviceTier: null }, then: outcome('P25', 1) },
    ]),
    'new.json',
    domain,
  );

  it('names both rule sets', () => {
    const diff = diffRuleSets(oldSet, newSet);
    expect(diff.old).toEqual({ name: 'old', scheme: 'tier', mode: 'service-tier', file: 'old.json' });
    expect(diff.new).toEqual({ name: 'new', scheme: 'tier', mode: 'service-tier', file: 'new.json' });
  });

  it('groups disagreements by (old, new) outcome with a direction, largest first, ties by labels', () => {
    const diff = diffRuleSets(oldSet, newSet);
    expect({ inputs: diff.inputs, same: diff.same, changed: diff.changed }).toEqual({ inputs: 200, same: 40, changed: 160 });
    expect(diff.rows.map((r) => [r.from, r.to, r.direction, r.count])).toEqual([
      ['fail-closed NO_MATCHING_RULE', 'P10 qos 10 preemptable', 'now-succeeds', 40],
      ['P100 qos 0', 'P90 qos 0', 'lowered', 40],
      ['P50 qos 1', 'P50 qos 1 preemptable', 'same-tier', 40],
      ['P75 qos 1', 'fail-closed NO_MATCHING_RULE', 'now-fails', 32],
      ['P75 qos 1', 'P100 qos 0', 'raised', 4],
      ['P75 qos 1', 'P90 qos 0', 'raised', 4],
    ]);
  });

  it('gives each row the first input that shows it and the rules each side applied', () => {
    const diff = diffRuleSets(oldSet, newSet);
    expect(diff.rows.map((r) => ({ example: r.example, rules: r.exampleRules }))).toEqual([
      { example: { serviceTier: 'FLEX', classification: 'PTV1', requestType: 'ON_DEMAND' }, rules: { old: null, new: 'n-flex' } },
      { example: { serviceTier: 'RESERVED', classification: 'PTV1', requestType: 'ON_DEMAND' }, rules: { old: 'o-reserved', new: 'n-reserved' } },
      { example: { serviceTier: 'DEFAULT', classification: 'PTV1', requestType: 'ON_DEMAND' }, rules: { old: 'o-default', new: 'n-default' } },
      { example: { serviceTier: 'PRIORITY', classification: 'PRIORITY_ACCESS', requestType: 'ON_DEMAND' }, rules: { old: 'o-priority', new: null } },
      { example: { serviceTier: 'PRIORITY', classification: 'PTV2', requestType: 'ON_DEMAND' }, rules: { old: 'o-priority', new: 'n-ptv2' } },
      { example: { serviceTier: 'PRIORITY', classification: 'PTV1', requestType: 'ON_DEMAND' }, rules: { old: 'o-priority', new: 'n-ptv1' } },
    ]);
  });

  it('reverses every direction when the sides are swapped', () => {
    const diff = diffRuleSets(newSet, oldSet);
    expect(diff.rows.map((r) => [r.from, r.to, r.direction, r.count])).toEqual([
      ['P10 qos 10 preemptable', 'fail-closed NO_MATCHING_RULE', 'now-fails', 40],
      ['P50 qos 1 preemptable', 'P50 qos 1', 'same-tier', 40],
      ['P90 qos 0', 'P100 qos 0', 'raised', 40],
      ['fail-closed NO_MATCHING_RULE', 'P75 qos 1', 'now-succeeds', 32],
      ['P100 qos 0', 'P75 qos 1', 'lowered', 4],
      ['P90 qos 0', 'P75 qos 1', 'lowered', 4],
    ]);
  });

  it('does not move the fail-closed counters of the rule sets it compares', () => {
    diffRuleSets(oldSet, newSet);
    expect([oldSet.failClosedCount, newSet.failClosedCount]).toEqual([0, 0]);
  });
});

describe('diffRuleSets: failures on both sides', () => {
  it('reports both-fail when the two sides fail closed for different reasons', () => {
    // The new side's catalog no longer knows FLEX: it rejects the value the old side had no rule for.
    const narrowed: Domain = { ...domain, catalog: { ...domain.catalog, serviceTiers: domain.catalog.serviceTiers.filter((t) => t !== 'FLEX') } };
    const rules = [{ id: 'known', precedence: 0, when: { serviceTier: ['RESERVED', 'PRIORITY', 'DEFAULT', null] }, then: outcome('P50', 1) }];
    const oldSet = compileRuleSet(ruleSet('old', 'service-tier', rules), 'old.json', domain);
    const newSet = compileRuleSet(ruleSet('new', 'service-tier', rules), 'new.json', narrowed);
    const diff = diffRuleSets(oldSet, newSet);
    expect(diff).toMatchObject({ inputs: 200, same: 160, changed: 40 });
    expect(diff.rows).toEqual([
      {
        from: 'fail-closed NO_MATCHING_RULE',
        to: 'fail-closed UNKNOWN_VALUE',
        direction: 'both-fail',
        count: 40,
        example: { serviceTier: 'FLEX', classification: 'PTV1', requestType: 'ON_DEMAND' },
        exampleRules: { old: null, new: null },
      },
    ]);
  });

  it('treats identical failures as agreement', () => {
    const rs = compileRuleSet(ruleSet('none-for-flex', 'service-tier', [{ id: 'd', precedence: 0, when: { serviceTier: 'DEFAULT' }, then: outcome('P50', 1) }]), 'd.json', domain);
    expect(diffRuleSets(rs, rs)).toMatchObject({ inputs: 200, same: 200, changed: 0, rows: [] });
  });
});

describe('diffRuleSets: the enumerated request space', () => {
  it('leaves missing attributes out of the example request rather than setting them to null', () => {
    // Fallback mode: with no service tier the request type is seen, so this rule matches only
    // requests that carry neither.
    const oldSet = compileRuleSet(ruleSet('old', 'service-tier-with-fallback', [{ id: 'any', precedence: 0, when: {}, then: outcome('P50', 1) }]), 'old.json', domain);
    const newSet = compileRuleSet(
      ruleSet('new', 'service-tier-with-fallback', [
        { id: 'bare', precedence: 10, when: { serviceTier: null, requestType: null }, then: outcome('P25', 1) },
        { id: 'any', precedence: 0, when: {}, then: outcome('P50', 1) },
      ]),
      'new.json',
      domain,
    );
    const diff = diffRuleSets(oldSet, newSet);
    expect(diff).toMatchObject({ inputs: 200, same: 190, changed: 10 });
    expect(diff.rows).toStrictEqual([
      { from: 'P50 qos 1', to: 'P25 qos 1', direction: 'lowered', count: 10, example: { classification: 'PTV1' }, exampleRules: { old: 'any', new: 'bare' } },
    ]);
  });

  it('enumerates free attributes as missing, unlisted and every value or glob sample either side names', () => {
    // modelId: missing, (unlisted), alpha, vendor.x (sample of vendor.*), zeta — the `?(m)-v1`
    // glob has no simple sample; region: missing, (unlisted), eu-1; accountId: missing,
    // (unlisted), acct-9. 200 catalog cells × 5 × 3 × 3.
    const oldSet = compileRuleSet(
      ruleSet('old', 'service-tier', [
        { id: 'o-models', precedence: 10, when: { modelId: ['zeta', 'alpha'] }, then: outcome('P75', 1) },
        { id: 'o-eu', precedence: 5, when: { region: 'eu-1' }, then: outcome('P25', 1) },
        { id: 'o-any', precedence: 0, when: {}, then: outcome('P50', 1) },
      ]),
      'old.json',
      domain,
    );
    const newSet = compileRuleSet(
      ruleSet('new', 'service-tier', [
        { id: 'n-account', precedence: 20, when: { accountId: 'acct-9' }, then: outcome('P100', 0) },
        { id: 'n-vendor', precedence: 10, when: { modelId: ['vendor.*', '?(m)-v1'] }, then: outcome('P90', 0) },
        { id: 'n-any', precedence: 0, when: {}, then: outcome('P50', 1) },
      ]),
      'new.json',
      domain,
    );
    const diff = diffRuleSets(oldSet, newSet);
    expect({ inputs: diff.inputs, same: diff.same, changed: diff.changed }).toEqual({ inputs: 9000, same: 1600, changed: 7400 });
    const first = { serviceTier: 'RESERVED', classification: 'PTV1', requestType: 'ON_DEMAND' };
    expect(diff.rows.map((r) => ({ ...r, example: { ...r.example } }))).toEqual([
      { from: 'P75 qos 1', to: 'P50 qos 1', direction: 'lowered', count: 2400, example: { ...first, modelId: 'alpha' }, exampleRules: { old: 'o-models', new: 'n-any' } },
      { from: 'P50 qos 1', to: 'P100 qos 0', direction: 'raised', count: 1200, example: { ...first, accountId: 'acct-9' }, exampleRules: { old: 'o-any', new: 'n-account' } },
      { from: 'P75 qos 1', to: 'P100 qos 0', direction: 'raised', count: 1200, example: { ...first, modelId: 'alpha', accountId: 'acct-9' }, exampleRules: { old: 'o-models', new: 'n-account' } },
      { from: 'P25 qos 1', to: 'P50 qos 1', direction: 'raised', count: 800, example: { ...first, region: 'eu-1' }, exampleRules: { old: 'o-eu', new: 'n-any' } },
      { from: 'P50 qos 1', to: 'P90 qos 0', direction: 'raised', count: 800, example: { ...first, modelId: 'vendor.x' }, exampleRules: { old: 'o-any', new: 'n-vendor' } },
      { from: 'P25 qos 1', to: 'P100 qos 0', direction: 'raised', count: 600, example: { ...first, region: 'eu-1', accountId: 'acct-9' }, exampleRules: { old: 'o-eu', new: 'n-account' } },
      { from: 'P25 qos 1', to: 'P90 qos 0', direction: 'raised', count: 400, example: { ...first, modelId: 'vendor.x', region: 'eu-1' }, exampleRules: { old: 'o-eu', new: 'n-vendor' } },
    ]);
  });

  it('uses the unlisted placeholder for a value no rule names', () => {
    const oldSet = compileRuleSet(ruleSet('old', 'service-tier', [{ id: 'any', precedence: 0, when: {}, then: outcome('P50', 1) }]), 'old.json', domain);
    const newSet = compileRuleSet(
      ruleSet('new', 'service-tier', [
        { id: 'named', precedence: 10, when: { region: ['eu-1', null] }, then: outcome('P50', 1) },
        { id: 'other', precedence: 0, when: {}, then: outcome('P25', 1) },
      ]),
      'new.json',
      domain,
    );
    const diff = diffRuleSets(oldSet, newSet);
    expect(diff).toMatchObject({ inputs: 600, same: 400, changed: 200 });
    expect(diff.rows.map((r) => r.example)).toEqual([{ serviceTier: 'RESERVED', classification: 'PTV1', requestType: 'ON_DEMAND', region: '(unlisted)' }]);
  });
});

describe('model', () => {
  it('lists the request attributes in their canonical order', () => {
    expect(ATTRIBUTES).toEqual(['serviceTier', 'classification', 'requestType', 'modelId', 'region', 'accountId']);
  });

  it('names its fail-closed error', () => {
    const rs = compileRuleSet(ruleSet('only-default', 'service-tier', [{ id: 'd', precedence: 0, when: { serviceTier: 'DEFAULT' }, then: outcome('P50', 1) }]), 'd.json', domain);
    let caught: unknown;
    try {
      rs.evaluate({ serviceTier: 'FLEX', classification: 'ON_DEMAND' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FailClosedError);
    expect((caught as FailClosedError).name).toBe('FailClosedError');
    expect(String(caught)).toMatch(/^FailClosedError: /);
  });
});
