import fc from 'fast-check';
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { loadDomain } from '../../src/config/index.js';
import { compileRuleSet, globWitness, lintRuleSet } from '../../src/rules/index.js';

// The rule engine's matcher options (src/rules/parse.ts), so the oracle matches what rules match.
const matches = (pattern: string, value: string) => picomatch(pattern, { dot: true, bash: true })(value);

describe('globWitness', () => {
  it('finds a value two overlapping globs both match', () => {
    for (const [a, b] of [
      ['atlas-*', '*-v1'],
      ['atlas-?-v1', 'atlas-x*'],
      ['*', 'nova-pro'],
      ['a*b*c', '*bc'],
    ] as const) {
      const witness = globWitness(a, b);
      expect(typeof witness, `${a} / ${b}`).toBe('string');
      expect(matches(a, witness as string) && matches(b, witness as string), `${a} / ${b} → ${witness}`).toBe(true);
    }
  });

  it('proves disjoint globs disjoint', () => {
    expect(globWitness('atlas-*', 'nova-*')).toBeNull();
    expect(globWitness('*-v1', '*-v2')).toBeNull();
    expect(globWitness('model-?', 'model-??')).toBeNull();
  });

  it('declines to decide syntax beyond literals, ? and *', () => {
    expect(globWitness('atlas-{pro,lite}', 'nova-*')).toBeUndefined();
    expect(globWitness('atlas-[ab]', 'atlas-*')).toBeUndefined();
    expect(globWitness('org/atlas-*', '*')).toBeUndefined();
  });

  it('is exact for the glob model: a witness matches both, null means no value does', () => {
    // The model: `*` any string (with starTakesOne: at least one character), `?` any one
    // character. The real matcher accepts a subset of the first.
    const modelOf = (starTakesOne: boolean) => (pattern: string) =>
      new RegExp(`^${pattern.replace(/[.-]/g, '\\$&').replace(/\?/g, '.').replace(/\*+/g, starTakesOne ? '.+' : '.*')}$`);
    const glob = fc.stringMatching(/^[ab.*?-]{1,6}$/);
    const value = fc.stringMatching(/^[abx.-]{1,8}$/);
    fc.assert(
      fc.property(glob, glob, fc.array(value, { maxLength: 30 }), fc.boolean(), (a, b, values, starTakesOne) => {
        const model = modelOf(starTakesOne);
        const witness = globWitness(a, b, { starTakesOne });
        if (typeof witness === 'string') {
          expect(witness.length).toBeGreaterThan(0);
          expect(model(a).test(witness) && model(b).test(witness)).toBe(true);
        } else {
          expect(witness).toBeNull();
          for (const v of values) expect(model(a).test(v) && model(b).test(v)).toBe(false);
          if (!starTakesOne) for (const v of values) expect(matches(a, v) && matches(b, v)).toBe(false);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('lint with model globs', () => {
  const domain = loadDomain();
  const ruleSet = (first: string, second: string) => ({
    name: 'families',
    scheme: 'tier',
    mode: 'service-tier',
    rules: [
      { id: 'first', precedence: 10, when: { modelId: first }, then: { tier: 'P75', preemptable: false } },
      { id: 'second', precedence: 10, when: { modelId: second }, then: { tier: 'P25', preemptable: true } },
      { id: 'rest', precedence: 0, when: {}, then: { tier: 'P50', preemptable: false } },
    ],
  });

  it('does not call rules on disjoint model families ambiguous', () => {
    expect(lintRuleSet(ruleSet('atlas-*', 'nova-*'), 'f.json', domain).filter((f) => f.kind === 'ambiguous')).toEqual([]);
  });

  it('reports overlapping model globs with a model both match in the example', () => {
    const [finding, ...rest] = lintRuleSet(ruleSet('atlas-*', '*-v1'), 'f.json', domain).filter((f) => f.kind === 'ambiguous');
    expect(rest).toEqual([]);
    expect(finding?.ruleId).toBe('second');
    const modelId = finding?.example?.modelId;
    expect(typeof modelId).toBe('string');
    expect(matches('atlas-*', modelId as string) && matches('*-v1', modelId as string)).toBe(true);
  });

  it('shows a model a negated class accepts in the example of an overlap', () => {
    for (const glob of ['atlas-[!b]', 'atlas-[^0-9]']) {
      const [finding] = lintRuleSet(ruleSet(glob, '*'), 'f.json', domain).filter((f) => f.kind === 'ambiguous');
      const modelId = finding?.example?.modelId;
      expect(typeof modelId, glob).toBe('string');
      expect(compileRuleSet(ruleSet(glob, '*'), 'f.json', domain).evaluate({ accountId: 'a', classification: 'ON_DEMAND', modelId: modelId as string, region: null, serviceTier: 'DEFAULT', requestType: null }).ruleId, `${glob} → ${String(modelId)}`).toBe('first');
    }
  });

  it('still assumes an overlap where the glob syntax is beyond what it decides', () => {
    expect(lintRuleSet(ruleSet('atlas-{pro,lite}', 'nova-*'), 'f.json', domain).filter((f) => f.kind === 'ambiguous')).toHaveLength(1);
  });
});

describe('model globs in a compiled rule set', () => {
  const domain = loadDomain();
  const tierFor = (glob: string, modelId: string) =>
    compileRuleSet(
      {
        name: 'classes',
        scheme: 'tier',
        mode: 'service-tier',
        rules: [
          { id: 'globbed', precedence: 10, when: { modelId: glob }, then: { tier: 'P75', preemptable: false } },
          { id: 'rest', precedence: 0, when: {}, then: { tier: 'P50', preemptable: false } },
        ],
      },
      'f.json',
      domain,
    ).evaluate({ accountId: 'acct-1', classification: 'ON_DEMAND', modelId, region: 'us-east-1', serviceTier: 'DEFAULT', requestType: null }).ruleId;

  it('reads [!…] as a shell does, a class of anything but the listed characters, like [^…]', () => {
    for (const glob of ['[!a]tlas-*', '[^a]tlas-*']) {
      expect(tierFor(glob, 'xtlas-v1'), glob).toBe('globbed');
      expect(tierFor(glob, 'atlas-v1'), glob).toBe('rest');
      expect(tierFor(glob, '!tlas-v1'), glob).toBe('globbed');
    }
    expect(tierFor('m-[!0-9]', 'm-x')).toBe('globbed');
    expect(tierFor('m-[!0-9]', 'm-7')).toBe('rest');
  });

  it('leaves an escaped bracket literal', () => {
    expect(tierFor('\\[!a]-*', '[!a]-v1')).toBe('globbed');
    expect(tierFor('\\[!a]-*', 'x-v1')).toBe('rest');
  });
});
