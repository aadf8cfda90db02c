import { describe, expect, it } from 'vitest';
import { loadDomain, loadRuleSet } from '../../src/config/index.js';
import { compileRuleSet, FailClosedError, type CompiledRuleSet, type RequestAttributes } from '../../src/rules/index.js';
import { configIssues } from '../support/config-issues.js';

const domain = loadDomain();

function ruleSet(rules: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'test', scheme: 'tier', mode: 'service-tier-with-fallback', rules, ...extra };
}
function failure(rs: CompiledRuleSet, request: RequestAttributes): FailClosedError {
  try {
    rs.evaluate(request);
  } catch (err) {
    if (err instanceof FailClosedError) return err;
    throw err;
  }
  throw new Error('expected evaluation to fail closed');
}
const outcome = (tier: string, qos = 1, preemptable = false) => ({ tier, qos, preemptable });

describe('shipped rule sets', () => {
  const legacy = loadRuleSet('rules/legacy.json', domain);
  const serviceTier = loadRuleSet('rules/service_tier.json', domain);

  it('legacy derives PROVISIONED from the classification plus the request type', () => {
    expect(legacy.scheme).toBe('legacy');
    const o = legacy.evaluate({ classification: 'PTV2', requestType: 'PROVISIONED' });
    expect(o).toMatchObject({ ruleId: 'legacy-provisioned', legacyLevel: 0, qos: 0, preemptable: false });
    expect(o.tier.name).toBe(domain.scale.tierOfLegacy(0).name);
    expect(legacy.evaluate({ classification: 'PTV1', requestType: 'ON_DEMAND' }).legacyLevel).toBe(1);
    expect(legacy.evaluate({ classification: 'ON_DEMAND', requestType: 'PROVISIONED' }).legacyLevel).toBe(2);
    expect(legacy.evaluate({ classification: 'INTERNAL', requestType: 'BATCH' }).legacyLevel).toBe(3);
  });

  it('service_tier ranks by service tier and falls back to the request type', () => {
    expect(serviceTier.evaluate({ serviceTier: 'RESERVED', classification: 'PTV2' })).toMatchObject({ ruleId: 'reserved-ptv2', legacyLevel: null, qos: 0 });
    expect(serviceTier.evaluate({ serviceTier: 'FLEX', classification: 'ON_DEMAND', requestType: 'BATCH' }).ruleId).toBe('flex');
    expect(serviceTier.evaluate({ classification: 'ON_DEMAND', requestType: 'BATCH' }).ruleId).toBe('fallback-batch');
    expect(serviceTier.evaluate({ serviceTier: null, classification: 'PTV1', requestType: 'PROVISIONED' }).tier.name).toBe('P90');
  });

  it('returns the same frozen outcome object for the same rule', () => {
    const a = serviceTier.evaluate({ serviceTier: 'DEFAULT', classification: 'ON_DEMAND' });
    const b = serviceTier.evaluate({ serviceTier: 'DEFAULT', classification: 'ON_DEMAND', modelId: 'm', region: 'r', accountId: 'a' });
    expect(a).toBe(b);
    expect(Object.isFrozen(a)).toBe(true);
  });
});

describe('fail-closed', () => {
  const rs = compileRuleSet(ruleSet([{ id: 'all', precedence: 0, when: { serviceTier: 'DEFAULT' }, then: outcome('P50') }]), 't.json', domain);

  it('rejects an unknown classification, names it and counts it', () => {
    const before = rs.failClosedCount;
    const err = failure(rs, { serviceTier: 'DEFAULT', classification: 'MYSTERY' });
    expect(err).toMatchObject({ code: 'UNKNOWN_VALUE', attribute: 'classification', value: 'MYSTERY' });
    expect(err.message).toContain('"MYSTERY"');
    expect(rs.failClosedCount).toBe(before + 1);
  });

  it('rejects unknown values of every catalog attribute and non-string free attributes', () => {
    expect(failure(rs, { serviceTier: 'GOLD', classification: 'ON_DEMAND' })).toMatchObject({ attribute: 'serviceTier', value: 'GOLD' });
    expect(failure(rs, { serviceTier: 'DEFAULT', classification: 'ON_DEMAND', requestType: 'STREAM' })).toMatchObject({ attribute: 'requestType' });
    expect(failure(rs, { serviceTier: 'DEFAULT', classification: 'ON_DEMAND', modelId: 42 as unknown as string })).toMatchObject({ attribute: 'modelId' });
    expect(failure(rs, null as unknown as RequestAttributes)).toMatchObject({ code: 'UNKNOWN_VALUE', attribute: 'request' });
    expect(failure(rs, {} as RequestAttributes)).toMatchObject({ attribute: 'classification', value: undefined });
  });

  it('rejects a request no rule matches instead of defaulting', () => {
    expect(failure(rs, { serviceTier: 'FLEX', classification: 'ON_DEMAND' }).code).toBe('NO_MATCHING_RULE');
  });
});

describe('matching', () => {
  it('treats an absent key as a wildcard and null as "attribute missing"', () => {
    const rs = compileRuleSet(
      ruleSet([
        { id: 'no-region', precedence: 10, when: { region: null }, then: outcome('P90') },
        { id: 'any', precedence: 0, when: {}, then: outcome('P50') },
      ]),
      't.json',
      domain,
    );
    expect(rs.evaluate({ classification: 'ON_DEMAND' }).ruleId).toBe('no-region');
    expect(rs.evaluate({ classification: 'ON_DEMAND', region: 'eu-west-1' }).ruleId).toBe('any');
  });

  it('matches model ids exactly or by glob', () => {
    const rs = compileRuleSet(
      ruleSet([
        { id: 'exact', precedence: 20, when: { modelId: 'vendor.big-model-v2:0' }, then: outcome('P100', 0) },
        { id: 'family', precedence: 10, when: { modelId: ['vendor.big-*', 'other/*'] }, then: outcome('P75') },
        { id: 'rest', precedence: 0, when: {}, then: outcome('P50') },
      ]),
      't.json',
      domain,
    );
    expect(rs.evaluate({ classification: 'ON_DEMAND', modelId: 'vendor.big-model-v2:0' }).ruleId).toBe('exact');
    expect(rs.evaluate({ classification: 'ON_DEMAND', modelId: 'vendor.big-model-v3:0' }).ruleId).toBe('family');
    expect(rs.evaluate({ classification: 'ON_DEMAND', modelId: 'other/a/b' }).ruleId).toBe('family');
    expect(rs.evaluate({ classification: 'ON_DEMAND', modelId: 'vendor.small' }).ruleId).toBe('rest');
    expect(rs.evaluate({ classification: 'ON_DEMAND' }).ruleId).toBe('rest');
  });

  it('breaks precedence ties by file order', () => {
    const rs = compileRuleSet(
      ruleSet([
        { id: 'low', precedence: 1, when: {}, then: outcome('P5', 10, true) },
        { id: 'first', precedence: 5, when: {}, then: outcome('P50') },
        { id: 'second', precedence: 5, when: {}, then: outcome('P75') },
      ]),
      't.json',
      domain,
    );
    expect(rs.evaluate({ classification: 'ON_DEMAND' }).ruleId).toBe('first');
  });

  it('lets account overrides win over every rule, for their account only', () => {
    const overrides = Array.from({ length: 60 }, (_, i) => ({ id: `acct-${i}`, accountId: `1000${i}`, then: outcome('P90', 0) }));
    overrides.push({ id: 'acct-flex-only', accountId: '77', when: { serviceTier: 'FLEX' }, then: outcome('P25') } as (typeof overrides)[number]);
    const rs = compileRuleSet(ruleSet([{ id: 'top', precedence: 1000, when: {}, then: outcome('P50') }], { accountOverrides: overrides }), 't.json', domain);
    expect(rs.evaluate({ classification: 'ON_DEMAND', accountId: '100042' }).ruleId).toBe('acct-42');
    expect(rs.evaluate({ classification: 'ON_DEMAND', accountId: '999' }).ruleId).toBe('top');
    expect(rs.evaluate({ classification: 'ON_DEMAND' }).ruleId).toBe('top');
    expect(rs.evaluate({ classification: 'ON_DEMAND', accountId: '77', serviceTier: 'FLEX' }).ruleId).toBe('acct-flex-only');
    expect(rs.evaluate({ classification: 'ON_DEMAND', accountId: '77', serviceTier: 'DEFAULT' }).ruleId).toBe('top');
    const e = rs.explain({ classification: 'ON_DEMAND', accountId: '100042' });
    expect(e.considered.map((c) => c.ruleId)).toEqual(['acct-42', 'top']);
    expect(e.why).toBe('account override for account 100042: overrides win over every rule');
  });

  it('defaults QoS to the tier default and maps legacy levels onto the P scale', () => {
    const rs = compileRuleSet({ name: 'l', scheme: 'legacy', mode: 'request-type', rules: [{ id: 'x', precedence: 0, when: {}, then: { level: 3, preemptable: true } }] }, 'l.json', domain);
    const o = rs.evaluate({ classification: 'BATCH' });
    expect(o.legacyLevel).toBe(3);
    expect(o.tier).toBe(domain.scale.tierOfLegacy(3));
    expect(o.qos).toBe(domain.scale.tierOfLegacy(3).defaultQos);
  });
});

describe('modes', () => {
  const doc = ruleSet([
    { id: 'by-tier', precedence: 10, when: { serviceTier: 'PRIORITY' }, then: outcome('P75') },
    { id: 'by-type', precedence: 10, when: { requestType: 'BATCH' }, then: outcome('P10', 10, true) },
    { id: 'neither', precedence: 0, when: { serviceTier: null, requestType: null }, then: outcome('P50') },
  ]);
  const request = { serviceTier: 'PRIORITY', classification: 'ON_DEMAND', requestType: 'BATCH' };

  it('service-tier mode ignores the request type', () => {
    const rs = compileRuleSet(doc, 't.json', domain, { mode: 'service-tier' });
    expect(rs.mode).toBe('service-tier');
    expect(rs.evaluate(request).ruleId).toBe('by-tier');
    expect(rs.evaluate({ ...request, serviceTier: null }).ruleId).toBe('neither');
  });

  it('request-type mode ignores the service tier', () => {
    const rs = compileRuleSet(doc, 't.json', domain, { mode: 'request-type' });
    expect(rs.evaluate(request).ruleId).toBe('by-type');
    expect(rs.evaluate({ ...request, requestType: null }).ruleId).toBe('neither');
  });

  it('fallback mode uses the request type only when the service tier is absent', () => {
    const rs = compileRuleSet(doc, 't.json', domain);
    expect(rs.mode).toBe('service-tier-with-fallback');
    expect(rs.evaluate(request).ruleId).toBe('by-tier');
    expect(rs.evaluate({ ...request, serviceTier: undefined }).ruleId).toBe('by-type');
  });
});

describe('explain', () => {
  it('lists every rule considered, which matched and why the winner won', () => {
    const rs = loadRuleSet('rules/service_tier.json', domain);
    const e = rs.explain({ serviceTier: 'DEFAULT', classification: 'BATCH', requestType: 'BATCH' });
    expect(e.winner).toBe('default-batch');
    expect(e.ignored).toBe('requestType');
    expect(e.considered).toHaveLength(rs.model.rules.length);
    expect(e.considered.filter((c) => c.matched).map((c) => c.ruleId)).toEqual(['default-batch', 'default-on-demand']);
    expect(e.why).toBe('highest precedence (60) of 2 matching rules');
    expect(e.considered.find((c) => c.ruleId === 'fallback-batch')?.reason).toBe('serviceTier is "DEFAULT", rule wants missing');
  });

  it('reports a fail-closed request instead of throwing, without counting it', () => {
    const rs = loadRuleSet('rules/service_tier.json', domain);
    const e = rs.explain({ classification: 'NOPE' });
    expect(e.error).toMatchObject({ code: 'UNKNOWN_VALUE', attribute: 'classification', value: 'NOPE' });
    expect(rs.failClosedCount).toBe(0);
  });
});

describe('compile errors', () => {
  const issues = (doc: unknown) => configIssues(() => compileRuleSet(doc, 'bad.json', domain)).map(({ pointer, message }) => ({ pointer, message }));
  it('reports schema errors and unknown references with pointers', () => {
    expect(issues(ruleSet([{ id: 'x', precedence: 0, when: { colour: 'red' }, then: outcome('P50') }]))).toEqual([{ pointer: '/rules/0/when', message: 'unknown property "colour"' }]);
    expect(issues(ruleSet([{ id: 'x', precedence: 0, when: { classification: 'NOPE' }, then: outcome('P51') }]))).toEqual([
      { pointer: '/rules/0/when/classification', message: expect.stringContaining('unknown classification "NOPE"') as string },
      { pointer: '/rules/0/then/tier', message: expect.stringContaining('unknown tier "P51"') as string },
    ]);
  });
});

describe('compile errors beyond the schema', () => {
  const pointers = (doc: unknown) => configIssues(() => compileRuleSet(doc, 'bad.json', domain)).map((i) => `${i.pointer}: ${i.message}`);
  const then = { tier: 'P50', preemptable: false };

  it('refuses a glob where only exact values are matched', () => {
    expect(pointers(ruleSet([{ id: 'x', precedence: 0, when: { region: ['us-*', 'eu-west-1'] }, then }]))).toEqual([
      '/rules/0/when/region/0: "us-*" looks like a glob, but only modelId takes globs; this attribute matches exact values',
    ]);
  });

  it('refuses an account override that names a second account in when', () => {
    expect(pointers(ruleSet([], { accountOverrides: [{ id: 'o', accountId: '1', when: { accountId: '2' }, then }] }))).toEqual([
      '/accountOverrides/0/when/accountId: an account override takes its account from "accountId"; remove "when.accountId"',
    ]);
  });

  it('refuses a legacy level priorities.json does not define', () => {
    expect(pointers({ name: 'l', scheme: 'legacy', mode: 'request-type', rules: [{ id: 'x', precedence: 0, when: {}, then: { level: 4, preemptable: false } }] })).toEqual([
      '/rules/0/then/level: unknown legacy level 4 (priorities.json has 0, 1, 2, 3)',
    ]);
  });

  it('refuses the wrong kind of priority for the scheme', () => {
    expect(pointers({ name: 'l', scheme: 'legacy', mode: 'request-type', rules: [{ id: 'x', precedence: 0, when: {}, then }] })).toEqual([
      '/rules/0/then/tier: a legacy rule set assigns a legacy level ("level": 0-3), not a tier',
      '/rules/0/then: missing required property "level" (legacy rule sets assign a legacy level 0-3)',
    ]);
  });
});
