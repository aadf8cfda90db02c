import { describe, expect, it } from 'vitest';
import { loadDomain } from '../../src/config/index.js';
import { compileRuleSet, FailClosedError, interpret, lintRuleSet, lintRuleSetReport, SERVICE_TIER_MODES, type CompiledRuleSet, type Outcome, type RequestAttributes } from '../../src/rules/index.js';

const domain = loadDomain();
const { catalog } = domain;

const outcome = (tier: string, qos = 1, preemptable = false) => ({ tier, qos, preemptable });
function ruleSet(rules: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'test', scheme: 'tier', mode: 'service-tier-with-fallback', rules, ...extra };
}
function failure(rs: CompiledRuleSet, request: unknown): FailClosedError {
  try {
    rs.evaluate(request as RequestAttributes);
  } catch (err) {
    if (err instanceof FailClosedError) return err;
    throw err;
  }
  throw new Error('expected evaluation to fail closed');
}
/** The winner's id, or the fail-closed code. */
function result(run: () => Outcome): string {
  try {
    return run().ruleId;
  } catch (err) {
    if (err instanceof FailClosedError) return `${err.code}:${err.attribute ?? ''}`;
    throw err;
  }
}

describe('compiled evaluator: fail-closed request checks', () => {
  const rs = compileRuleSet(ruleSet([{ id: 'all', precedence: 0, when: {}, then: outcome('P50') }]), 't.json', domain);

  it('rejects a request that is not an object, naming the request itself', () => {
    const before = rs.failClosedCount;
    const err = failure(rs, 5);
    expect(err).toMatchObject({ code: 'UNKNOWN_VALUE', attribute: 'request', value: 5 });
    expect(err.message).toBe('unknown request 5: must be an object; rejected (fail-closed)');
    expect(failure(rs, 'PTV1')).toMatchObject({ code: 'UNKNOWN_VALUE', attribute: 'request', value: 'PTV1' });
    expect(failure(rs, null)).toMatchObject({ code: 'UNKNOWN_VALUE', attribute: 'request', value: null });
    expect(rs.failClosedCount).toBe(before + 3);
  });

  it('rejects a non-string region even when no rule looks at the region', () => {
    const before = rs.failClosedCount;
    const err = failure(rs, { classification: 'ON_DEMAND', region: 42 });
    expect(err).toMatchObject({ code: 'UNKNOWN_VALUE', attribute: 'region', value: 42 });
    expect(err.message).toBe('unknown region 42: must be a string or null; rejected (fail-closed)');
    expect(rs.failClosedCount).toBe(before + 1);
  });

  it('rejects a non-string account id even when no rule names an account', () => {
    const before = rs.failClosedCount;
    const err = failure(rs, { classification: 'ON_DEMAND', accountId: 123456 });
    expect(err).toMatchObject({ code: 'UNKNOWN_VALUE', attribute: 'accountId', value: 123456 });
    expect(err.message).toBe('unknown accountId 123456: must be a string or null; rejected (fail-closed)');
    expect(failure(rs, { classification: 'ON_DEMAND', accountId: { id: 'a' } }).message).toBe('unknown accountId {"id":"a"}: must be a string or null; rejected (fail-closed)');
    expect(rs.failClosedCount).toBe(before + 2);
  });

  it('accepts null and absent free attributes as missing', () => {
    expect(rs.evaluate({ classification: 'ON_DEMAND', region: null, accountId: null, modelId: null }).ruleId).toBe('all');
    expect(rs.evaluate({ classification: 'ON_DEMAND', region: 'eu-west-1', accountId: '1', modelId: 'm' }).ruleId).toBe('all');
  });
});

describe('compiled evaluator agrees with the interpreter', () => {
  const doc = ruleSet(
    [
      { id: 'eu-big', precedence: 50, when: { modelId: ['vendor.big-*'], region: 'eu-west-1' }, then: outcome('P100', 0) },
      { id: 'no-model', precedence: 40, when: { modelId: null, serviceTier: 'FLEX' }, then: outcome('P10', 10, true) },
      { id: 'us-or-missing', precedence: 30, when: { region: ['us-east-1', null], classification: 'BATCH' }, then: outcome('P25') },
      { id: 'acct-or-none', precedence: 20, when: { accountId: ['111', null], requestType: 'BATCH' }, then: outcome('P75') },
      { id: 'priority', precedence: 10, when: { serviceTier: 'PRIORITY' }, then: outcome('P90', 0) },
      { id: 'typed', precedence: 5, when: { serviceTier: null, requestType: ['ON_DEMAND', null] }, then: outcome('P50') },
      { id: 'model-m1', precedence: 1, when: { modelId: 'm1' }, then: outcome('P5', 10, true) },
    ],
    {
      accountOverrides: [
        { id: 'acct-111-eu', accountId: '111', when: { region: 'eu-west-1' }, then: outcome('P100', 0) },
        { id: 'acct-222', accountId: '222', when: { serviceTier: 'DEFAULT' }, then: outcome('P90', 0) },
        { id: 'acct-222-m2', accountId: '222', when: { modelId: 'm2' }, then: outcome('P75') },
      ],
    },
  );

  it('returns the same winner (or the same fail-closed error) for every request in every mode', () => {
    const tiers = [...catalog.serviceTiers, null];
    const types = [...catalog.requestTypes, null];
    const models = [null, 'vendor.big-1', 'm1', 'm2'];
    const regions = [null, 'eu-west-1', 'us-east-1'];
    const accounts = [null, '111', '222', '999'];
    for (const mode of SERVICE_TIER_MODES) {
      const rs = compileRuleSet(doc, 't.json', domain, { mode });
      let mismatches = 0;
      let won = 0;
      for (const serviceTier of tiers)
        for (const classification of ['BATCH', 'ON_DEMAND'])
          for (const requestType of types)
            for (const modelId of models)
              for (const region of regions)
                for (const accountId of accounts) {
                  const request = { serviceTier, classification, requestType, modelId, region, accountId };
                  const compiled = result(() => rs.evaluate(request));
                  if (compiled !== result(() => interpret(rs.model, catalog, mode, request))) mismatches++;
                  if (!compiled.includes(':')) won++;
                }
      expect(mismatches).toBe(0);
      expect(won).toBeGreaterThan(0);
    }
  });

  it('walks the rules that depend on modelId and region in evaluation order', () => {
    const rs = compileRuleSet(doc, 't.json', domain);
    const base = { serviceTier: 'DEFAULT', classification: 'ON_DEMAND' };
    expect(rs.evaluate({ ...base, modelId: 'vendor.big-7', region: 'eu-west-1' }).ruleId).toBe('eu-big');
    expect(failure(rs, { ...base, modelId: 'vendor.big-7', region: 'us-east-1' }).code).toBe('NO_MATCHING_RULE');
    expect(rs.evaluate({ ...base, classification: 'BATCH', modelId: 'm1', region: 'ap-south-1' }).ruleId).toBe('model-m1');
    expect(rs.evaluate({ ...base, accountId: '111', region: 'eu-west-1' }).ruleId).toBe('acct-111-eu');
    expect(rs.evaluate({ ...base, accountId: '222', modelId: 'm1' }).ruleId).toBe('acct-222');
    expect(rs.evaluate({ ...base, serviceTier: 'FLEX', accountId: '222', modelId: 'm2' }).ruleId).toBe('acct-222-m2');
  });
});

const lintDoc = (rules: unknown[], extra: Record<string, unknown> = {}) => ruleSet(rules, { mode: 'service-tier', ...extra });
/** Findings without the (long) gap list: the kind, rule, related rules and message of each. */
const problems = (doc: unknown) =>
  lintRuleSet(doc, 'l.json', domain, { maxGaps: 0 })
    .filter((f) => f.kind !== 'gap')
    .map((f) => ({ kind: f.kind, pointer: f.pointer, ruleId: f.ruleId, related: f.related, message: f.message }));

describe('lint report of a document that does not parse', () => {
  it('lists the parse issues and reports no work done', () => {
    const report = lintRuleSetReport({ name: 'bad', scheme: 'tier', mode: 'service-tier', rules: [{ id: 'x', precedence: 'high', when: {}, then: outcome('P50') }] }, 'bad.json', domain);
    expect(report).toEqual({ findings: [{ kind: 'schema', file: 'bad.json', pointer: '/rules/0/precedence', message: 'must be integer' }], stats: { rules: 0, pairComparisons: 0 } });
  });
});

describe('lint: rules shadowed through a missing attribute', () => {
  it('reports a rule that only accepts a missing region behind an earlier rule that also does', () => {
    const doc = lintDoc([
      { id: 'no-region', precedence: 20, when: { region: null }, then: outcome('P90', 0) },
      { id: 'no-region-batch', precedence: 10, when: { region: null, classification: 'BATCH' }, then: outcome('P50') },
      { id: 'eu', precedence: 5, when: { region: 'eu-west-1' }, then: outcome('P25') },
      { id: 'us', precedence: 5, when: { region: 'us-east-1' }, then: outcome('P25') },
    ]);
    expect(problems(doc)).toMatchInlineSnapshot(`
      [
        {
          "kind": "unreachable",
          "message": "rule "no-region-batch" can never win: every request it matches is taken first by "no-region"",
          "pointer": "/rules/1",
          "related": [
            "no-region",
          ],
          "ruleId": "no-region-batch",
        },
      ]
    `);
  });
});

describe('lint: ambiguous rules', () => {
  it('reports a model glob and an exact model id of equal precedence that disagree', () => {
    const doc = lintDoc([
      { id: 'vendor-family', precedence: 5, when: { modelId: 'vendor.*' }, then: outcome('P90', 0) },
      { id: 'vendor-x', precedence: 5, when: { modelId: 'vendor.x' }, then: outcome('P50') },
      { id: 'rest', precedence: 0, when: {}, then: outcome('P25') },
    ]);
    expect(problems(doc)).toMatchInlineSnapshot(`
      [
        {
          "kind": "unreachable",
          "message": "rule "vendor-x" can never win: every request it matches is taken first by "vendor-family"",
          "pointer": "/rules/1",
          "related": [
            "vendor-family",
          ],
          "ruleId": "vendor-x",
        },
        {
          "kind": "ambiguous",
          "message": "rules "vendor-family" and "vendor-x" (both precedence 5) both match some requests but disagree (P90 qos 0 vs P50 qos 1); "vendor-family" wins only because it comes first — give one a higher precedence",
          "pointer": "/rules/1",
          "related": [
            "vendor-family",
          ],
          "ruleId": "vendor-x",
        },
      ]
    `);
  });

  it('reports each disagreeing pair once, even when the rules share both a value and a missing region', () => {
    const doc = lintDoc([
      { id: 'eu-or-none-a', precedence: 5, when: { region: ['eu-west-1', null] }, then: outcome('P90', 0) },
      { id: 'eu-or-none-b', precedence: 5, when: { region: ['eu-west-1', null] }, then: outcome('P50') },
      { id: 'eu-only', precedence: 5, when: { region: 'eu-west-1' }, then: outcome('P10', 10, true) },
      { id: 'rest', precedence: 0, when: {}, then: outcome('P25') },
    ]);
    expect(problems(doc)).toMatchInlineSnapshot(`
      [
        {
          "kind": "unreachable",
          "message": "rule "eu-or-none-b" can never win: every request it matches is taken first by "eu-or-none-a"",
          "pointer": "/rules/1",
          "related": [
            "eu-or-none-a",
          ],
          "ruleId": "eu-or-none-b",
        },
        {
          "kind": "unreachable",
          "message": "rule "eu-only" can never win: every request it matches is taken first by "eu-or-none-a"",
          "pointer": "/rules/2",
          "related": [
            "eu-or-none-a",
          ],
          "ruleId": "eu-only",
        },
        {
          "kind": "ambiguous",
          "message": "rules "eu-or-none-a" and "eu-or-none-b" (both precedence 5) both match some requests but disagree (P90 qos 0 vs P50 qos 1); "eu-or-none-a" wins only because it comes first — give one a higher precedence",
          "pointer": "/rules/1",
          "related": [
            "eu-or-none-a",
          ],
          "ruleId": "eu-or-none-b",
        },
        {
          "kind": "ambiguous",
          "message": "rules "eu-or-none-a" and "eu-only" (both precedence 5) both match some requests but disagree (P90 qos 0 vs P10 qos 10 preemptable); "eu-or-none-a" wins only because it comes first — give one a higher precedence",
          "pointer": "/rules/2",
          "related": [
            "eu-or-none-a",
          ],
          "ruleId": "eu-only",
        },
        {
          "kind": "ambiguous",
          "message": "rules "eu-or-none-b" and "eu-only" (both precedence 5) both match some requests but disagree (P50 qos 1 vs P10 qos 10 preemptable); "eu-or-none-b" wins only because it comes first — give one a higher precedence",
          "pointer": "/rules/2",
          "related": [
            "eu-or-none-b",
          ],
          "ruleId": "eu-only",
        },
      ]
    `);
  });
});

describe('lint search statistics', () => {
  const stats = (rules: unknown[], extra: Record<string, unknown> = {}) => lintRuleSetReport(lintDoc(rules, extra), 'l.json', domain).stats;
  const rule = (id: string, precedence: number, when: Record<string, unknown>, tier = 'P50') => ({ id, precedence, when, then: outcome(tier) });

  it('compares each rule naming its own model with only the rules that could cover or share it', () => {
    const rules = [...['m1', 'm2', 'm3', 'm4', 'm5'].map((m, k) => rule(`model-${m}`, 10 - k, { modelId: m })), rule('rest', 0, {})];
    expect(stats(rules)).toMatchInlineSnapshot(`
      {
        "pairComparisons": 0,
        "rules": 6,
      }
    `);
  });

  it('compares each account override with the rules that could cover or share its account', () => {
    const overrides = ['1', '2', '3', '4'].map((a) => ({ id: `acct-${a}`, accountId: a, then: outcome('P90', 0) }));
    expect(stats([rule('all', 0, {}), rule('eu', 1, { region: 'eu-west-1' })], { accountOverrides: overrides })).toMatchInlineSnapshot(`
      {
        "pairComparisons": 1,
        "rules": 6,
      }
    `);
  });

  it('narrows the search on a condition that only accepts a missing region', () => {
    const rules = [rule('none-a', 9, { region: null, classification: 'BATCH' }), rule('eu', 8, { region: 'eu-west-1' }), rule('us', 7, { region: 'us-east-1' }), rule('ap', 6, { region: 'ap-south-1' }), rule('none-b', 5, { region: null }), rule('none-c', 4, { region: null, serviceTier: 'FLEX' }, 'P25')];
    expect(stats(rules)).toMatchInlineSnapshot(`
      {
        "pairComparisons": 3,
        "rules": 6,
      }
    `);
  });

  it('narrows the search on a condition that only holds model globs', () => {
    const rules = [rule('m1', 9, { modelId: 'm1' }), rule('m2', 8, { modelId: 'm2' }), rule('vendor', 7, { modelId: 'vendor.*' }), rule('other', 6, { modelId: 'other/*' }), rule('m3', 5, { modelId: 'm3' })];
    expect(stats(rules)).toMatchInlineSnapshot(`
      {
        "pairComparisons": 3,
        "rules": 5,
      }
    `);
  });

  it('narrows equal-precedence rivals on the values and the missing region they accept', () => {
    const rules = [
      rule('eu-or-none', 5, { region: ['eu-west-1', null] }, 'P90'),
      rule('us', 5, { region: 'us-east-1' }, 'P75'),
      rule('ap', 5, { region: 'ap-south-1' }, 'P25'),
      rule('eu', 5, { region: 'eu-west-1' }, 'P10'),
      rule('none', 5, { region: null, modelId: 'm1' }, 'P5'),
      rule('m1', 5, { modelId: 'm1' }, 'P50'),
    ];
    expect(stats(rules)).toMatchInlineSnapshot(`
      {
        "pairComparisons": 9,
        "rules": 6,
      }
    `);
  });

  it('prefers the missing-model candidates over equally many region candidates', () => {
    // For "none-eu" both its missing modelId and its region value have two candidates; the
    // modelId ones come first and hold no earlier rule, so nothing is compared.
    const rules = [rule('x-eu', 9, { modelId: 'x', region: 'eu-west-1' }), rule('none-eu', 8, { modelId: null, region: 'eu-west-1' }), rule('none-us', 7, { modelId: null, region: 'us-east-1' })];
    expect(stats(rules)).toEqual({ rules: 3, pairComparisons: 0 });
  });

  it('uses the first of equally narrow attributes and skips values no earlier rule names', () => {
    const rules = [rule('eu', 9, { region: 'eu-west-1' }), rule('m1', 8, { modelId: 'm1' }), rule('us-m2', 7, { region: 'us-east-1', modelId: 'm2' }), rule('acct', 6, { accountId: '7', modelId: 'm1' }), rule('rest', 0, {})];
    expect(stats(rules)).toMatchInlineSnapshot(`
      {
        "pairComparisons": 3,
        "rules": 5,
      }
    `);
  });
});

describe('lint gaps', () => {
  it('names the first uncovered combination and sums up the rest', () => {
    const doc = lintDoc([{ id: 'eu-only', precedence: 0, when: { region: 'eu-west-1' }, then: outcome('P50') }, { id: 'not-batch', precedence: 0, when: { classification: ['PTV1', 'PTV2', 'PRIORITY_ACCESS', 'PREMIUM_ON_DEMAND', 'ON_DEMAND', 'FLEX', 'BEST_EFFORT_ON_DEMAND', 'CROSS_REGION', 'INTERNAL'] }, then: outcome('P50') }]);
    expect(lintRuleSet(doc, 'g.json', domain, { maxGaps: 1 })).toMatchInlineSnapshot(`
      [
        {
          "example": {
            "classification": "BATCH",
            "serviceTier": "RESERVED",
          },
          "file": "g.json",
          "kind": "gap",
          "message": "no rule matches {"serviceTier":"RESERVED","classification":"BATCH"} in service-tier mode: it would fail closed",
          "pointer": "/rules",
        },
        {
          "file": "g.json",
          "kind": "gap",
          "message": "... and 4 more catalog combinations no rule matches (5 in all)",
          "pointer": "/rules",
        },
      ]
    `);
  });
});
