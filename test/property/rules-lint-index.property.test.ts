import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadDomain } from '../../src/config/index.js';
import { lintRuleSet, lintRuleSetReport, parseRuleSet, SERVICE_TIER_MODES, type RuleSetModel } from '../../src/rules/index.js';
import { referenceLint } from './rules-lint-model.js';

// Under mutation testing (PRIO_MUTATION) every mutant re-runs these: an eighth of the cases
// keeps each run within the test timeout on a shared machine (fewer random cases per mutant).
const runs = (n: number) => (process.env.PRIO_MUTATION ? Math.ceil(n / 8) : n);

const domain = loadDomain();
const { catalog, scale } = domain;

// Small pools, so random rules often name the same account, model or region: the index must
// keep every pair that shares one and may drop only pairs that cannot meet.
const ACCOUNTS = ['111', '222', '333', '444'];
const MODELS = ['m1', 'm2', 'vendor.big-1', 'other/model'];
const MODEL_GLOBS = ['vendor.*', 'vendor.big-?', '*', '**', 'other/**', 'm{1,2}', '*-1', 'm?'];
const REGIONS = ['us-east-1', 'eu-west-1', 'ap-south-1'];

const optional = <T>(arb: fc.Arbitrary<T>, freq = 2) => fc.option(arb, { nil: undefined, freq });
const spec = (values: readonly (string | null)[]) => fc.oneof(fc.constantFrom(...values), fc.uniqueArray(fc.constantFrom(...values), { minLength: 1, maxLength: 3 }));
const defined = (w: Record<string, unknown>) => Object.fromEntries(Object.entries(w).filter(([, v]) => v !== undefined));

const conditions = (withAccount: boolean) =>
  fc
    .record(
      {
        serviceTier: optional(spec([...catalog.serviceTiers, null]), 3),
        classification: optional(spec(catalog.classifications), 3),
        provisioned: optional(fc.boolean(), 6),
        requestType: optional(spec([...catalog.requestTypes, null]), 3),
        // A `*` that also accepts a missing model covers a rule with no model condition at all.
        modelId: optional(fc.oneof(spec([...MODELS, ...MODEL_GLOBS, null]), fc.constantFrom(['*', null], ['**', null], ['vendor.*', null]))),
        region: optional(spec([...REGIONS, null])),
        ...(withAccount ? { accountId: optional(spec([...ACCOUNTS, null])) } : {}),
      },
      { requiredKeys: [] },
    )
    .map(defined);

// Few distinct outcomes, so same-precedence overlaps are sometimes agreements and sometimes not.
const outcome = (scheme: 'tier' | 'legacy') =>
  fc.record({ level: fc.integer({ min: 0, max: 2 }), preemptable: fc.boolean() }).map(({ level, preemptable }) => (scheme === 'tier' ? { tier: (scale.tiers[level * 2] as { name: string }).name, preemptable } : { level, preemptable }));

const ruleSetDoc = fc.constantFrom<'tier' | 'legacy'>('tier', 'legacy').chain((scheme) =>
  fc
    .record({
      mode: fc.constantFrom(...SERVICE_TIER_MODES),
      rules: fc.array(fc.record({ precedence: fc.integer({ min: 0, max: 3 }), when: conditions(true), then: outcome(scheme) }), { maxLength: 30 }),
      catchAll: fc.boolean(),
      accountOverrides: fc.array(fc.record({ accountId: fc.constantFrom(...ACCOUNTS), when: optional(conditions(false)), then: outcome(scheme) }), { maxLength: 12 }),
    })
    .map(({ mode, rules, catchAll, accountOverrides }) => ({
      name: 'random',
      scheme,
      mode,
      rules: [...rules, ...(catchAll ? [{ precedence: -1, when: {}, then: scheme === 'tier' ? { tier: 'P50', preemptable: false } : { level: 2, preemptable: false } }] : [])].map((r, i) => ({ id: `r${i}`, ...r })),
      accountOverrides: accountOverrides.map((o, i) => defined({ id: `o${i}`, ...o })),
    })),
);

describe('indexed lint', () => {
  it('finds exactly what the all-pairs lint finds, in the same order', () => {
    fc.assert(
      fc.property(ruleSetDoc, fc.constantFrom(undefined, ...SERVICE_TIER_MODES), fc.integer({ min: 0, max: 30 }), (doc, mode, maxGaps) => {
        const model = parseRuleSet(doc, 'random.json', domain).model as RuleSetModel;
        expect(model).not.toBeNull();
        const expected = referenceLint(model, domain, mode ?? model.declaredMode, maxGaps);
        expect(lintRuleSet(doc, 'random.json', domain, { ...(mode === undefined ? {} : { mode }), maxGaps })).toEqual(expected);
      }),
      { numRuns: runs(400) },
    );
  });

  it('compares each rule with at most every other, once per search', () => {
    fc.assert(
      fc.property(ruleSetDoc, (doc) => {
        const { stats } = lintRuleSetReport(doc, 'random.json', domain);
        // Shadowing looks at earlier rules, ambiguity at later ones: n(n-1)/2 pairs each at most.
        expect(stats.pairComparisons).toBeLessThanOrEqual(stats.rules * (stats.rules - 1));
      }),
      { numRuns: runs(100) },
    );
  });
});
