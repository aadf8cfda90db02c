import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadDomain, loadRuleSet } from '../../src/config/index.js';
import { catalogCells, compileRuleSet, diffRuleSets, FailClosedError, interpret, lintRuleSet, SERVICE_TIER_MODES, type CompiledRuleSet, type RequestAttributes } from '../../src/rules/index.js';

// Under mutation testing (PRIO_MUTATION) every mutant re-runs these: an eighth of the cases
// keeps each run within the test timeout on a shared machine (fewer random cases per mutant).
const runs = (n: number) => (process.env.PRIO_MUTATION ? Math.ceil(n / 8) : n);

const domain = loadDomain();
const { catalog, scale } = domain;

const MODELS = ['vendor.big-1', 'vendor.small', 'other/model', 'm'];
const MODEL_PATTERNS = ['vendor.*', 'vendor.big-?', '*', 'other/**', 'm', 'vendor.small'];
const REGIONS = ['us-east-1', 'eu-west-1'];
const ACCOUNTS = ['111', '222', '333'];

const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
const spec = (values: readonly (string | null)[]) =>
  fc.oneof(fc.constantFrom(...values), fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 3 }));

const conditions = (withAccount: boolean) =>
  fc.record(
    {
      serviceTier: optional(spec([...catalog.serviceTiers, null])),
      classification: optional(spec(catalog.classifications)),
      provisioned: optional(fc.boolean()),
      requestType: optional(spec([...catalog.requestTypes, null])),
      modelId: optional(spec([...MODEL_PATTERNS, null])),
      region: optional(spec([...REGIONS, null])),
      ...(withAccount ? { accountId: optional(spec([...ACCOUNTS, null])) } : {}),
    },
    { requiredKeys: [] },
  ).map((w) => Object.fromEntries(Object.entries(w).filter(([, v]) => v !== undefined)));

const outcome = (scheme: 'tier' | 'legacy') =>
  fc.record<Record<string, unknown>>({
    priority: scheme === 'tier' ? fc.record({ tier: fc.constantFrom(...scale.tiers.map((t) => t.name)) }) : fc.record({ level: fc.constantFrom(0, 1, 2, 3) }),
    qos: optional(fc.constantFrom(...catalog.qosLevels)),
    preemptable: fc.boolean(),
  }).map(({ priority, ...o }) => ({ ...(priority as object), ...o })).map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)));

/** Random valid rule-set documents: ties, nulls, globs, derived attributes and account overrides included. */
const ruleSetDoc = fc.constantFrom<'tier' | 'legacy'>('tier', 'legacy').chain((scheme) =>
  fc.record({
    name: fc.constant('random'),
    scheme: fc.constant(scheme),
    mode: fc.constantFrom(...SERVICE_TIER_MODES),
    rules: fc.array(fc.record({ precedence: fc.integer({ min: 0, max: 4 }), when: conditions(true), then: outcome(scheme) }), { minLength: 0, maxLength: 12 }),
    catchAll: fc.boolean(),
    catchAllThen: outcome(scheme),
    accountOverrides: fc.array(fc.record({ accountId: fc.constantFrom(...ACCOUNTS), when: optional(conditions(false)), then: outcome(scheme) }), { maxLength: 4 }),
  }).map(({ catchAll, catchAllThen, rules, accountOverrides, ...rest }) => ({
    ...rest,
    rules: [...rules, ...(catchAll ? [{ precedence: -1, when: {}, then: catchAllThen }] : [])].map((r, i) => ({ id: `r${i}`, ...r })),
    accountOverrides: accountOverrides.map((o, i) => ({ id: `o${i}`, ...o, ...(o.when === undefined ? { when: undefined } : {}) })).map(({ when, ...o }) => (when === undefined ? o : { ...o, when })),
  })),
);

/** Random requests, sometimes carrying values outside the catalog or of the wrong type. */
const request: fc.Arbitrary<RequestAttributes> = fc
  .record(
    {
      serviceTier: fc.constantFrom<unknown>(...catalog.serviceTiers, null, undefined, 'GOLD'),
      classification: fc.oneof({ weight: 12, arbitrary: fc.constantFrom<unknown>(...catalog.classifications) }, { weight: 1, arbitrary: fc.constantFrom<unknown>('NOPE', null, 7) }),
      requestType: fc.constantFrom<unknown>(...catalog.requestTypes, null, undefined, 'STREAM'),
      modelId: fc.oneof({ weight: 8, arbitrary: fc.constantFrom<unknown>(...MODELS, null, undefined) }, { weight: 1, arbitrary: fc.string() }, { weight: 1, arbitrary: fc.constant<unknown>(42) }),
      region: fc.constantFrom<unknown>(...REGIONS, 'ap-south-1', null, undefined),
      accountId: fc.constantFrom<unknown>(...ACCOUNTS, '999', null, undefined),
    },
    { requiredKeys: [] },
  )
  .map((r) => r as unknown as RequestAttributes);

type Result = { ruleId: string } | { code: string; attribute: string | undefined };
function outcomeOf(f: () => { ruleId: string }): Result {
  try {
    return { ruleId: f().ruleId };
  } catch (err) {
    if (err instanceof FailClosedError) return { code: err.code, attribute: err.attribute };
    throw err;
  }
}

describe('rules engine properties', () => {
  it('the compiled evaluator agrees with the reference interpreter on random rule sets and requests', () => {
    fc.assert(
      fc.property(ruleSetDoc, fc.constantFrom(undefined, ...SERVICE_TIER_MODES), fc.array(request, { minLength: 1, maxLength: 25 }), (doc, mode, requests) => {
        const rs = compileRuleSet(doc, 'random.json', domain, mode === undefined ? {} : { mode });
        let failures = 0;
        for (const r of requests) {
          const compiled = outcomeOf(() => rs.evaluate(r));
          const reference = outcomeOf(() => interpret(rs.model, catalog, rs.mode, r));
          expect(compiled).toEqual(reference);
          if ('code' in compiled) failures++;
          const explained = rs.explain(r);
          expect(explained.winner).toBe('ruleId' in compiled ? compiled.ruleId : null);
        }
        expect(rs.failClosedCount).toBe(failures);
      }),
      { numRuns: runs(400) },
    );
  });

  it('a rule set lint finds no gap in is total over the catalog and deterministic', () => {
    const freeValue = <T>(values: readonly T[]) => fc.constantFrom<T | null>(...values, null);
    fc.assert(
      fc.property(ruleSetDoc, freeValue(MODELS), freeValue([...REGIONS, 'ap-south-1']), freeValue([...ACCOUNTS, '999']), (doc, modelId, region, accountId) => {
        const gaps = lintRuleSet(doc, 'random.json', domain).filter((f) => f.kind === 'gap');
        fc.pre(gaps.length === 0);
        const rs = compileRuleSet(doc, 'random.json', domain);
        for (const cell of catalogCells(catalog)) {
          const r = { ...cell, modelId, region, accountId };
          const first = rs.evaluate(r);
          expect(rs.evaluate({ ...r })).toBe(first);
        }
        expect(rs.failClosedCount).toBe(0);
      }),
      { numRuns: runs(150) },
    );
  });

  it('lint findings are sound: an unreachable rule never wins, a gap example really fails closed', () => {
    const freeValue = <T>(values: readonly T[]) => fc.constantFrom<T | null>(...values, null);
    fc.assert(
      fc.property(ruleSetDoc, fc.array(fc.tuple(freeValue(MODELS), freeValue([...REGIONS, 'ap-south-1']), freeValue([...ACCOUNTS, '999'])), { minLength: 1, maxLength: 4 }), (doc, frees) => {
        const findings = lintRuleSet(doc, 'random.json', domain, { maxGaps: 1000 });
        const rs = compileRuleSet(doc, 'random.json', domain);
        const unreachable = new Set(findings.filter((f) => f.kind === 'unreachable').map((f) => f.ruleId));
        for (const cell of catalogCells(catalog)) {
          for (const [modelId, region, accountId] of frees) {
            const winner = outcomeOf(() => rs.evaluate({ ...cell, modelId, region, accountId }));
            if ('ruleId' in winner) expect(unreachable.has(winner.ruleId)).toBe(false);
          }
        }
        for (const gap of findings.filter((f) => f.kind === 'gap')) {
          expect(outcomeOf(() => rs.evaluate(gap.example as RequestAttributes))).toEqual({ code: 'NO_MATCHING_RULE', attribute: undefined });
        }
      }),
      { numRuns: runs(150) },
    );
  });

  it('the shipped rule sets are total over the catalog whatever the model, region and account', () => {
    const sets: CompiledRuleSet[] = ['rules/legacy.json', 'rules/service_tier.json'].map((f) => loadRuleSet(f, domain));
    fc.assert(
      fc.property(fc.option(fc.string()), fc.option(fc.string()), fc.option(fc.string()), (modelId, region, accountId) => {
        for (const rs of sets) for (const cell of catalogCells(catalog)) rs.evaluate({ ...cell, modelId, region, accountId });
      }),
      { numRuns: runs(50) },
    );
  });

  it('the static diff of a rule set with itself is empty', () => {
    fc.assert(
      fc.property(ruleSetDoc, fc.constantFrom(...SERVICE_TIER_MODES), (doc, mode) => {
        const a = compileRuleSet(doc, 'random.json', domain, { mode });
        const b = compileRuleSet(doc, 'random.json', domain, { mode });
        const diff = diffRuleSets(a, b);
        expect(diff.rows).toEqual([]);
        expect(diff.same).toBe(diff.inputs);
      }),
      { numRuns: runs(25) },
    );
  });
});
