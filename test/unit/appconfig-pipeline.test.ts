import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Deployment } from '@aws-sdk/client-appconfig';
import { Ajv } from 'ajv';
import {
  describeAwsError,
  digestIn,
  commitIn,
  endpointFrom,
  findIdenticalVersion,
  formatWatchLine,
  FRESH,
  inlineSchema,
  inProgress,
  judgeCandidate,
  latestVersion,
  liveVersions,
  observe,
  parseStrategies,
  planInit,
  planRollback,
  profileSchemas,
  sha256Hex,
  shippedDocuments,
  shippedStrategies,
  strategyDifferences,
  strategyNameFor,
  terminalExitCode,
  versionDescription,
  type DeploymentRecord,
  type DesiredSetup,
  type ExistingSetup,
} from '../../src/appconfig/pipeline/index.js';
import { loadDomain, readJsonFile } from '../../src/config/index.js';
import type { ConfigError } from '../../src/validation/index.js';
import { runCli } from '../support/cli.js';

const domain = loadDomain();

function deployment(number: number, profile: string, version: string, state: string, percentage = state === 'COMPLETE' ? 100 : 40): DeploymentRecord {
  return { number, profile, version, state, percentage, startedAt: new Date(Date.UTC(2026, 11, 4, 5, number)), completedAt: undefined, durationMinutes: 20, bakeMinutes: 10 };
}

describe('deployment strategies file', () => {
  it('names each shipped strategy with the prefix and its version, and offers the three the pipeline documents', () => {
    const specs = shippedStrategies();
    expect(specs.map((s) => s.name)).toEqual(['prio-all-at-once-v1', 'prio-linear-v1', 'prio-exponential-v1']);
    expect(specs.find((s) => s.shortName === 'all-at-once')).toMatchObject({ deploymentDurationInMinutes: 0, growthFactor: 100 });
    for (const s of specs) expect(s.finalBakeTimeInMinutes).toBeGreaterThan(0);
  });

  it('a raised version is a new name, so a changed strategy never mutates the one deployments used', () => {
    const doc = readJsonFile('rules/deployment-strategies.json') as { strategies: { name: string; version: number; growthFactor: number }[] };
    const changed = { ...doc, strategies: doc.strategies.map((s) => (s.name === 'linear' ? { ...s, version: 2, growthFactor: 25 } : s)) };
    expect(parseStrategies(changed, 'x.json').map((s) => s.name)).toContain('prio-linear-v2');
  });

  it('refuses a duplicate name and a bad growth type with file and pointer', () => {
    const doc = readJsonFile('rules/deployment-strategies.json') as { strategies: Record<string, unknown>[] };
    const dup = { ...doc, strategies: [...doc.strategies, doc.strategies[0]] };
    expect(() => parseStrategies(dup, 'dup.json')).toThrow(/dup\.json.*\/strategies\/3\/name.*listed twice/);
    const bad = { ...doc, strategies: [{ ...doc.strategies[0], growthType: 'STEP' }] };
    try {
      parseStrategies(bad, 'bad.json');
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).issues).toEqual([{ file: 'bad.json', pointer: '/strategies/0/growthType', message: 'must be one of ["LINEAR","EXPONENTIAL"]' }]);
    }
  });

  it('maps short names to full names and passes anything else through', () => {
    const specs = shippedStrategies();
    expect(strategyNameFor('linear', specs)).toBe('prio-linear-v1');
    expect(strategyNameFor('AppConfig.AllAtOnce', specs)).toBe('AppConfig.AllAtOnce');
  });

  it('names each parameter that differs', () => {
    const [spec] = shippedStrategies();
    if (spec === undefined) throw new Error('no strategy');
    expect(strategyDifferences(spec, { ...spec })).toEqual([]);
    expect(strategyDifferences(spec, { ...spec, finalBakeTimeInMinutes: 5 })).toEqual([`finalBakeTimeInMinutes is 5, the file says ${spec.finalBakeTimeInMinutes}`]);
  });
});

describe('planInit', () => {
  const strategies = shippedStrategies();
  const desired: DesiredSetup = {
    application: 'prio',
    environments: [{ name: 'beta' }, { name: 'prod', alarms: ['arn:alarm:prod'] }],
    profiles: [
      { name: 'rules', schema: '{"a":1}' },
      { name: 'flags', schema: '{"b":1}' },
    ],
    strategies,
  };
  const nothing: ExistingSetup = { application: undefined, environments: [], profiles: [], strategies: [] };
  const everything: ExistingSetup = {
    application: { id: 'app1', name: 'prio' },
    environments: [
      { id: 'e1', name: 'beta', alarms: ['arn:alarm:old'] },
      { id: 'e2', name: 'prod', alarms: ['arn:alarm:prod'] },
    ],
    profiles: [
      { id: 'p1', name: 'rules', schema: '{"a":1}' },
      { id: 'p2', name: 'flags', schema: '{"b":1}' },
    ],
    strategies: strategies.map((s, i) => ({ ...s, id: `s${i}` })),
  };

  it('from nothing, creates everything, the application first', () => {
    const plan = planInit(desired, nothing);
    expect(plan.actions.map((a) => a.kind)).toEqual(['create-application', 'create-environment', 'create-environment', 'create-profile', 'create-profile', 'create-strategy', 'create-strategy', 'create-strategy']);
    expect(plan.actions[2]).toEqual({ kind: 'create-environment', name: 'prod', alarms: ['arn:alarm:prod'] });
    expect(plan.problems).toEqual([]);
  });

  it('with everything in place, does nothing (alarms of an environment --alarm does not name are left alone)', () => {
    const plan = planInit(desired, everything);
    expect(plan.actions).toEqual([]);
    expect(plan.unchanged).toHaveLength(1 + 2 + 2 + 3);
  });

  it('updates what drifted: alarms named again, a validator whose schema changed', () => {
    const drifted: ExistingSetup = {
      ...everything,
      environments: [everything.environments[0] as ExistingSetup['environments'][number], { id: 'e2', name: 'prod', alarms: [] }],
      profiles: [{ id: 'p1', name: 'rules', schema: '{"a":0}' }, everything.profiles[1] as ExistingSetup['profiles'][number]],
    };
    expect(planInit(desired, drifted).actions).toEqual([
      { kind: 'set-alarms', name: 'prod', id: 'e2', alarms: ['arn:alarm:prod'] },
      { kind: 'set-validator', name: 'rules', id: 'p1', schema: '{"a":1}' },
    ]);
  });

  it('never changes a strategy in place: a same-named one with other parameters is a problem to fix in the file', () => {
    const changed: ExistingSetup = { ...everything, strategies: everything.strategies.map((s) => (s.name === 'prio-linear-v1' ? { ...s, growthFactor: 10 } : s)) };
    const plan = planInit(desired, changed);
    expect(plan.actions).toEqual([]);
    expect(plan.problems).toEqual([expect.stringMatching(/^strategy prio-linear-v1 exists with other parameters \(growthFactor is 10, the file says 20\): raise its version/)]);
  });
});

describe('profile validators', () => {
  it('every profile schema is self-contained: no reference leaves the document, and it compiles on its own', () => {
    const schemas = profileSchemas();
    for (const [profile, content] of Object.entries(schemas)) {
      expect(content, profile).not.toMatch(/"\$ref":"[^#]/);
      expect(content, profile).not.toContain('"$id"');
      // A fresh Ajv knows no other schema: compiling proves nothing outside is needed.
      expect(() => new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(content) as object), profile).not.toThrow();
    }
  });

  it('the inlined overrides schema accepts the example overrides and refuses what the original refuses', () => {
    const validate = new Ajv({ strict: false }).compile(JSON.parse(profileSchemas().overrides) as object);
    expect(validate(readJsonFile('rules/overrides.example.json'))).toBe(true);
    expect(validate({ schemaVersion: 1, accountOverrides: [{ id: 'x', accountId: '1', then: { tier: 'P90', qos: 0, preemptable: false }, extra: 1 }] })).toBe(false);
  });

  it('inlineSchema refuses two different definitions under one name', () => {
    const schema = { definitions: { a: { type: 'string' } }, properties: { x: { $ref: 'other.json#/definitions/a' } } };
    expect(() => inlineSchema(schema, () => ({ definitions: { a: { type: 'number' } } }))).toThrow(/definition "a" differs/);
    expect(JSON.parse(inlineSchema(schema, () => ({ definitions: { a: { type: 'string' } } })))).toEqual({ definitions: { a: { type: 'string' } }, properties: { x: { $ref: '#/definitions/a' } } });
  });
});

describe('judgeCandidate', () => {
  const shipped = shippedDocuments();

  it('accepts the shipped documents for their profiles', () => {
    expect(judgeCandidate('rules', shipped.rules, shipped, domain).valid).toBe(true);
    expect(judgeCandidate('flags', shipped.flags, shipped, domain).valid).toBe(true);
    expect(judgeCandidate('overrides', { file: 'o.json', doc: readJsonFile('rules/overrides.example.json') }, shipped, domain).valid).toBe(true);
  });

  it('a schema problem stops at the schema stage, with file and pointer', () => {
    const doc = { ...(shipped.rules.doc as object), scheme: 'tiers' };
    const j = judgeCandidate('rules', { file: 'r.json', doc }, shipped, domain);
    expect(j.valid).toBe(false);
    if (!j.valid) expect(j.issues).toEqual([expect.objectContaining({ stage: 'schema', file: 'r.json', pointer: '/scheme' })]);
  });

  it('a lint finding (an unreachable rule) refuses the document', () => {
    const doc = shipped.rules.doc as { rules: { id: string }[] };
    const first = doc.rules[0];
    const withDuplicate = { ...doc, rules: [...doc.rules, { ...first, id: 'copy-of-first' }] };
    const j = judgeCandidate('rules', { file: 'r.json', doc: withDuplicate }, shipped, domain);
    expect(j.valid).toBe(false);
    if (!j.valid) expect(j.issues.some((i) => i.stage === 'lint' && i.file === 'r.json')).toBe(true);
  });

  it('an override naming an unknown tier is reported against the overrides file', () => {
    const doc = { schemaVersion: 1, accountOverrides: [{ id: 'x', accountId: '123', then: { tier: 'P99', qos: 0, preemptable: false } }] };
    const j = judgeCandidate('overrides', { file: 'o.json', doc }, shipped, domain);
    expect(j.valid).toBe(false);
    if (!j.valid) expect(j.issues[0]).toMatchObject({ file: 'o.json', pointer: '/accountOverrides/0/then/tier' });
  });

  it('flags naming a rules version nothing offers fail when composed', () => {
    const doc = { ...(shipped.flags.doc as object), rulesVersion: 'tiered-9' };
    const j = judgeCandidate('flags', { file: 'f.json', doc }, shipped, domain);
    expect(j.valid).toBe(false);
    if (!j.valid) expect(j.issues).toEqual([expect.objectContaining({ stage: 'compose', file: 'f.json', pointer: '/rulesVersion' })]);
  });
});

describe('versions', () => {
  const sha = sha256Hex(new TextEncoder().encode('{"a":1}'));

  it('a description records the digest and the commit, and both read back', () => {
    const d = versionDescription(sha, 'a'.repeat(40));
    expect(digestIn(d)).toBe(sha);
    expect(commitIn(d)).toBe('a'.repeat(40));
    expect(digestIn(versionDescription(sha, undefined))).toBe(sha);
    expect(digestIn('hand-made version')).toBeUndefined();
  });

  it('finds the newest version with the same content, and none for other content', () => {
    const versions = [
      { version: 1, description: versionDescription(sha, undefined), label: undefined },
      { version: 2, description: versionDescription('b'.repeat(64), undefined), label: undefined },
      { version: 3, description: versionDescription(sha, 'c'.repeat(40)), label: undefined },
    ];
    expect(findIdenticalVersion(versions, sha)?.version).toBe(3);
    expect(findIdenticalVersion(versions, 'd'.repeat(64))).toBeUndefined();
    expect(latestVersion(versions)).toBe(3);
    expect(latestVersion([])).toBeUndefined();
  });
});

describe('deployments', () => {
  it('finds the deployment in progress, newest first', () => {
    expect(inProgress([deployment(1, 'rules', '1', 'COMPLETE'), deployment(2, 'flags', '1', 'BAKING')])?.number).toBe(2);
    expect(inProgress([deployment(1, 'rules', '1', 'COMPLETE'), deployment(2, 'rules', '2', 'ROLLED_BACK')])).toBeUndefined();
  });

  it('live is the newest COMPLETE version per profile; a rolled-back deployment leaves the previous one live', () => {
    const live = liveVersions([deployment(1, 'rules', '1', 'COMPLETE'), deployment(2, 'rules', '2', 'ROLLED_BACK'), deployment(3, 'flags', '4', 'DEPLOYING')], ['rules', 'overrides', 'flags']);
    expect(live.map((l) => [l.profile, l.live?.version, l.running?.number])).toEqual([
      ['rules', '1', undefined],
      ['overrides', undefined, undefined],
      ['flags', undefined, 3],
    ]);
  });

  it('rollback stops what is running', () => {
    expect(planRollback([deployment(1, 'rules', '1', 'COMPLETE'), deployment(2, 'rules', '2', 'DEPLOYING')], undefined)).toMatchObject({ kind: 'stop', deployment: { number: 2 } });
  });

  it('after COMPLETE, rollback redeploys the version live before, skipping rolled-back attempts and same-version redeploys', () => {
    const history = [deployment(1, 'rules', '1', 'COMPLETE'), deployment(2, 'rules', '3', 'ROLLED_BACK'), deployment(3, 'rules', '2', 'COMPLETE'), deployment(4, 'rules', '2', 'COMPLETE'), deployment(5, 'flags', '7', 'COMPLETE')];
    expect(planRollback(history, 'rules')).toMatchObject({ kind: 'redeploy', profile: 'rules', from: { number: 4 }, toVersion: '1' });
    // Without --profile: the profile deployed last.
    expect(planRollback(history, undefined)).toMatchObject({ kind: 'refused', reason: 'flags v7 is the only version ever live here; nothing to roll back to' });
  });

  it('refuses when there is nothing to go back to, or it is already rolling back', () => {
    expect(planRollback([], undefined)).toEqual({ kind: 'refused', reason: 'nothing was ever deployed here' });
    expect(planRollback([deployment(1, 'rules', '1', 'ROLLED_BACK')], 'rules')).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/no deployment of rules completed/) as unknown });
    expect(planRollback([deployment(1, 'rules', '1', 'ROLLING_BACK')], 'rules')).toMatchObject({ kind: 'refused', reason: expect.stringMatching(/already rolling back/) as unknown });
  });
});

describe('watch lines', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 11, 4, 5, 0, s));
  const base: Deployment = { DeploymentNumber: 3, ConfigurationName: 'rules', ConfigurationVersion: '2', State: 'DEPLOYING', PercentageComplete: 20 };

  it('prints new events oldest first, then the state, and nothing when nothing changed', () => {
    const first = observe(FRESH, {
      ...base,
      EventLog: [
        { EventType: 'PERCENTAGE_UPDATED', TriggeredBy: 'APPCONFIG', Description: 'Configuration deployed to 20% of clients', OccurredAt: at(1) },
        { EventType: 'DEPLOYMENT_STARTED', TriggeredBy: 'USER', Description: 'Deployment started', OccurredAt: at(0) },
      ],
    });
    expect(first.lines.map(formatWatchLine)).toEqual([
      '#3 2026-12-04T05:00:00.000Z DEPLOYMENT_STARTED (USER): Deployment started',
      '#3 2026-12-04T05:00:01.000Z PERCENTAGE_UPDATED (APPCONFIG): Configuration deployed to 20% of clients',
      '#3 rules v2 DEPLOYING 20%',
    ]);
    const again = observe(first.memory, { ...base, EventLog: [{ EventType: 'DEPLOYMENT_STARTED', TriggeredBy: 'USER', Description: 'Deployment started', OccurredAt: at(0) }] });
    expect(again.lines).toEqual([]);
    const rolled = observe(again.memory, { ...base, State: 'ROLLED_BACK', PercentageComplete: 0, EventLog: [{ EventType: 'ROLLBACK_COMPLETED', TriggeredBy: 'CLOUDWATCH_ALARM', Description: 'Rollback completed', OccurredAt: at(5) }] });
    expect(rolled.lines.map(formatWatchLine)).toEqual(['#3 2026-12-04T05:00:05.000Z ROLLBACK_COMPLETED (CLOUDWATCH_ALARM): Rollback completed', '#3 rules v2 ROLLED_BACK 0%']);
    expect(rolled.record.state).toBe('ROLLED_BACK');
  });

  it('exit codes: COMPLETE 0, rolled back or reverted 3, still running none', () => {
    expect(terminalExitCode('COMPLETE')).toBe(0);
    expect(terminalExitCode('ROLLED_BACK')).toBe(3);
    expect(terminalExitCode('REVERTED')).toBe(3);
    expect(terminalExitCode('BAKING')).toBeUndefined();
  });
});

describe('connection and AWS errors', () => {
  it('takes the endpoint as the AWS CLI does: option, then the AppConfig variable, then the general one', () => {
    expect(endpointFrom('http://a', { AWS_ENDPOINT_URL_APPCONFIG: 'http://b', AWS_ENDPOINT_URL: 'http://c' })).toBe('http://a');
    expect(endpointFrom(undefined, { AWS_ENDPOINT_URL_APPCONFIG: 'http://b', AWS_ENDPOINT_URL: 'http://c' })).toBe('http://b');
    expect(endpointFrom(undefined, { AWS_ENDPOINT_URL: 'http://c' })).toBe('http://c');
    expect(endpointFrom(undefined, {})).toBeUndefined();
  });

  // Expired credentials are a fault the local endpoint (which does not check signatures) cannot
  // produce; the SDK's error is built here as it arrives, to pin the wording.
  it('words an expired token, missing credentials and an unknown failure', () => {
    const expired = Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredTokenException', $metadata: { httpStatusCode: 403 } });
    expect(describeAwsError(expired, 'x')?.message).toBe('AWS credentials expired: The security token included in the request is expired; refresh them (e.g. aws sso login) and retry');
    const missing = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    expect(describeAwsError(missing, 'x')).toMatchObject({ kind: 'aws', message: expect.stringMatching(/^no AWS credentials found/) as unknown });
    expect(describeAwsError(new RangeError('a bug'), 'x')).toBeUndefined();
  });
});

describe('prio appconfig (what needs no endpoint)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prio-appconfig-unit-'));

  it('every command and the group have --help with an example', async () => {
    for (const command of [[], ['init'], ['validate'], ['publish'], ['deploy'], ['watch'], ['rollback'], ['status'], ['history'], ['diff'], ['local']]) {
      const run = await runCli('appconfig', ...command, '--help');
      expect(run.code, command.join(' ')).toBe(0);
      expect(run.out, command.join(' ')).toMatch(/Examples?[^\n]*:\n\s+(\$ )?prio appconfig/);
    }
  });

  it('validate without --app needs no AppConfig: a valid document exits 0, an invalid one 1 with stage, file and pointer', async () => {
    const ok = await runCli('appconfig', 'validate', '--profile', 'overrides', 'rules/overrides.example.json');
    expect(ok.code, ok.err).toBe(0);
    expect(ok.out).toBe('rules/overrides.example.json: valid overrides document (schema, lint, the configuration it makes compiles)\n');
    const file = join(dir, 'flags.json');
    writeFileSync(file, JSON.stringify({ ...(readJsonFile('rules/flags.json') as object), tokenWriteMode: 'v3' }));
    const bad = await runCli('appconfig', 'validate', '--profile', 'flags', file, '--json');
    expect(bad.code).toBe(1);
    expect(bad.err).toBe(`schema: ${file}#/tokenWriteMode: must be one of ["v1","v2"]\n`);
    expect(JSON.parse(bad.out)).toMatchObject({ valid: false, issues: [{ stage: 'schema', file, pointer: '/tokenWriteMode' }] });
    writeFileSync(join(dir, 'broken.json'), '{"schemaVersion": 1,');
    const broken = await runCli('appconfig', 'validate', '--profile', 'flags', join(dir, 'broken.json'));
    expect(broken.code).toBe(1);
    expect(broken.err).toMatch(/^schema: .*broken\.json: not valid JSON: /);
  });

  it('usage errors are one line, exit 2: an unreadable file, an alarm for an environment not listed, a bad --alarm', async () => {
    const missing = await runCli('appconfig', 'validate', '--profile', 'rules', join(dir, 'nope.json'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^error: .*nope\.json: cannot read: ENOENT/);
    const alarm = await runCli('appconfig', 'init', '--app', 'a', '--envs', 'beta', '--alarm', 'prod=arn:x', '--endpoint-url', 'http://127.0.0.1:9');
    expect(alarm).toMatchObject({ code: 2, err: 'error: --alarm names environment "prod", which --envs does not list\n' });
    const malformed = await runCli('appconfig', 'init', '--app', 'a', '--envs', 'beta', '--alarm', 'prod', '--endpoint-url', 'http://127.0.0.1:9');
    expect(malformed).toMatchObject({ code: 2, err: 'error: --alarm takes env=ARN, got "prod"\n' });
  });
});
