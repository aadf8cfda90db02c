import { describe, expect, it } from 'vitest';
import { readJsonFile } from '../../src/config/index.js';
import { parseMigrationDefinition } from '../../src/migration/index.js';
import { configIssues } from '../support/config-issues.js';
import { DEFINITION_FILE } from '../support/migration/fixtures.js';

type Doc = { steps: Record<string, unknown>[]; stages: Record<string, unknown>[]; [k: string]: unknown };
const shipped = () => structuredClone(readJsonFile(DEFINITION_FILE)) as Doc;

const issuesOf = (doc: unknown) => configIssues(() => parseMigrationDefinition(doc, 'm.json'));

describe('migration definitions', () => {
  it('parses the shipped definition', () => {
    const plan = parseMigrationDefinition(readJsonFile(DEFINITION_FILE), DEFINITION_FILE);
    expect(plan.id).toBe('001-legacy-4-to-7-tier');
    expect(plan.stages.map((s) => s.name)).toEqual(['beta', 'preprod', 'prod']);
    expect(plan.steps).toHaveLength(6);
    expect(plan).not.toHaveProperty('$schema');
  });

  it('reports schema problems with file and pointer', () => {
    const doc = shipped();
    (doc.steps[1] as { bakeMinutes: unknown }).bakeMinutes = -5;
    (doc.steps[2] as { flags: Record<string, unknown> }).flags.tokenReadMode = 'v3';
    const issues = issuesOf(doc);
    expect(issues).toContainEqual({ file: 'm.json', pointer: '/steps/1/bakeMinutes', message: 'must be >= 0' });
    expect(issues.some((i) => i.pointer === '/steps/2/flags/tokenReadMode' && i.message.startsWith('must be one of'))).toBe(true);
  });

  it('rejects writers switching in phase 1', () => {
    const doc = shipped();
    (doc.steps[0] as { flags: Record<string, unknown> }).flags.tokenWriteMode = 'v2';
    expect(issuesOf(doc)).toContainEqual({
      file: 'm.json',
      pointer: '/steps/0/flags/tokenWriteMode',
      message: 'writers may emit v2 tokens only after phase 1, once every reader in every stage accepts them',
    });
  });

  it('rejects steps out of rollout order, unknown stages and a phase that skips a stage', () => {
    const doc = shipped();
    const [a, b] = doc.steps;
    doc.steps[0] = b as Record<string, unknown>;
    doc.steps[1] = a as Record<string, unknown>;
    (doc.steps[5] as { stage: string }).stage = 'staging';
    const issues = issuesOf(doc);
    expect(issues.find((i) => i.pointer === '/steps/1')?.message).toContain('steps must be listed in rollout order');
    expect(issues.find((i) => i.pointer === '/steps/5/stage')?.message).toBe('"staging" is not a stage of this migration (beta, preprod, prod)');
    expect(issues.find((i) => i.pointer === '/steps')?.message).toBe('phase 2 (new-writers) has no step in stage prod: every phase must cover every stage');
  });

  it('reports a gate file that does not exist, when asked to look', () => {
    const doc = shipped();
    (doc.steps[2] as { gate: { shadowGate: string } }).gate.shadowGate = 'shadow/gates/missing.json';
    const issues = configIssues(() => parseMigrationDefinition(doc, 'm.json', { gateExists: (g) => g !== 'shadow/gates/missing.json' }));
    expect(issues).toEqual([{ file: 'm.json', pointer: '/steps/2/gate/shadowGate', message: 'gate file "shadow/gates/missing.json" does not exist' }]);
  });

  it('rejects a step that narrows readers again', () => {
    const doc = shipped();
    (doc.steps[3] as { flags: Record<string, unknown> }).flags.tokenReadMode = 'v2';
    expect(issuesOf(doc).some((i) => i.pointer === '/steps/3/flags' && i.message.includes('keep readers accepting both formats'))).toBe(true);
  });
});
