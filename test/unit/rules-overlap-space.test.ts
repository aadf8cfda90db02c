import { describe, expect, it } from 'vitest';
import { loadDomain } from '../../src/config/index.js';
import { catalogCells, compileRuleSet, diffRuleSets, globWitness, lintRuleSet, type ServiceTierMode } from '../../src/rules/index.js';

const domain = loadDomain();
const FILE = 'overlap.json';

type RuleDoc = { id: string; precedence: number; when: Record<string, unknown>; then: Record<string, unknown> };

/** A catch-all at the lowest precedence keeps gaps out of the findings under test. */
const CATCH_ALL: RuleDoc = { id: 'catch-all', precedence: -100, when: {}, then: { tier: 'P5', preemptable: true } };

const P90 = { tier: 'P90', preemptable: false };
const P75 = { tier: 'P75', preemptable: false };
const P25 = { tier: 'P25', preemptable: true };

function doc(rules: RuleDoc[], extra: { mode?: ServiceTierMode; scheme?: string; accountOverrides?: unknown[]; catchAll?: boolean } = {}) {
  const { mode = 'service-tier', scheme = 'tier', accountOverrides, catchAll = true } = extra;
  const all = catchAll ? [...rules, scheme === 'tier' ? CATCH_ALL : { ...CATCH_ALL, then: { level: 3, preemptable: true } }] : rules;
  return { name: 'overlap', scheme, mode, rules: all, ...(accountOverrides === undefined ? {} : { accountOverrides }) };
}

const lint = (rules: RuleDoc[], extra: Parameters<typeof doc>[1] = {}, maxGaps?: number) =>
  lintRuleSet(doc(rules, extra), FILE, domain, maxGaps === undefined ? {} : { maxGaps });

/** [kind, ruleId, related] of each finding. */
const summary = (rules: RuleDoc[], extra: Parameters<typeof doc>[1] = {}) => lint(rules, extra).map((f) => [f.kind, f.ruleId, f.related]);

/** The example request of the single ambiguous finding between rules `a` and `b` (same precedence, different outcomes). */
function ambiguousExample(whenA: Record<string, unknown>, whenB: Record<string, unknown>) {
  const findings = lint([
    { id: 'a', precedence: 10, when: whenA, then: P90 },
    { id: 'b', precedence: 10, when: whenB, then: P75 },
  ]).filter((f) => f.kind === 'ambiguous');
  expect(findings).toHaveLength(1);
  return findings[0]?.example;
}

describe('shadowing: which earlier rule takes every request of a later one', () => {
  it('a rule accepting any model id and a missing one shadows a later rule that does not look at the model', () => {
    expect(
      summary([
        { id: 'any-model', precedence: 10, when: { modelId: ['*', null] }, then: P90 },
        { id: 'everything', precedence: 5, when: {}, then: P75 },
      ]),
    ).toStrictEqual([
      ['unreachable', 'everything', ['any-model']],
      ['unreachable', 'catch-all', ['any-model']],
    ]);
  });

  it('a rule accepting any present model id does not shadow a later rule that also takes requests without one', () => {
    expect(
      summary([
        { id: 'any-model', precedence: 10, when: { modelId: '*' }, then: P90 },
        { id: 'everything', precedence: 5, when: {}, then: P75 },
      ]),
    ).toStrictEqual([['unreachable', 'catch-all', ['everything']]]);
  });

  it('`*` and `**` accept every model id, so they shadow a later rule naming a model family', () => {
    for (const universal of ['*', '**']) {
      expect(
        summary([
          { id: 'any-model', precedence: 10, when: { modelId: universal }, then: P90 },
          { id: 'atlas', precedence: 5, when: { modelId: 'atlas-*' }, then: P75 },
          { id: 'atlas-1', precedence: 4, when: { modelId: 'atlas-1' }, then: P75 },
        ]),
        universal,
      ).toStrictEqual([
        ['unreachable', 'atlas', ['any-model']],
        ['unreachable', 'atlas-1', ['any-model']],
      ]);
    }
  });

  it('a rule listing the same glob among others shadows a later rule with that glob', () => {
    expect(
      summary([
        { id: 'families', precedence: 10, when: { modelId: ['atlas-*', 'nova-*'] }, then: P90 },
        { id: 'atlas', precedence: 5, when: { modelId: 'atlas-*' }, then: P75 },
      ]),
    ).toStrictEqual([['unreachable', 'atlas', ['families']]]);
  });

  it('a rule with a different glob is not taken to shadow a later one', () => {
    expect(
      summary([
        { id: 'atlas', precedence: 10, when: { modelId: 'atlas-*' }, then: P90 },
        { id: 'nova', precedence: 5, when: { modelId: 'nova-*' }, then: P75 },
      ]),
    ).toStrictEqual([]);
  });

  it('lists every shadowing rule, in catalog order, in the message', () => {
    const findings = lint([
      { id: 'flex', precedence: 10, when: { serviceTier: 'FLEX' }, then: P90 },
      { id: 'not-flex', precedence: 9, when: { serviceTier: ['RESERVED', 'PRIORITY', 'DEFAULT', null] }, then: P75 },
      { id: 'batch', precedence: 5, when: { classification: 'BATCH' }, then: P25 },
    ]);
    expect(findings).toStrictEqual([
      {
        kind: 'unreachable',
        file: FILE,
        pointer: '/rules/2',
        ruleId: 'batch',
        related: ['not-flex', 'flex'],
        message: 'rule "batch" can never win: every request it matches is taken first by "not-flex", "flex"',
      },
      {
        kind: 'unreachable',
        file: FILE,
        pointer: '/rules/3',
        ruleId: 'catch-all',
        related: ['not-flex', 'flex'],
        message: 'rule "catch-all" can never win: every request it matches is taken first by "not-flex", "flex"',
      },
    ]);
  });
});

describe('unreachable rules that match no request at all', () => {
  it('names the service tier a request-type rule set ignores, with no related rules', () => {
    expect(lint([{ id: 'flex-only', precedence: 10, when: { serviceTier: 'FLEX' }, then: P90 }], { mode: 'request-type' })).toStrictEqual([
      {
        kind: 'unreachable',
        file: FILE,
        pointer: '/rules/0',
        ruleId: 'flex-only',
        message: 'rule "flex-only" matches no request in request-type mode: it needs a serviceTier, which this mode ignores (treats as missing)',
      },
    ]);
  });

  it('names the request type a service-tier rule set ignores', () => {
    expect(lint([{ id: 'batch-type', precedence: 10, when: { requestType: 'BATCH' }, then: P90 }]).map((f) => f.message)).toStrictEqual([
      'rule "batch-type" matches no request in service-tier mode: it needs a requestType, which this mode ignores (treats as missing)',
    ]);
  });

  it('a rule requiring a missing ignored attribute is not blamed on the mode', () => {
    // A request-type rule set sees every serviceTier as missing, so `serviceTier: null` holds;
    // the rule is unreachable only because its own conditions contradict each other.
    expect(lint([{ id: 'contradiction', precedence: 10, when: { serviceTier: null, provisioned: true, classification: 'ON_DEMAND' }, then: P90 }], { mode: 'request-type' }).map((f) => f.message)).toStrictEqual([
      'rule "contradiction" matches no request in request-type mode: its conditions exclude each other',
    ]);
  });

  it('in service-tier-with-fallback mode a rule needing both routing attributes is a contradiction, not a mode problem', () => {
    expect(lint([{ id: 'flex-batch', precedence: 10, when: { serviceTier: 'FLEX', requestType: 'BATCH' }, then: P90 }], { mode: 'service-tier-with-fallback' })).toStrictEqual([
      {
        kind: 'unreachable',
        file: FILE,
        pointer: '/rules/0',
        ruleId: 'flex-batch',
        message: 'rule "flex-batch" matches no request in service-tier-with-fallback mode: its conditions exclude each other',
      },
    ]);
    // The same rule set is fine where each attribute is seen on its own.
    expect(lint([{ id: 'batch-type', precedence: 10, when: { requestType: 'BATCH' }, then: P90 }], { mode: 'service-tier-with-fallback' })).toStrictEqual([]);
  });
});

describe('ambiguity: which same-precedence rules can meet on one request', () => {
  it('rules that both require a missing attribute meet on a request without it', () => {
    expect(
      lint([
        { id: 'flex-no-region', precedence: 10, when: { serviceTier: 'FLEX', region: ['us-east-1', null] }, then: P90 },
        { id: 'batch-no-region', precedence: 10, when: { classification: 'BATCH', region: ['us-east-1', null] }, then: P75 },
      ]),
    ).toStrictEqual([
      {
        kind: 'ambiguous',
        file: FILE,
        pointer: '/rules/1',
        ruleId: 'batch-no-region',
        related: ['flex-no-region'],
        // Both accept a request without a region, so the example leaves it out.
        example: { serviceTier: 'FLEX', classification: 'BATCH' },
        message:
          'rules "flex-no-region" and "batch-no-region" (both precedence 10) both match some requests but disagree (P90 qos 0 vs P75 qos 1); "flex-no-region" wins only because it comes first — give one a higher precedence',
      },
    ]);
  });

  it('rules that only accept a missing attribute meet on a request without it', () => {
    expect(summary([
      { id: 'a', precedence: 10, when: { serviceTier: 'FLEX', region: null }, then: P90 },
      { id: 'b', precedence: 10, when: { classification: 'BATCH', region: null }, then: P75 },
    ])).toStrictEqual([['ambiguous', 'b', ['a']]]);
    expect(ambiguousExample({ serviceTier: 'FLEX', region: null }, { classification: 'BATCH', region: null })).toStrictEqual({ serviceTier: 'FLEX', classification: 'BATCH' });
  });

  it('rules naming disjoint values never meet', () => {
    expect(
      summary([
        { id: 'a', precedence: 10, when: { region: 'us-east-1' }, then: P90 },
        { id: 'b', precedence: 10, when: { region: 'eu-west-1' }, then: P75 },
      ]),
    ).toStrictEqual([]);
  });

  it('a listed value meets a glob that matches it, whichever rule lists it', () => {
    expect(ambiguousExample({ modelId: 'atlas-1' }, { modelId: 'atlas-*' })).toStrictEqual({ serviceTier: 'RESERVED', classification: 'PTV1', modelId: 'atlas-1' });
    expect(ambiguousExample({ modelId: 'atlas-*' }, { modelId: 'atlas-1' })).toStrictEqual({ serviceTier: 'RESERVED', classification: 'PTV1', modelId: 'atlas-1' });
  });

  it('the example takes the first shared value in the earlier rule’s order', () => {
    expect(ambiguousExample({ modelId: ['m1', 'm2'] }, { modelId: ['m2', 'm1'] })).toStrictEqual({ serviceTier: 'RESERVED', classification: 'PTV1', modelId: 'm1' });
  });

  it('the example carries a value for an attribute only one of the two rules names', () => {
    expect(ambiguousExample({ region: 'us-east-1' }, { accountId: '42' })).toStrictEqual({ serviceTier: 'RESERVED', classification: 'PTV1', region: 'us-east-1', accountId: '42' });
    expect(ambiguousExample({ modelId: 'atlas-*' }, {})).toStrictEqual({ serviceTier: 'RESERVED', classification: 'PTV1', modelId: 'atlas-x' });
  });

  it('leaves an attribute out of the example when the rule naming it also accepts it missing', () => {
    expect(ambiguousExample({}, { region: ['us-east-1', null] })).toStrictEqual({ serviceTier: 'RESERVED', classification: 'PTV1' });
  });

  it('samples a model id from the glob of the one rule that has it', () => {
    expect(ambiguousExample({ modelId: 'atlas-{pro,lite}' }, {})).toStrictEqual({ serviceTier: 'RESERVED', classification: 'PTV1', modelId: 'atlas-pro' });
    expect(ambiguousExample({}, { modelId: 'atlas-[ab]' })).toStrictEqual({ serviceTier: 'RESERVED', classification: 'PTV1', modelId: 'atlas-a' });
    expect(ambiguousExample({}, { modelId: 'atlas-[abc]-v?' })).toStrictEqual({ serviceTier: 'RESERVED', classification: 'PTV1', modelId: 'atlas-a-vx' });
    expect(ambiguousExample({ modelId: 'atlas-**' }, {})).toStrictEqual({ serviceTier: 'RESERVED', classification: 'PTV1', modelId: 'atlas-x' });
  });

  it('takes a value two simple globs share as the example model id', () => {
    expect(ambiguousExample({ modelId: 'atlas-*' }, { modelId: '*-v1' })).toStrictEqual({ serviceTier: 'RESERVED', classification: 'PTV1', modelId: 'atlas-v1' });
  });

  it('keeps the shortest shared value when the matchers accept an empty star', () => {
    expect(ambiguousExample({ modelId: 'atlas-*' }, { modelId: 'atlas-?*' })).toStrictEqual({ serviceTier: 'RESERVED', classification: 'PTV1', modelId: 'atlas-x' });
  });

  it('retries with a non-empty star when the shortest shared value is refused by the matcher', () => {
    expect(ambiguousExample({ modelId: '*.*' }, { modelId: 'a.*' })).toStrictEqual({ serviceTier: 'RESERVED', classification: 'PTV1', modelId: 'a.x' });
  });

  it('assumes globs beyond the simple syntax overlap, showing a sample only when both accept it', () => {
    expect(ambiguousExample({ modelId: 'atlas-{pro,lite}' }, { modelId: '*-pro' })).toStrictEqual({ serviceTier: 'RESERVED', classification: 'PTV1', modelId: 'atlas-pro' });
    // The sample of the first glob (atlas-pro) is refused by the second: overlap assumed, no value shown.
    expect(ambiguousExample({ modelId: 'atlas-{pro,lite}' }, { modelId: 'atlas-l*' })).toStrictEqual({ serviceTier: 'RESERVED', classification: 'PTV1' });
    // No sample can be drawn from a character-class glob: overlap assumed, no value shown.
    expect(ambiguousExample({ modelId: 'atlas-[[:digit:]]' }, { modelId: 'atlas-*' })).toStrictEqual({ serviceTier: 'RESERVED', classification: 'PTV1' });
  });

  it('disjoint simple globs never meet', () => {
    expect(summary([
      { id: 'atlas', precedence: 10, when: { modelId: 'atlas-*' }, then: P90 },
      { id: 'nova', precedence: 10, when: { modelId: 'nova-*' }, then: P75 },
    ])).toStrictEqual([]);
  });

  it('rules differing only in tier, or only in QoS, disagree; identical outcomes do not', () => {
    const pair = (thenA: Record<string, unknown>, thenB: Record<string, unknown>) =>
      summary([
        { id: 'a', precedence: 10, when: { serviceTier: 'FLEX' }, then: thenA },
        { id: 'b', precedence: 10, when: { classification: 'BATCH' }, then: thenB },
      ]);
    expect(pair({ tier: 'P50', qos: 1, preemptable: false }, { tier: 'P25', qos: 1, preemptable: false })).toStrictEqual([['ambiguous', 'b', ['a']]]);
    expect(pair({ tier: 'P50', qos: 1, preemptable: false }, { tier: 'P50', qos: 0, preemptable: false })).toStrictEqual([['ambiguous', 'b', ['a']]]);
    expect(pair({ tier: 'P50', qos: 1, preemptable: false }, { tier: 'P50', qos: 1, preemptable: true })).toStrictEqual([['ambiguous', 'b', ['a']]]);
    expect(pair({ tier: 'P50', qos: 1, preemptable: false }, { tier: 'P50', qos: 1, preemptable: false })).toStrictEqual([]);
  });

  it('describes legacy outcomes by level in the message', () => {
    const findings = lint(
      [
        { id: 'flex', precedence: 10, when: { serviceTier: 'FLEX' }, then: { level: 2, preemptable: false } },
        { id: 'batch', precedence: 10, when: { classification: 'BATCH' }, then: { level: 3, qos: 10, preemptable: true } },
      ],
      { scheme: 'legacy' },
    );
    expect(findings.map((f) => f.message)).toStrictEqual([
      'rules "flex" and "batch" (both precedence 10) both match some requests but disagree (level 2 qos 1 vs level 3 qos 10 preemptable); "flex" wins only because it comes first — give one a higher precedence',
    ]);
  });

  it('names account overrides of one account as such', () => {
    const findings = lint([], {
      accountOverrides: [
        { id: 'acct-flex', accountId: '7', when: { serviceTier: 'FLEX' }, then: P90 },
        { id: 'acct-batch', accountId: '7', when: { classification: 'BATCH' }, then: P25 },
      ],
    });
    expect(findings).toStrictEqual([
      {
        kind: 'ambiguous',
        file: FILE,
        pointer: '/accountOverrides/1',
        ruleId: 'acct-batch',
        related: ['acct-flex'],
        example: { serviceTier: 'FLEX', classification: 'BATCH', accountId: '7' },
        message:
          'rules "acct-flex" and "acct-batch" (both account overrides) both match some requests but disagree (P90 qos 0 vs P25 qos 1 preemptable); "acct-flex" wins only because it comes first — give one a higher precedence',
      },
    ]);
  });
});

describe('gaps: request cells no rule matches', () => {
  const flexOnly: RuleDoc[] = [{ id: 'not-flex', precedence: 0, when: { serviceTier: ['RESERVED', 'PRIORITY', 'DEFAULT', null] }, then: P75 }];

  it('lists exactly maxGaps gaps without a summary when there are no more', () => {
    // Service-tier mode: FLEX × 10 classifications are uncovered.
    const findings = lint(flexOnly, { catchAll: false }, 10);
    expect(findings).toHaveLength(10);
    expect(findings.every((f) => f.kind === 'gap' && f.example !== undefined)).toBe(true);
  });

  it('sums up the gaps beyond maxGaps in one finding on the rule list', () => {
    const findings = lint(flexOnly, { catchAll: false }, 9);
    expect(findings).toHaveLength(10);
    expect(findings[9]).toStrictEqual({ kind: 'gap', file: FILE, pointer: '/rules', message: '... and 1 more catalog combinations no rule matches (10 in all)' });
  });

  it('a catch-all on `**` or `*` model ids plus missing ones leaves no gap', () => {
    for (const universal of ['*', '**']) {
      expect(lint([{ id: 'all-models', precedence: 0, when: { modelId: [universal, null] }, then: P75 }], { catchAll: false }), universal).toStrictEqual([]);
    }
  });

  it('a rule on one model family leaves requests for other models uncovered', () => {
    const findings = lint([{ id: 'atlas', precedence: 0, when: { modelId: ['atlas-*', null] }, then: P75 }], { catchAll: false }, 1);
    expect(findings[0]).toStrictEqual({
      kind: 'gap',
      file: FILE,
      pointer: '/rules',
      example: { serviceTier: 'RESERVED', classification: 'PTV1', modelId: '(unlisted)' },
      message: 'no rule matches {"serviceTier":"RESERVED","classification":"PTV1","modelId":"(unlisted)"} in service-tier mode: it would fail closed',
    });
  });
});

describe('catalogCells: the request space', () => {
  it('enumerates service tier (then missing) × classification × request type (then missing) in catalog order', () => {
    const cells = catalogCells(domain.catalog);
    expect(cells).toHaveLength(5 * 10 * 4);
    expect(cells.slice(0, 5)).toStrictEqual([
      { serviceTier: 'RESERVED', classification: 'PTV1', requestType: 'ON_DEMAND' },
      { serviceTier: 'RESERVED', classification: 'PTV1', requestType: 'BATCH' },
      { serviceTier: 'RESERVED', classification: 'PTV1', requestType: 'PROVISIONED' },
      { serviceTier: 'RESERVED', classification: 'PTV1', requestType: null },
      { serviceTier: 'RESERVED', classification: 'PTV2', requestType: 'ON_DEMAND' },
    ]);
    expect(cells.at(-1)).toStrictEqual({ serviceTier: null, classification: 'INTERNAL', requestType: null });
  });
});

describe('static diff inputs: sample model ids drawn from globs', () => {
  const set = (modelId: string) =>
    compileRuleSet(
      {
        name: 'models',
        scheme: 'tier',
        mode: 'service-tier',
        rules: [
          { id: 'family', precedence: 10, when: { modelId }, then: P90 },
          { id: 'rest', precedence: 0, when: {}, then: P75 },
        ],
      },
      'm.json',
      domain,
    );
  const rest = compileRuleSet({ name: 'rest', scheme: 'tier', mode: 'service-tier', rules: [{ id: 'rest', precedence: 0, when: {}, then: P75 }] }, 'r.json', domain);

  it.each([
    ['atlas-*', 'atlas-x'],
    ['atlas-**', 'atlas-x'],
    ['atlas-?', 'atlas-x'],
    ['atlas-{pro,lite}', 'atlas-pro'],
    ['atlas-[abc]', 'atlas-a'],
    ['atlas-[[:digit:]]', null],
  ])('a rule on %s is probed with model id %s', (glob, sample) => {
    const diff = diffRuleSets(rest, set(glob));
    const probed = diff.rows.map((r) => r.example.modelId);
    if (sample === null) {
      // The substitution yields a value the glob refuses: only missing and unlisted model ids are tried.
      expect(diff.inputs).toBe(200 * 2);
      expect(probed).toStrictEqual([]);
    } else {
      expect(diff.inputs).toBe(200 * 3);
      expect(probed).toStrictEqual([sample]);
    }
  });
});

describe('globWitness', () => {
  it('finds a one-character value for two stars, never the empty string', () => {
    expect(globWitness('*', '*')).toBe('x');
    expect(globWitness('*', '**')).toBe('x');
    expect(globWitness('*', '')).toBeNull();
  });

  it('uses a star as possibly empty unless asked otherwise, on either side', () => {
    expect(globWitness('a*', 'a')).toBe('a');
    expect(globWitness('a', 'a*')).toBe('a');
    expect(globWitness('a*', 'a', { starTakesOne: true })).toBeNull();
    expect(globWitness('a', 'a*', { starTakesOne: true })).toBeNull();
  });

  it('treats `**` as one star when every star must take a character', () => {
    expect(globWitness('a**', 'a?', { starTakesOne: true })).toBe('ax');
    expect(globWitness('**', '?', { starTakesOne: true })).toBe('x');
  });

  it('offers `.` or `..` only when no other value fits', () => {
    expect(globWitness('.', '.*')).toBe('.');
    expect(globWitness('..', '.*')).toBe('..');
    expect(globWitness('.*', '*')).toBe('.x');
    expect(globWitness('?', '*')).toBe('x');
    expect(globWitness('??', '*')).toBe('xx');
    expect(globWitness('*', '.')).toBe('.');
    expect(globWitness('..*', '*')).toBe('..x');
  });

  it('finds values that start with a dot', () => {
    expect(globWitness('*', '.b*b')).toBe('.bb');
    expect(globWitness('.*', '?.-?')).toBe('..-x');
  });
});
