import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import migrationSchema from '../../migrations/schema/migration.schema.json' with { type: 'json' };
import flagsSchema from '../../rules/schema/flags.schema.json' with { type: 'json' };
import { buildSnapshot, compileComposed, compileLegacy, createCompileCache, parseFlagsDocument, parseOverridesDocument, patchFlagsDocument, type DocumentInput } from '../../src/appconfig/documents/index.js';
import { loadDomain, readJsonFile } from '../../src/config/index.js';
import { applyFlags, parseMigrationDefinition } from '../../src/migration/index.js';
import { catalogCells, compileRuleSet, FailClosedError, type CompiledRuleSet, type RequestAttributes } from '../../src/rules/index.js';
import { configIssues } from '../support/config-issues.js';

const domain = loadDomain();
const serviceTierDoc = readJsonFile('rules/service_tier.json') as Record<string, unknown>;
const legacyDoc = readJsonFile('rules/legacy.json');
const overridesDoc = readJsonFile('rules/overrides.example.json') as { accountOverrides: { accountId: string }[] };
const flagsDoc = readJsonFile('rules/flags.json') as Record<string, unknown>;

const input = (file: string, doc: unknown): DocumentInput => ({ file, doc });
const meta = { version: 'test', source: 'file' as const, loadedAt: 0 };
const baseInputs = {
  legacyRules: input('rules/legacy.json', legacyDoc),
  rulesDocs: [input('rules/service_tier.json', serviceTierDoc)],
  overrides: input('rules/overrides.example.json', overridesDoc),
  flags: input('rules/flags.json', flagsDoc),
  domain,
};

describe('flags document', () => {
  it('the shipped rules/flags.json is the reference migration\'s initialFlags', () => {
    const definition = JSON.parse(readFileSync('migrations/001-legacy-4-to-7-tier.json', 'utf8')) as { initialFlags: unknown };
    expect(parseFlagsDocument(flagsDoc, 'rules/flags.json')).toEqual(definition.initialFlags);
  });

  it('offers exactly the values the migration schema allows for each flag', () => {
    const flagDefs = migrationSchema.$defs.flags.properties as Record<string, { enum?: unknown }>;
    for (const [name, def] of Object.entries(flagDefs)) {
      expect((flagsSchema.properties as Record<string, { enum?: unknown }>)[name]?.enum, name).toEqual(def.enum);
    }
  });

  it('refuses an unknown value, a missing flag and an extra property, each with its pointer', () => {
    const bad = { ...flagsDoc, tokenReadMode: 'v3', extra: true } as Record<string, unknown>;
    delete bad.rulesVersion;
    const issues = configIssues(() => parseFlagsDocument(bad, 'flags.json'));
    expect(issues).toEqual(
      expect.arrayContaining([
        { file: 'flags.json', pointer: '/tokenReadMode', message: 'must be one of ["v1","dual","v2"]' },
        { file: 'flags.json', pointer: '', message: 'missing required property "rulesVersion"' },
        { file: 'flags.json', pointer: '', message: 'unknown property "extra"' },
      ]),
    );
  });

  it('refuses an unknown schemaVersion', () => {
    expect(configIssues(() => parseFlagsDocument({ ...flagsDoc, schemaVersion: 2 }, 'f'))).toEqual([{ file: 'f', pointer: '/schemaVersion', message: 'must be equal to constant' }]);
  });

  it('a migration step\'s flags patch the document as applyFlags does', () => {
    const plan = parseMigrationDefinition(JSON.parse(readFileSync('migrations/001-legacy-4-to-7-tier.json', 'utf8')), 'm.json');
    let current = parseFlagsDocument(flagsDoc, 'rules/flags.json');
    for (const [i, step] of plan.steps.entries()) {
      const next = patchFlagsDocument(current, step.flags);
      current = parseFlagsDocument(next, `step-${i}`);
      expect(current).toEqual(applyFlags(plan.initialFlags, plan.steps.slice(0, i + 1).map((s) => s.flags)));
    }
  });
});

describe('overrides document', () => {
  it('the shipped example has at least 50 accounts and validates', () => {
    const parsed = parseOverridesDocument(overridesDoc, 'rules/overrides.example.json');
    expect(new Set(overridesDoc.accountOverrides.map((o) => o.accountId)).size).toBeGreaterThanOrEqual(50);
    expect(parsed.accountOverrides).toHaveLength(overridesDoc.accountOverrides.length);
  });

  it('refuses schema problems in an entry with the entry\'s pointer', () => {
    const doc = { schemaVersion: 1, accountOverrides: [{ id: 'a', accountId: '1', then: { tier: 'P50' } }, { id: 'b', then: { tier: 'P50', preemptable: false } }] };
    expect(configIssues(() => parseOverridesDocument(doc, 'o.json'))).toEqual([
      { file: 'o.json', pointer: '/accountOverrides/0/then', message: 'missing required property "preemptable"' },
      { file: 'o.json', pointer: '/accountOverrides/1', message: 'missing required property "accountId"' },
    ]);
  });

  it('a catalog or tier problem found at compile time is reported against the overrides document', () => {
    const doc = { schemaVersion: 1, accountOverrides: [{ id: 'a', accountId: '1', when: { classification: 'GOLD' }, then: { tier: 'P42', preemptable: false } }] };
    const issues = configIssues(() => compileComposed(serviceTierDoc, 'rules/service_tier.json', parseOverridesDocument(doc, 'o.json'), domain));
    expect(issues.map((i) => `${i.file}#${i.pointer}`)).toEqual(['o.json#/accountOverrides/0/when/classification', 'o.json#/accountOverrides/0/then/tier']);
  });

  it('a problem in the rule set itself stays reported against the rule set', () => {
    const rules = { ...serviceTierDoc, mode: 'sometimes' };
    const issues = configIssues(() => compileComposed(rules, 'rules.json', parseOverridesDocument(overridesDoc, 'o.json'), domain));
    expect(issues).toEqual([{ file: 'rules.json', pointer: '/mode', message: 'must be one of ["service-tier","request-type","service-tier-with-fallback"]' }]);
  });

  it('refuses a rule set that carries its own overrides while the profile is in force', () => {
    const rules = { ...serviceTierDoc, accountOverrides: [{ id: 'x', accountId: '9', then: { tier: 'P5', preemptable: true } }] };
    const issues = configIssues(() => compileComposed(rules, 'rules.json', parseOverridesDocument(overridesDoc, 'o.json'), domain));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: 'rules.json', pointer: '/accountOverrides' });
  });
});

/** Every outcome a rule set gives, or the fail-closed code, as a comparable string. */
function answer(rs: CompiledRuleSet, request: RequestAttributes): string {
  try {
    const o = rs.evaluate(request);
    return `${o.ruleId} ${o.tier.name} qos=${o.qos} preemptable=${o.preemptable}`;
  } catch (err) {
    if (err instanceof FailClosedError) return `fail-closed ${err.code}`;
    throw err;
  }
}

describe('composition', () => {
  it('evaluates exactly as the same entries written into the rule set, over the whole catalog', () => {
    const composed = compileComposed(serviceTierDoc, 'rules/service_tier.json', parseOverridesDocument(overridesDoc, 'o.json'), domain);
    const inFile = compileRuleSet({ ...serviceTierDoc, accountOverrides: overridesDoc.accountOverrides }, 'in-file.json', domain);
    const accounts = [...overridesDoc.accountOverrides.map((o) => o.accountId), '111111111111', null];
    let compared = 0;
    let byOverride = 0;
    for (const cell of catalogCells(domain.catalog)) {
      for (const accountId of accounts) {
        for (const modelId of ['vendor.large-v2', 'vendor.small-v3', null]) {
          const request = { ...cell, accountId, modelId, region: 'us-east-1' };
          const a = answer(composed, request);
          expect(a).toBe(answer(inFile, request));
          compared++;
          if (overridesDoc.accountOverrides.some((o) => a.startsWith(`${(o as unknown as { id: string }).id} `))) byOverride++;
        }
      }
    }
    expect(compared).toBe(catalogCells(domain.catalog).length * accounts.length * 3);
    // The comparison means something only if overrides actually decide a good share of it.
    expect(byOverride).toBeGreaterThan(compared / 10);
  });
});

describe('buildSnapshot', () => {
  it('builds a frozen snapshot from the shipped documents', () => {
    const s = buildSnapshot(baseInputs, { version: 'v1', source: 'baked', loadedAt: 42 });
    expect(Object.isFrozen(s)).toBe(true);
    expect(s).toMatchObject({ version: 'v1', source: 'baked', loadedAt: 42, flags: { rulesVersion: 'legacy-4' } });
    expect(s.legacy.scheme).toBe('legacy');
    expect(s.tiered.scheme).toBe('tier');
    const first = overridesDoc.accountOverrides[0] as unknown as { id: string; accountId: string };
    expect(s.tiered.evaluate({ serviceTier: 'DEFAULT', classification: 'ON_DEMAND', requestType: 'ON_DEMAND', accountId: first.accountId }).ruleId).toBe(first.id);
  });

  it('rulesVersion selects the tier rule set carrying that label', () => {
    const other = { ...serviceTierDoc, version: 'tiered-8', rules: [{ id: 'all-p5', precedence: 1, when: {}, then: { tier: 'P5', preemptable: true } }] };
    const rulesDocs = [input('rules/service_tier.json', serviceTierDoc), input('tiered-8.json', other)];
    const request = { serviceTier: 'DEFAULT', classification: 'ON_DEMAND', requestType: 'ON_DEMAND' };
    const pick = (rulesVersion: string) => buildSnapshot({ ...baseInputs, rulesDocs, flags: input('f', { ...flagsDoc, rulesVersion }) }, meta).tiered.evaluate(request).ruleId;
    expect(pick('tiered-8')).toBe('all-p5');
    expect(pick('tiered-7.1')).not.toBe('all-p5');
    // Still legacy: the first tier rule set is kept compiled for dual readers.
    expect(pick('legacy-4')).not.toBe('all-p5');
  });

  it('refuses an unknown rulesVersion instead of defaulting', () => {
    const issues = configIssues(() => buildSnapshot({ ...baseInputs, flags: input('flags.json', { ...flagsDoc, rulesVersion: 'tiered-9' }) }, meta));
    expect(issues).toEqual([{ file: 'flags.json', pointer: '/rulesVersion', message: 'rulesVersion "tiered-9" names no rule set in force (known: "legacy-4", "tiered-7.1")' }]);
  });

  it('refuses a rule set without a version label, and two with the same one', () => {
    const { version: _dropped, ...unlabelled } = serviceTierDoc;
    expect(configIssues(() => buildSnapshot({ ...baseInputs, rulesDocs: [input('r.json', unlabelled)] }, meta))).toEqual([
      { file: 'r.json', pointer: '', message: expect.stringContaining('missing required property "version"') as string },
    ]);
    const twice = configIssues(() => buildSnapshot({ ...baseInputs, rulesDocs: [input('a.json', serviceTierDoc), input('b.json', serviceTierDoc)] }, meta));
    expect(twice).toEqual([{ file: 'b.json', pointer: '/version', message: 'version "tiered-7.1" is offered twice (also by a.json)' }]);
  });

  it('refuses a legacy rule set served as the tiered mapping, and a tier one as the legacy mapping', () => {
    const asTier = configIssues(() => buildSnapshot({ ...baseInputs, rulesDocs: [input('l.json', { ...(legacyDoc as object), version: 'tiered-x' })], overrides: null, flags: input('f', { ...flagsDoc, rulesVersion: 'tiered-x' }) }, meta));
    expect(asTier).toEqual([{ file: 'l.json', pointer: '/scheme', message: expect.stringContaining('tier rule sets') as string }]);
    expect(configIssues(() => compileLegacy(input('s.json', serviceTierDoc), domain))).toEqual([{ file: 's.json', pointer: '/scheme', message: expect.stringContaining('legacy rule set') as string }]);
  });

  it('takes an already compiled legacy mapping as it is', () => {
    const legacy = compileLegacy(input('rules/legacy.json', legacyDoc), domain);
    const s = buildSnapshot({ ...baseInputs, legacyRules: legacy }, meta);
    expect(s.legacy).toBe(legacy.rules);
  });

  it('with a compile cache, the same rules and overrides objects reuse the compiled rule set', () => {
    const cache = createCompileCache();
    const a = buildSnapshot(baseInputs, meta, cache);
    const b = buildSnapshot({ ...baseInputs, flags: input('f', { ...flagsDoc, priorityScheme: 'dual' }) }, meta, cache);
    expect(b.tiered).toBe(a.tiered);
    expect(b.flags.priorityScheme).toBe('dual');
    // A new rules object (even equal in content) is compiled afresh: the cache keys on identity.
    const c = buildSnapshot({ ...baseInputs, rulesDocs: [input('rules/service_tier.json', { ...serviceTierDoc })] }, meta, cache);
    expect(c.tiered).not.toBe(a.tiered);
    expect(buildSnapshot(baseInputs, meta).tiered).not.toBe(a.tiered);
  });

  it('refuses when no tier rule set is offered', () => {
    expect(configIssues(() => buildSnapshot({ ...baseInputs, rulesDocs: [] }, meta))).toEqual([{ file: 'rules/flags.json', pointer: '/rulesVersion', message: 'no tier rule set is offered (the rules profile is empty)' }]);
  });
});
