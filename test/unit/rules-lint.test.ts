import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintRuleSetFile, loadDomain } from '../../src/config/index.js';
import { lintRuleSet } from '../../src/rules/index.js';

const domain = loadDomain();
const fixture = (name: string) => join('test', 'fixtures', 'rules', `${name}.json`);
const findingsOf = (name: string) => lintRuleSetFile(fixture(name), domain).findings;

describe('prio rules check findings', () => {
  it('finds nothing in the shipped rule sets', () => {
    expect(lintRuleSetFile('rules/legacy.json', domain).findings).toEqual([]);
    expect(lintRuleSetFile('rules/service_tier.json', domain).findings).toEqual([]);
  });

  it('reports a schema error with its pointer', () => {
    expect(findingsOf('schema-error')).toEqual([{ kind: 'schema', file: fixture('schema-error'), pointer: '/rules/0/precedence', message: 'must be integer' }]);
  });

  it('reports malformed JSON as a schema finding on the whole document', () => {
    const [finding, ...rest] = findingsOf('invalid-json');
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({ kind: 'schema', pointer: '' });
    expect(finding?.message).toMatch(/^not valid JSON/);
  });

  it('reports unknown catalog values, tiers and QoS levels', () => {
    expect(findingsOf('unknown-reference').map(({ kind, pointer, message }) => ({ kind, pointer, message: message.replace(/ \(.*\)$/, '') }))).toEqual([
      { kind: 'unknown-reference', pointer: '/rules/0/when/serviceTier', message: 'unknown service tier "GOLD"' },
      { kind: 'unknown-reference', pointer: '/rules/0/when/classification/1', message: 'unknown classification "PTV3"' },
      { kind: 'unknown-reference', pointer: '/rules/0/then/tier', message: 'unknown tier "P60"' },
      { kind: 'unknown-reference', pointer: '/rules/1/then/qos', message: 'QoS 5 is not in the catalog' },
    ]);
  });

  it('reports a duplicate rule id', () => {
    expect(findingsOf('duplicate-id')).toEqual([{ kind: 'duplicate-id', file: fixture('duplicate-id'), pointer: '/rules/1/id', message: 'rule id "batch" is already used at /rules/0' }]);
  });

  it('reports a rule shadowed by a broader one', () => {
    expect(findingsOf('unreachable')).toEqual([
      {
        kind: 'unreachable',
        file: fixture('unreachable'),
        pointer: '/rules/1',
        ruleId: 'flex-batch',
        related: ['flex'],
        message: 'rule "flex-batch" can never win: every request it matches is taken first by "flex"',
      },
    ]);
  });

  it('reports a rule that needs the attribute its mode ignores', () => {
    expect(findingsOf('unreachable-mode')).toEqual([
      expect.objectContaining({ kind: 'unreachable', pointer: '/rules/0', ruleId: 'batch-type', message: 'rule "batch-type" matches no request in service-tier mode: it needs a requestType, which this mode ignores (treats as missing)' }),
    ]);
    // The same rule is fine once the request type is visible.
    expect(lintRuleSetFile(fixture('unreachable-mode'), domain, 'request-type').findings).toEqual([]);
  });

  it('reports a rule whose conditions exclude each other', () => {
    const doc = {
      name: 'contradiction',
      scheme: 'tier',
      mode: 'service-tier',
      rules: [
        { id: 'provisioned-on-demand', precedence: 5, when: { provisioned: true, classification: 'ON_DEMAND' }, then: { tier: 'P90', preemptable: false } },
        { id: 'all', precedence: 0, when: {}, then: { tier: 'P50', preemptable: false } },
      ],
    };
    expect(lintRuleSet(doc, 'c.json', domain).map((f) => f.message)).toEqual(['rule "provisioned-on-demand" matches no request in service-tier mode: its conditions exclude each other']);
  });

  it('reports an ambiguous overlap with an example request', () => {
    expect(findingsOf('ambiguous')).toEqual([
      {
        kind: 'ambiguous',
        file: fixture('ambiguous'),
        pointer: '/rules/1',
        ruleId: 'batch',
        related: ['flex'],
        example: { serviceTier: 'FLEX', classification: 'BATCH' },
        message: 'rules "flex" and "batch" (both precedence 10) both match some requests but disagree (P10 qos 10 preemptable vs P25 qos 10 preemptable); "flex" wins only because it comes first — give one a higher precedence',
      },
    ]);
  });

  it('reports a gap once, with an example request', () => {
    expect(findingsOf('gap')).toEqual([
      {
        kind: 'gap',
        file: fixture('gap'),
        pointer: '/rules',
        example: { serviceTier: 'FLEX', classification: 'INTERNAL' },
        message: 'no rule matches {"serviceTier":"FLEX","classification":"INTERNAL"} in service-tier mode: it would fail closed',
      },
    ]);
  });

  it('treats a free attribute a rule requires as a gap for requests without it, and caps the list', () => {
    const doc = { name: 'regional', scheme: 'tier', mode: 'request-type', rules: [{ id: 'us', precedence: 0, when: { region: ['us-east-1', null] }, then: { tier: 'P50', preemptable: false } }] };
    const findings = lintRuleSet(doc, 'r.json', domain, { maxGaps: 3 });
    expect(findings.map((f) => f.kind)).toEqual(['gap', 'gap', 'gap', 'gap']);
    expect(findings[0]?.example).toEqual({ classification: 'PTV1', requestType: 'ON_DEMAND', region: '(unlisted)' });
    // request-type mode: 10 classifications × (3 request types + missing) combinations, 3 listed.
    expect(findings[3]?.message).toBe('... and 37 more catalog combinations no rule matches (40 in all)');
  });

  it('sees account overrides for the same account as ambiguous, and a repeated one as unreachable', () => {
    const then = { tier: 'P90', preemptable: false };
    const doc = {
      name: 'accounts',
      scheme: 'tier',
      mode: 'service-tier',
      rules: [{ id: 'all', precedence: 0, when: {}, then: { tier: 'P50', preemptable: false } }],
      accountOverrides: [
        { id: 'a1', accountId: '1', then },
        { id: 'a1-again', accountId: '1', then },
        { id: 'a2', accountId: '2', then },
        { id: 'a2-flex', accountId: '2', when: { serviceTier: 'FLEX' }, then: { tier: 'P10', qos: 10, preemptable: true } },
      ],
    };
    expect(lintRuleSet(doc, 'a.json', domain).map((f) => [f.kind, f.ruleId])).toEqual([
      ['unreachable', 'a1-again'],
      ['unreachable', 'a2-flex'],
      ['ambiguous', 'a2-flex'],
    ]);
  });
});
