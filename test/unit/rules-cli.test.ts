import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli as run } from '../support/cli.js';

describe('prio rules check', () => {
  it('exits 0 on the shipped rule sets', async () => {
    const r = await run('rules', 'check', 'rules/legacy.json', 'rules/service_tier.json');
    expect(r.code).toBe(0);
    expect(r.out).toContain('rules/service_tier.json: clean (25 rules)');
  });

  it('exits 1 with findings as a table or JSON', async () => {
    const r = await run('rules', 'check', 'test/fixtures/rules/gap.json');
    expect(r.code).toBe(1);
    expect(r.out).toContain('gap   /rules');
    const j = await run('rules', 'check', '--json', 'test/fixtures/rules/ambiguous.json', 'rules/legacy.json');
    expect(j.code).toBe(1);
    const parsed = JSON.parse(j.out) as { findings: number; files: { file: string; findings: { kind: string }[] }[] };
    expect(parsed.findings).toBe(1);
    expect(parsed.files.map((f) => f.findings.map((x) => x.kind))).toEqual([['ambiguous'], []]);
  });

  it('lints every file even when one cannot be read, and exits 2 naming it', async () => {
    const r = await run('rules', 'check', 'no/such/file.json', 'test/fixtures/rules/gap.json', 'rules/legacy.json');
    expect(r.code).toBe(2);
    expect(r.err).toContain('no/such/file.json: cannot read');
    expect(r.out).toContain('test/fixtures/rules/gap.json: 1 finding');
    expect(r.out).toContain('rules/legacy.json: clean');
    const j = await run('rules', 'check', '--json', 'rules/legacy.json', 'no/such/file.json');
    expect(j.code).toBe(2);
    const parsed = JSON.parse(j.out) as { files: { file: string }[]; unreadable: { file: string; message: string }[] };
    expect(parsed.files.map((f) => f.file)).toEqual(['rules/legacy.json']);
    expect(parsed.unreadable.map((u) => u.file)).toEqual(['no/such/file.json']);
  });

  it('exits 2 on a missing file or an unknown mode', async () => {
    expect((await run('rules', 'check', 'no/such/file.json')).code).toBe(2);
    expect((await run('rules', 'check', '--mode', 'sideways', 'rules/legacy.json')).code).toBe(2);
  });
});

describe('prio rules diff', () => {
  it('prints the disagreement table between legacy and service_tier', async () => {
    const r = await run('rules', 'diff', 'rules/legacy.json', 'rules/service_tier.json');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/200 inputs, \d+ same, \d+ changed/);
    expect(r.out).toContain('P100 qos 0              P90 qos 0');
  });

  it('finds no disagreement between a rule set and itself', async () => {
    const r = await run('rules', 'diff', '--json', 'rules/service_tier.json', 'rules/service_tier.json');
    const diff = JSON.parse(r.out) as { inputs: number; changed: number; rows: unknown[] };
    expect(diff).toMatchObject({ inputs: 200, changed: 0, rows: [] });
  });

  it('reports an invalid rule set as a usage error', async () => {
    const r = await run('rules', 'diff', 'rules/legacy.json', 'test/fixtures/rules/unknown-reference.json');
    expect(r.code).toBe(2);
    expect(r.err).toContain('unknown-reference.json#/rules/0/then/tier: unknown tier "P60"');
  });
});

describe('prio rules eval', () => {
  it('evaluates one request', async () => {
    const r = await run('rules', 'eval', '--rules', 'rules/service_tier.json', '--request', '{"serviceTier":"FLEX","classification":"ON_DEMAND"}');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ ruleId: 'flex', tier: 'P10', tierValue: 10, legacyLevel: null, qos: 10, preemptable: true });
  });

  it('rejects an unknown classification naming the value, exit 1', async () => {
    const r = await run('rules', 'eval', '--rules', 'rules/legacy.json', '--request', '{"classification":"GOLD_PLUS"}');
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toContain('unknown classification "GOLD_PLUS"');
  });

  it('explains a single request', async () => {
    const r = await run('rules', 'eval', '--rules', 'rules/legacy.json', '--explain', '--request', '{"classification":"PTV1","requestType":"ON_DEMAND"}');
    expect(r.code).toBe(0);
    const e = JSON.parse(r.out) as { winner: string; why: string; considered: { ruleId: string; matched: boolean }[] };
    expect(e.winner).toBe('legacy-provisioned-overflow');
    expect(e.considered.filter((c) => c.matched).map((c) => c.ruleId)).toEqual(['legacy-provisioned-overflow']);
  });

  it('streams NDJSON: a bad line becomes that line\'s error and the stream goes on', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prio-rules-'));
    const input = join(dir, 'requests.ndjson');
    writeFileSync(input, ['{"requestId":"a","classification":"BATCH","requestType":"BATCH"}', '{"requestId":"b","classification":"NOPE"}', 'not json', '', '{"classification":"PTV2"}'].join('\n'));
    const r = await run('rules', 'eval', '--rules', 'rules/legacy.json', '--input', input);
    expect(r.code).toBe(1);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatchObject({ line: 1, requestId: 'a', ruleId: 'legacy-batch', legacyLevel: 3 });
    expect(lines[1]).toMatchObject({ line: 2, requestId: 'b', error: { code: 'UNKNOWN_VALUE', attribute: 'classification', value: 'NOPE' } });
    expect(lines[2]).toMatchObject({ line: 3, error: { code: 'INVALID_JSON' } });
    expect(lines[3]).toMatchObject({ line: 5, ruleId: 'legacy-provisioned' });
    expect(r.err).toContain('evaluated 4 requests, 2 failed closed or unreadable');
  });

  it('evaluates the bundled sample requests under both shipped rule sets', async () => {
    for (const rules of ['rules/legacy.json', 'rules/service_tier.json']) {
      const r = await run('rules', 'eval', '--rules', rules, '--input', 'test/fixtures/rules/sample-requests.ndjson');
      const lines = r.out.trim().split('\n').map((l) => JSON.parse(l) as { requestId: string; error?: { value: string } });
      expect(lines).toHaveLength(31);
      expect(lines.filter((l) => l.error !== undefined).map((l) => [l.requestId, l.error?.value])).toEqual([['req-0031', 'LEGACY_GOLD']]);
      expect(r.code).toBe(1);
    }
  });
});
