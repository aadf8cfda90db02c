import { describe, expect, it } from 'vitest';
import { loadDomain } from '../../src/config/index.js';
import {
  explainRequest,
  FailClosedError,
  interpret,
  parseRuleSet,
  type RequestAttributes,
  type RuleSetModel,
  type ServiceTierMode,
} from '../../src/rules/index.js';

const domain = loadDomain();
const { catalog } = domain;

const tierDoc = (rules: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'test',
  scheme: 'tier',
  mode: 'service-tier-with-fallback',
  rules,
  ...extra,
});
const legacyDoc = (rules: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...tierDoc(rules, extra),
  scheme: 'legacy',
});
const rule = (id: string, precedence: number, when: Record<string, unknown>, then: Record<string, unknown> = { tier: 'P50', preemptable: false }) => ({
  id,
  precedence,
  when,
  then,
});

function modelOf(doc: unknown): RuleSetModel {
  const { model, issues } = parseRuleSet(doc, 'r.json', domain);
  expect(issues).toEqual([]);
  if (model === null) throw new Error('expected a model');
  return model;
}
const issuesOf = (doc: unknown) => parseRuleSet(doc, 'r.json', domain).issues;

function failure(f: () => unknown): FailClosedError {
  try {
    f();
  } catch (err) {
    if (err instanceof FailClosedError) return err;
    throw err;
  }
  throw new Error('expected evaluation to fail closed');
}

describe('parseRuleSet: unknown catalog references', () => {
  it('names an unknown service tier with the catalog list, pointing into the list', () => {
    expect(issuesOf(tierDoc([rule('a', 0, { serviceTier: ['DEFAULT', 'GOLD'] })]))).toEqual([
      { kind: 'unknown-reference', file: 'r.json', pointer: '/rules/0/when/serviceTier/1', message: 'unknown service tier "GOLD" (the catalog has RESERVED, PRIORITY, DEFAULT, FLEX)' },
    ]);
  });

  it('names an unknown request type at the scalar pointer', () => {
    expect(issuesOf(tierDoc([rule('a', 0, { requestType: 'STREAMING' })]))).toEqual([
      { kind: 'unknown-reference', file: 'r.json', pointer: '/rules/0/when/requestType', message: 'unknown request type "STREAMING" (the catalog has ON_DEMAND, BATCH, PROVISIONED)' },
    ]);
  });

  it('rejects an unknown tier with the list of tiers', () => {
    expect(issuesOf(tierDoc([rule('a', 0, {}, { tier: 'P1', preemptable: false })]))).toEqual([
      { kind: 'unknown-reference', file: 'r.json', pointer: '/rules/0/then/tier', message: 'unknown tier "P1" (priorities.json has P100, P90, P75, P50, P25, P10, P5)' },
    ]);
  });

  it('rejects a QoS level outside the catalog', () => {
    expect(issuesOf(tierDoc([rule('a', 0, {}, { tier: 'P50', qos: 5, preemptable: false })]))).toEqual([
      { kind: 'unknown-reference', file: 'r.json', pointer: '/rules/0/then/qos', message: 'QoS 5 is not in the catalog (0, 1, 10)' },
    ]);
  });
});

describe('parseRuleSet: globs outside modelId', () => {
  it('reports a glob in region as a schema problem at the list element', () => {
    expect(issuesOf(tierDoc([rule('a', 0, { region: ['eu-west-1', 'us-*'] })]))).toEqual([
      { kind: 'schema', file: 'r.json', pointer: '/rules/0/when/region/1', message: '"us-*" looks like a glob, but only modelId takes globs; this attribute matches exact values' },
    ]);
  });

  it('reports a glob in accountId at the scalar pointer', () => {
    expect(issuesOf(tierDoc([rule('a', 0, { accountId: '12*' })]))).toEqual([
      { kind: 'schema', file: 'r.json', pointer: '/rules/0/when/accountId', message: '"12*" looks like a glob, but only modelId takes globs; this attribute matches exact values' },
    ]);
  });

  it('accepts globs in modelId and matches them', () => {
    const model = modelOf(tierDoc([rule('claude', 1, { modelId: 'anthropic/*' }), rule('rest', 0, {}, { tier: 'P5', preemptable: true })]));
    expect(interpret(model, catalog, 'service-tier', { classification: 'ON_DEMAND', modelId: 'anthropic/x/y' }).ruleId).toBe('claude');
    expect(interpret(model, catalog, 'service-tier', { classification: 'ON_DEMAND', modelId: 'other' }).ruleId).toBe('rest');
  });
});

describe('parseRuleSet: outcomes and the scheme', () => {
  it('a legacy rule set wants a level, not a tier', () => {
    expect(issuesOf(legacyDoc([rule('a', 0, {}, { tier: 'P50', preemptable: false })]))).toEqual([
      { kind: 'schema', file: 'r.json', pointer: '/rules/0/then/tier', message: 'a legacy rule set assigns a legacy level ("level": 0-3), not a tier' },
      { kind: 'schema', file: 'r.json', pointer: '/rules/0/then', message: 'missing required property "level" (legacy rule sets assign a legacy level 0-3)' },
    ]);
  });

  it('a legacy level must be one priorities.json defines', () => {
    expect(issuesOf(legacyDoc([rule('a', 0, {}, { level: 7, preemptable: false })]))).toEqual([
      { kind: 'unknown-reference', file: 'r.json', pointer: '/rules/0/then/level', message: 'unknown legacy level 7 (priorities.json has 0, 1, 2, 3)' },
    ]);
  });

  it('a legacy level maps onto its tier and the tier default QoS', () => {
    const model = modelOf(legacyDoc([rule('a', 0, {}, { level: 3, preemptable: true })]));
    const o = interpret(model, catalog, 'service-tier', { classification: 'BATCH' });
    expect({ ruleId: o.ruleId, tier: o.tier.name, legacyLevel: o.legacyLevel, qos: o.qos, preemptable: o.preemptable }).toEqual({
      ruleId: 'a',
      tier: 'P10',
      legacyLevel: 3,
      qos: 10,
      preemptable: true,
    });
  });

  it('a tier rule set wants a tier, not a level', () => {
    expect(issuesOf(tierDoc([rule('a', 0, {}, { level: 2, preemptable: false })]))).toEqual([
      { kind: 'schema', file: 'r.json', pointer: '/rules/0/then/level', message: 'a tier rule set assigns a tier ("tier": "P50"), not a legacy level' },
      { kind: 'schema', file: 'r.json', pointer: '/rules/0/then', message: 'missing required property "tier" (tier rule sets assign a tier)' },
    ]);
  });

  it('a tier rule set with both a tier and a level reports only the level', () => {
    expect(issuesOf(tierDoc([rule('a', 0, {}, { tier: 'P50', level: 2, preemptable: false })]))).toEqual([
      { kind: 'schema', file: 'r.json', pointer: '/rules/0/then/level', message: 'a tier rule set assigns a tier ("tier": "P50"), not a legacy level' },
    ]);
  });

  it('an explicit QoS wins over the tier default', () => {
    const model = modelOf(tierDoc([rule('a', 0, {}, { tier: 'P100', qos: 10, preemptable: false })]));
    const o = interpret(model, catalog, 'service-tier', { classification: 'BATCH' });
    expect([o.tier.name, o.qos, o.legacyLevel]).toEqual(['P100', 10, null]);
  });
});

describe('parseRuleSet: account overrides', () => {
  it('refuses when.accountId on an override', () => {
    expect(issuesOf(tierDoc([], { accountOverrides: [{ id: 'o', accountId: '111', when: { accountId: '222' }, then: { tier: 'P100', preemptable: false } }] }))).toEqual([
      { kind: 'schema', file: 'r.json', pointer: '/accountOverrides/0/when/accountId', message: 'an account override takes its account from "accountId"; remove "when.accountId"' },
    ]);
  });

  it('an override applies only to its own account, never to a request without one', () => {
    const model = modelOf(
      tierDoc([rule('base', 0, {})], { accountOverrides: [{ id: 'vip', accountId: '111', then: { tier: 'P100', preemptable: false } }] }),
    );
    expect(interpret(model, catalog, 'service-tier', { classification: 'ON_DEMAND', accountId: '111' }).ruleId).toBe('vip');
    expect(interpret(model, catalog, 'service-tier', { classification: 'ON_DEMAND', accountId: '222' }).ruleId).toBe('base');
    expect(interpret(model, catalog, 'service-tier', { classification: 'ON_DEMAND' }).ruleId).toBe('base');
    expect(interpret(model, catalog, 'service-tier', { classification: 'ON_DEMAND', accountId: null }).ruleId).toBe('base');
  });

  it('keeps the reason of an override and the descriptions of rules and rule set, and nothing when absent', () => {
    const model = modelOf(
      tierDoc([rule('plain', 1, {}), { ...rule('described', 0, {}), description: 'catch-all' }], {
        description: 'the set',
        accountOverrides: [
          { id: 'why', accountId: '1', reason: 'contract 42', then: { tier: 'P100', preemptable: false } },
          { id: 'nowhy', accountId: '2', then: { tier: 'P100', preemptable: false } },
        ],
      }),
    );
    expect(model.description).toBe('the set');
    const byId = new Map(model.rules.map((r) => [r.id, r]));
    expect(byId.get('why')?.description).toBe('contract 42');
    expect(byId.get('described')?.description).toBe('catch-all');
    expect('description' in (byId.get('nowhy') ?? {})).toBe(false);
    expect('description' in (byId.get('plain') ?? {})).toBe(false);

    const bare = modelOf(tierDoc([rule('plain', 1, {})]));
    expect('description' in bare).toBe(false);
  });
});

describe('parseRuleSet: conditions and evaluation order', () => {
  it('keeps only the conditions a rule states', () => {
    const model = modelOf(tierDoc([rule('a', 0, { serviceTier: 'DEFAULT', modelId: 'm' })]));
    expect(Object.keys(model.rules[0]?.when ?? {}).sort()).toEqual(['modelId', 'serviceTier']);
  });

  it('provisioned narrows the classification and never matches a missing value', () => {
    const model = modelOf(tierDoc([rule('prov', 0, { provisioned: true })]));
    const c = model.rules[0]?.when.classification;
    expect(c?.missing).toBe(false);
    expect([...(c?.values ?? [])]).toEqual(['PTV1', 'PTV2', 'PRIORITY_ACCESS', 'INTERNAL']);
    const e = explainRequest(model, catalog, 'service-tier', { classification: 'ON_DEMAND' });
    expect(e.considered[0]?.reason).toBe('classification is "ON_DEMAND", rule wants one of "PTV1", "PTV2", "PRIORITY_ACCESS", "INTERNAL"');
  });

  it('orders by precedence, then by file order among equals (overrides first)', () => {
    const model = modelOf(
      tierDoc([rule('a', 1, {}), rule('b', 5, {}), rule('c', 1, {}), rule('d', 1, {}), rule('e', 5, {}), rule('f', -2, {})], {
        accountOverrides: [{ id: 'o', accountId: '1', then: { tier: 'P100', preemptable: false } }],
      }),
    );
    expect(model.rules.map((r) => r.id)).toEqual(['o', 'b', 'e', 'a', 'c', 'd', 'f']);
  });

  it('equal precedence: the earlier rule in the file wins', () => {
    const model = modelOf(tierDoc([rule('first', 0, {}, { tier: 'P75', preemptable: false }), rule('second', 0, {}, { tier: 'P25', preemptable: true })]));
    expect(interpret(model, catalog, 'service-tier', { classification: 'ON_DEMAND' }).ruleId).toBe('first');
  });
});

describe('interpret: fail-closed checks', () => {
  const model = modelOf(tierDoc([rule('default', 0, { serviceTier: 'DEFAULT', requestType: 'BATCH' })]));
  const run = (request: unknown, mode: ServiceTierMode = 'service-tier-with-fallback') => failure(() => interpret(model, catalog, mode, request as RequestAttributes));

  it('rejects an unknown catalog value, quoting it and listing the catalog', () => {
    const err = run({ serviceTier: 'GOLD', classification: 'ON_DEMAND' });
    expect({ code: err.code, attribute: err.attribute, value: err.value, message: err.message }).toEqual({
      code: 'UNKNOWN_VALUE',
      attribute: 'serviceTier',
      value: 'GOLD',
      message: 'unknown serviceTier "GOLD": is not in the catalog (RESERVED, PRIORITY, DEFAULT, FLEX); rejected (fail-closed)',
    });
  });

  it('quotes a string value as given, without JSON escaping', () => {
    expect(run({ classification: 'SAY "HI"' }).message).toMatch(/^unknown classification "SAY "HI"": is not in the catalog \(PTV1, /);
  });

  it('rejects a catalog attribute of the wrong type', () => {
    expect(run({ classification: 7 }).message).toBe(
      'unknown classification 7: is not in the catalog (PTV1, PTV2, PRIORITY_ACCESS, PREMIUM_ON_DEMAND, ON_DEMAND, FLEX, BATCH, BEST_EFFORT_ON_DEMAND, CROSS_REGION, INTERNAL); rejected (fail-closed)',
    );
    expect(run({}).message).toMatch(/^unknown classification undefined: is not in the catalog \(PTV1, /);
  });

  it('rejects a free attribute that is not a string, showing it as JSON', () => {
    const err = run({ classification: 'ON_DEMAND', modelId: { name: 'm' } });
    expect([err.code, err.attribute, err.message]).toEqual(['UNKNOWN_VALUE', 'modelId', 'unknown modelId {"name":"m"}: must be a string or null; rejected (fail-closed)']);
    expect(run({ classification: 'ON_DEMAND', region: ['eu'] }).message).toBe('unknown region ["eu"]: must be a string or null; rejected (fail-closed)');
  });

  it('rejects a request that is not an object', () => {
    for (const request of [null, 'DEFAULT', 3]) {
      const err = run(request);
      expect([err.code, err.attribute, err.value]).toEqual(['UNKNOWN_VALUE', 'request', request]);
    }
    expect(run(null).message).toBe('unknown request null: must be an object; rejected (fail-closed)');
  });

  it('names the routing attributes when no rule matches', () => {
    const err = run({ serviceTier: 'FLEX', classification: 'BATCH', requestType: 'ON_DEMAND' });
    expect([err.code, err.attribute, err.message]).toEqual([
      'NO_MATCHING_RULE',
      undefined,
      'no rule of "test" matches serviceTier=FLEX classification=BATCH requestType=ON_DEMAND; rejected (fail-closed)',
    ]);
    expect(run({ classification: 'BATCH' }).message).toBe('no rule of "test" matches serviceTier=null classification=BATCH requestType=null; rejected (fail-closed)');
  });
});

describe('interpret: modes', () => {
  const model = modelOf(
    tierDoc([
      rule('by-tier', 2, { serviceTier: 'FLEX' }, { tier: 'P10', preemptable: true }),
      rule('by-type', 1, { requestType: 'BATCH' }, { tier: 'P25', preemptable: false }),
      rule('no-type', 0, { requestType: null }, { tier: 'P5', preemptable: true }),
    ]),
  );
  const id = (mode: ServiceTierMode, r: Omit<RequestAttributes, 'classification'>) => interpret(model, catalog, mode, { classification: 'BATCH', ...r }).ruleId;

  it('service-tier mode ignores the request type even without a service tier', () => {
    expect(id('service-tier', { requestType: 'BATCH' })).toBe('no-type');
    expect(id('service-tier', { serviceTier: 'FLEX', requestType: 'BATCH' })).toBe('by-tier');
  });

  it('request-type mode ignores the service tier', () => {
    expect(id('request-type', { serviceTier: 'FLEX', requestType: 'BATCH' })).toBe('by-type');
    expect(id('request-type', { serviceTier: 'FLEX' })).toBe('no-type');
  });

  it('fallback mode uses the service tier when present, otherwise the request type', () => {
    expect(id('service-tier-with-fallback', { serviceTier: 'DEFAULT', requestType: 'BATCH' })).toBe('no-type');
    expect(id('service-tier-with-fallback', { requestType: 'BATCH' })).toBe('by-type');
  });

  it('explain reports which attribute the mode ignored', () => {
    const ignored = (mode: ServiceTierMode, r: Omit<RequestAttributes, 'classification'>) => explainRequest(model, catalog, mode, { classification: 'BATCH', ...r }).ignored;
    expect(ignored('service-tier', { serviceTier: 'FLEX' })).toBe('requestType');
    expect(ignored('service-tier', {})).toBe('requestType');
    expect(ignored('request-type', { serviceTier: 'FLEX' })).toBe('serviceTier');
    expect(ignored('service-tier-with-fallback', { serviceTier: 'FLEX' })).toBe('requestType');
    expect(ignored('service-tier-with-fallback', {})).toBe('serviceTier');
  });
});

describe('explainRequest', () => {
  const model = modelOf(
    tierDoc([
      rule('multi', 9, { serviceTier: ['RESERVED', 'PRIORITY', null] }),
      rule('glob', 8, { modelId: ['exact-model', 'anthropic/*'] }),
      rule('single', 7, { region: 'eu-west-1' }),
      rule('wants-type', 6, { requestType: 'BATCH' }),
      rule('top-a', 5, { classification: 'BATCH' }),
      rule('top-b', 5, {}),
      rule('top-c', 5, { classification: ['BATCH', 'FLEX'] }),
      rule('low', 1, {}),
    ]),
  );

  it('gives the reason each rule matched or failed', () => {
    const e = explainRequest(model, catalog, 'service-tier', { serviceTier: 'DEFAULT', classification: 'BATCH', modelId: 'm', requestType: 'BATCH' });
    expect(e.considered.map((c) => [c.ruleId, c.precedence, c.accountOverride, c.matched, c.reason])).toEqual([
      ['multi', 9, false, false, 'serviceTier is "DEFAULT", rule wants one of "RESERVED", "PRIORITY", missing'],
      ['glob', 8, false, false, 'modelId is "m", rule wants one of "exact-model", glob "anthropic/*"'],
      ['single', 7, false, false, 'region is missing, rule wants "eu-west-1"'],
      ['wants-type', 6, false, false, 'requestType is ignored in service-tier mode (treated as missing), rule wants "BATCH"'],
      ['top-a', 5, false, true, 'all conditions hold'],
      ['top-b', 5, false, true, 'all conditions hold'],
      ['top-c', 5, false, true, 'all conditions hold'],
      ['low', 1, false, true, 'all conditions hold'],
    ]);
    expect(e.winner).toBe('top-a');
    expect(e.outcome?.ruleId).toBe('top-a');
    expect(e.error).toBeNull();
    expect(e.why).toBe('precedence 5, tied with top-b, top-c; the earlier rule in the file wins');
  });

  it('says why the winner won when it outranks the other matches', () => {
    const e = explainRequest(model, catalog, 'service-tier', { serviceTier: 'DEFAULT', classification: 'FLEX', region: 'eu-west-1' });
    expect(e.winner).toBe('single');
    expect(e.why).toBe('highest precedence (7) of 4 matching rules');
  });

  it('says when the winner is the only match', () => {
    const only = modelOf(tierDoc([rule('x', 3, { classification: 'FLEX' }), rule('y', 4, { classification: 'BATCH' })]));
    const e = explainRequest(only, catalog, 'service-tier', { classification: 'FLEX' });
    expect([e.winner, e.why]).toEqual(['x', 'the only matching rule (precedence 3)']);
  });

  it('reports a request that fails the catalog checks without considering any rule', () => {
    const e = explainRequest(model, catalog, 'service-tier', { classification: 'NOPE' });
    expect(e.seen).toBeNull();
    expect(e.considered).toEqual([]);
    expect(e.winner).toBeNull();
    expect(e.error).toEqual({ code: 'UNKNOWN_VALUE', attribute: 'classification', value: 'NOPE', message: e.why });
    expect(e.why).toMatch(/^unknown classification "NOPE": is not in the catalog/);
  });

  it('reports no matching rule without attribute or value', () => {
    const none = modelOf(tierDoc([rule('x', 3, { classification: 'FLEX' })]));
    const e = explainRequest(none, catalog, 'service-tier', { classification: 'BATCH' });
    expect(e.error).toStrictEqual({ code: 'NO_MATCHING_RULE', message: 'no rule of "test" matches serviceTier=null classification=BATCH requestType=null; rejected (fail-closed)' });
    expect(e.why).toBe(e.error?.message);
  });

  it('does not swallow errors that are not fail-closed rejections', () => {
    const request = {
      get classification(): string {
        throw new RangeError('broken request');
      },
    };
    expect(() => explainRequest(model, catalog, 'service-tier', request)).toThrow(RangeError);
  });
});
