/**
 * The `prio appconfig` pipeline end to end: the CLI (in-process) and the real
 * @aws-sdk/client-appconfig against `prio appconfig local`, started by the test setup at a time
 * scale of 600 (the shipped all-at-once strategy's 10-minute bake passes in a second, linear's
 * 30 minutes in three). Each test works in an application of its own.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateDeploymentStrategyCommand,
  CreateHostedConfigurationVersionCommand,
  GetConfigurationProfileCommand,
  ListHostedConfigurationVersionsCommand,
  StartDeploymentCommand,
  type AppConfigClient,
} from '@aws-sdk/client-appconfig';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeAwsError, listDeployments, profileSchemas, resolveApplication, resolveEnvironment, resolveProfile } from '../../src/appconfig/pipeline/index.js';
import { readJsonFile } from '../../src/config/index.js';
import { appConfigClients, appConfigEndpoint, clearFaults, injectFault, setAlarm, type AppConfigClients } from '../support/appconfig.js';
import { runCli, type CliRun } from '../support/cli.js';
import { freePort, sleep } from '../support/net.js';

const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_REGION: 'us-east-1' };
const saved: Record<string, string | undefined> = {};
let endpoint: string;
let clients: AppConfigClients;
let sdk: AppConfigClient;
let appSeq = 0;
const work = mkdtempSync(join(tmpdir(), 'prio-appconfig-pipeline-'));

beforeAll(() => {
  endpoint = appConfigEndpoint();
  // As the CLI does (src/appconfig/pipeline/client.ts): no Node-support notice in the test log.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  for (const [k, v] of Object.entries(CREDENTIALS)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  clients = appConfigClients(endpoint);
  sdk = clients.control;
});

afterAll(() => {
  clients.destroy();
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

/** `prio appconfig ...` against the local endpoint. */
const cli = (...args: string[]): Promise<CliRun> => runCli('appconfig', ...args, '--endpoint-url', endpoint);

function newApp(): string {
  appSeq += 1;
  return `pipeline-${process.pid}-${appSeq}`;
}

/** The shipped tier rule set with one rule raised and a new version label: a second, valid rules document. */
function rulesV2(): string {
  const doc = readJsonFile('rules/service_tier.json') as { version: string; rules: { id: string; then: { tier?: string } }[] };
  doc.version = 'tiered-7.2';
  const rule = doc.rules.find((r) => r.id === 'priority-on-demand');
  if (rule === undefined) throw new Error('rules/service_tier.json changed: no priority-on-demand rule');
  rule.then.tier = 'P90';
  const file = join(work, `rules-v2-${appSeq}.json`);
  writeFileSync(file, JSON.stringify(doc, null, 2));
  return file;
}

async function initApp(envs: string, ...extra: string[]): Promise<string> {
  const app = newApp();
  const run = await cli('init', '--app', app, '--envs', envs, ...extra);
  expect(run.code, run.err).toBe(0);
  return app;
}

async function versionCount(app: string, profile: string): Promise<number> {
  const a = await resolveApplication(sdk, app);
  const p = await resolveProfile(sdk, a, profile);
  const out = await sdk.send(new ListHostedConfigurationVersionsCommand({ ApplicationId: a.id, ConfigurationProfileId: p.id }));
  return out.Items?.length ?? 0;
}

async function deployAndWatch(app: string, env: string, strategy: string, ...extra: string[]): Promise<CliRun> {
  const deployed = await cli('deploy', '--app', app, '--env', env, '--profile', 'rules', '--strategy', strategy, ...extra);
  expect(deployed.code, deployed.err).toBe(0);
  return cli('watch', '--app', app, '--env', env, '--interval', '0.05');
}

/** Polls the newest deployment of an environment until `ready` holds (bounded). */
async function untilDeployment(app: string, env: string, ready: (d: { state: string; percentage: number }) => boolean): Promise<void> {
  const a = await resolveApplication(sdk, app);
  const e = await resolveEnvironment(sdk, a, env);
  for (let i = 0; i < 200; i++) {
    const [newest] = await listDeployments(sdk, a, e);
    if (newest !== undefined && ready(newest)) return;
    await sleep(20);
  }
  throw new Error(`deployment in ${app}/${env} never reached the expected state`);
}

describe('prio appconfig init', () => {
  it('creates the application, environments, profiles with self-contained validators and strategies; a second run changes nothing', async () => {
    const app = newApp();
    const first = await cli('init', '--app', app, '--envs', 'beta,preprod,prod', '--alarm', 'prod=arn:aws:cloudwatch:us-east-1:111122223333:alarm:init-test', '--json');
    expect(first.code, first.err).toBe(0);
    const created = JSON.parse(first.out) as { changed: boolean; actions: string[] };
    expect(created.changed).toBe(true);
    expect(created.actions).toEqual(
      expect.arrayContaining([
        `create application ${app}`,
        'create environment prod with alarms arn:aws:cloudwatch:us-east-1:111122223333:alarm:init-test',
        'create hosted profile overrides with its JSON Schema validator',
      ]),
    );

    // The validators AppConfig holds are the schemas shipped, inlined.
    const a = await resolveApplication(sdk, app);
    const schemas = profileSchemas();
    for (const name of ['rules', 'overrides', 'flags'] as const) {
      const p = await resolveProfile(sdk, a, name);
      const full = await sdk.send(new GetConfigurationProfileCommand({ ApplicationId: a.id, ConfigurationProfileId: p.id }));
      expect(full.Validators).toEqual([{ Type: 'JSON_SCHEMA', Content: schemas[name] }]);
    }

    const second = await cli('init', '--app', app, '--envs', 'beta,preprod,prod', '--alarm', 'prod=arn:aws:cloudwatch:us-east-1:111122223333:alarm:init-test');
    expect(second.code, second.err).toBe(0);
    expect(second.out).toMatch(new RegExp(`^${app}: nothing to change \\(\\d+ resources already as wanted\\)`));
    const third = JSON.parse((await cli('init', '--app', app, '--envs', 'beta,preprod,prod', '--json')).out) as { changed: boolean; actions: string[] };
    expect(third).toMatchObject({ changed: false, actions: [] });
  });
});

describe('publish, deploy, watch', () => {
  it('publishes, deploys with a time-scaled strategy and watches to COMPLETE; status shows it live', async () => {
    const app = await initApp('beta');
    const published = await cli('publish', '--app', app, '--profile', 'rules', 'rules/service_tier.json', '--json');
    expect(published.code, published.err).toBe(0);
    expect(JSON.parse(published.out)).toMatchObject({ version: 1, created: true });

    const watched = await deployAndWatch(app, 'beta', 'linear');
    expect(watched.code, watched.err).toBe(0);
    expect(watched.out).toContain('PERCENTAGE_UPDATED (APPCONFIG): Configuration deployed to 20% of clients');
    expect(watched.out).toContain('DEPLOYMENT_COMPLETED');
    expect(watched.out).toMatch(/deployment #1 COMPLETE: rules v1 in beta is live\n$/);

    const status = JSON.parse((await cli('status', '--app', app, '--json')).out) as { environments: { env: string; profiles: { profile: string; live: { version: string } | null }[] }[] };
    expect(status.environments[0]?.profiles.find((p) => p.profile === 'rules')?.live?.version).toBe('1');
  });

  it('publishing identical content returns the existing version; other content makes the next one', async () => {
    const app = await initApp('beta');
    const first = JSON.parse((await cli('publish', '--app', app, '--profile', 'flags', 'rules/flags.json', '--json')).out) as { version: number; sha256: string };
    const again = await cli('publish', '--app', app, '--profile', 'flags', 'rules/flags.json');
    expect(again.code, again.err).toBe(0);
    expect(again.out).toMatch(/version 1 already holds this content .*nothing published/);
    expect(await versionCount(app, 'flags')).toBe(1);

    const flags = join(work, `flags-${appSeq}.json`);
    writeFileSync(flags, JSON.stringify({ ...(readJsonFile('rules/flags.json') as object), tokenReadMode: 'dual' }));
    const second = JSON.parse((await cli('publish', '--app', app, '--profile', 'flags', flags, '--json')).out) as { version: number; created: boolean; sha256: string };
    expect(second).toMatchObject({ version: 2, created: true });
    expect(second.sha256).not.toBe(first.sha256);
    expect(await versionCount(app, 'flags')).toBe(2);
  });

  it('a bad document is refused before publish; published raw through the SDK, the endpoint validator refuses it at deploy', async () => {
    const app = await initApp('beta');
    const bad = { ...(readJsonFile('rules/service_tier.json') as object), scheme: 'tiers' };
    const file = join(work, `bad-${appSeq}.json`);
    writeFileSync(file, JSON.stringify(bad));

    const refused = await cli('publish', '--app', app, '--profile', 'rules', file);
    expect(refused.code).toBe(1);
    expect(refused.err).toBe(`schema: ${file}#/scheme: must be one of ["legacy","tier"]\n`);
    expect(await versionCount(app, 'rules')).toBe(0);

    const a = await resolveApplication(sdk, app);
    const p = await resolveProfile(sdk, a, 'rules');
    await sdk.send(new CreateHostedConfigurationVersionCommand({ ApplicationId: a.id, ConfigurationProfileId: p.id, Content: new TextEncoder().encode(JSON.stringify(bad)), ContentType: 'application/json' }));
    const deploy = await cli('deploy', '--app', app, '--env', 'beta', '--profile', 'rules', '--strategy', 'all-at-once');
    expect(deploy.code).toBe(2);
    expect(deploy.err.split('\n').filter((l) => l !== '')).toHaveLength(1);
    expect(deploy.err).toMatch(/^error: AppConfig refused the request: .*\/scheme: must be one of \["legacy","tier"\]/);
  });
});

describe('alarms and rollback', () => {
  it('an alarm mid-deployment rolls it back and watch exits 3', async () => {
    const alarm = `arn:aws:cloudwatch:us-east-1:111122223333:alarm:pipeline-${process.pid}-${appSeq + 1}`;
    const app = await initApp('prod', '--alarm', `prod=${alarm}`);
    expect((await cli('publish', '--app', app, '--profile', 'rules', 'rules/service_tier.json')).code).toBe(0);
    expect((await cli('deploy', '--app', app, '--env', 'prod', '--profile', 'rules', '--strategy', 'linear')).code).toBe(0);
    const watching = cli('watch', '--app', app, '--env', 'prod', '--interval', '0.05', '--json');
    await untilDeployment(app, 'prod', (d) => d.state === 'DEPLOYING' && d.percentage > 0);
    await setAlarm(alarm, 'ALARM', endpoint);
    try {
      const watched = await watching;
      expect(watched.code, watched.err).toBe(3);
      const lines = watched.out.trim().split('\n').map((l) => JSON.parse(l) as { state: string; event: { type: string; triggeredBy: string } | null });
      expect(lines.some((l) => l.event?.type === 'ROLLBACK_STARTED' && l.event.triggeredBy === 'CLOUDWATCH_ALARM')).toBe(true);
      expect(lines.at(-1)).toMatchObject({ state: 'ROLLED_BACK', event: null });
    } finally {
      await setAlarm(alarm, 'OK', endpoint);
    }
    // Nothing completed: nothing is live.
    const status = JSON.parse((await cli('status', '--app', app, '--json')).out) as { environments: { profiles: { profile: string; live: unknown }[] }[] };
    expect(status.environments[0]?.profiles.find((p) => p.profile === 'rules')?.live).toBeNull();
  });

  it('after COMPLETE, rollback redeploys the previous version all at once', async () => {
    const app = await initApp('beta');
    expect((await cli('publish', '--app', app, '--profile', 'rules', 'rules/service_tier.json')).code).toBe(0);
    expect((await deployAndWatch(app, 'beta', 'all-at-once')).code).toBe(0);
    expect((await cli('publish', '--app', app, '--profile', 'rules', rulesV2())).code).toBe(0);
    expect((await deployAndWatch(app, 'beta', 'all-at-once')).code).toBe(0);

    const rolled = await cli('rollback', '--app', app, '--env', 'beta', '--json');
    expect(rolled.code, rolled.err).toBe(0);
    const result = JSON.parse(rolled.out) as { action: string; deployment: { number: number; version: string }; from: { version: string } };
    expect(result).toMatchObject({ action: 'redeployed', deployment: { number: 3, version: '1' }, from: { version: '2' } });
    const watched = await cli('watch', '--app', app, '--env', 'beta', '--interval', '0.05');
    expect(watched.code, watched.err).toBe(0);

    const history = JSON.parse((await cli('history', '--app', app, '--env', 'beta', '--json')).out) as { deployments: { number: number; version: string; state: string }[] };
    expect(history.deployments.map((d) => [d.number, d.version, d.state])).toEqual([
      [3, '1', 'COMPLETE'],
      [2, '2', 'COMPLETE'],
      [1, '1', 'COMPLETE'],
    ]);
    const diff = JSON.parse((await cli('diff', '--app', app, '--profile', 'rules', '--from', '1', '--to', '2', '--json')).out) as { changed: number; rows: { from: string; to: string }[] };
    expect(diff.changed).toBeGreaterThan(0);
    expect(diff.rows.every((r) => r.from === 'P75 qos 1' && r.to === 'P90 qos 1')).toBe(true);
  });

  it('a second deployment is refused while one runs, saying what runs and since when; rollback then stops it', async () => {
    const app = await initApp('beta');
    expect((await cli('publish', '--app', app, '--profile', 'rules', 'rules/service_tier.json')).code).toBe(0);
    expect((await cli('deploy', '--app', app, '--env', 'beta', '--profile', 'rules', '--strategy', 'linear')).code).toBe(0);

    const second = await cli('deploy', '--app', app, '--env', 'beta', '--profile', 'rules', '--strategy', 'linear');
    expect(second.code).toBe(2);
    expect(second.err).toMatch(/^error: a deployment is already in progress in beta: #1 rules v1 (DEPLOYING|BAKING) \d+% since \d{4}-\d\d-\d\dT[\d:.]+Z; watch it, or roll it back, before deploying again\n$/);

    // Behind the check, AppConfig's own refusal reads as one line too.
    const a = await resolveApplication(sdk, app);
    const e = await resolveEnvironment(sdk, a, 'beta');
    const p = await resolveProfile(sdk, a, 'rules');
    const raw = await sdk
      .send(new StartDeploymentCommand({ ApplicationId: a.id, EnvironmentId: e.id, ConfigurationProfileId: p.id, DeploymentStrategyId: 'AppConfig.AllAtOnce', ConfigurationVersion: '1' }))
      .then(() => undefined, (err: unknown) => err);
    expect((raw as Error).name).toBe('ConflictException');
    expect(describeAwsError(raw, endpoint)).toMatchObject({ kind: 'refused', message: expect.stringMatching(/^AppConfig refused \(conflict\): /) as unknown });

    const stopped = await cli('rollback', '--app', app, '--env', 'beta');
    expect(stopped.code, stopped.err).toBe(0);
    expect(stopped.out).toMatch(/^stopped deployment #1 \(rules v1\): ROLL(ED|ING)_BACK/);
  });
});

describe('validate against what is deployed', () => {
  it('composes with the live documents and replays a log against them, judged by a gate', async () => {
    const app = await initApp('beta');
    expect((await cli('publish', '--app', app, '--profile', 'rules', 'rules/service_tier.json')).code).toBe(0);
    expect((await deployAndWatch(app, 'beta', 'all-at-once')).code).toBe(0);
    const out = join(work, `shadow-${appSeq}`);
    const run = await cli('validate', '--profile', 'overrides', 'rules/overrides.example.json', '--app', app, '--env', 'beta', '--shadow', 'shadow/samples/requests.ndjson', '--gate', 'shadow/gates/default.json', '--shadow-out', out, '--json');
    expect(run.code, run.err).toBe(0);
    const result = JSON.parse(run.out) as { valid: boolean; shadow: { totals: { read: number }; gate: { passed: boolean } } };
    expect(result.valid).toBe(true);
    expect(result.shadow.totals.read).toBe(400);
    expect(result.shadow.gate.passed).toBe(true);
  });
});

describe('errors are one line, exit 2', () => {
  const oneLine = (run: CliRun) => {
    expect(run.code).toBe(2);
    expect(run.err.split('\n').filter((l) => l !== '')).toHaveLength(1);
    expect(run.err).not.toMatch(/\n\s+at /);
  };

  it('an unreachable endpoint', async () => {
    const port = await freePort();
    const run = await runCli('appconfig', 'status', '--app', 'x', '--endpoint-url', `http://127.0.0.1:${port}`);
    oneLine(run);
    expect(run.err).toMatch(new RegExp(`^error: cannot reach AppConfig at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
  });

  it('an unknown application, naming the ones that exist', async () => {
    const run = await cli('deploy', '--app', 'no-such-app', '--env', 'beta', '--profile', 'rules', '--strategy', 'linear');
    oneLine(run);
    expect(run.err).toMatch(/^error: unknown application "no-such-app" \(known: .*\); create it with: prio appconfig init --app no-such-app/);
  });

  it('throttling: retried with backoff, and reported when it outlasts the retries', async () => {
    const app = await initApp('beta');
    await injectFault({ target: 'ListApplications', kind: 'throttle', count: 2 }, endpoint);
    try {
      const retried = await cli('status', '--app', app);
      expect(retried.code, retried.err).toBe(0);
      await injectFault({ target: 'ListApplications', kind: 'throttle' }, endpoint);
      const run = await cli('status', '--app', app);
      oneLine(run);
      expect(run.err).toMatch(/^error: AppConfig throttled the request \(after 4 attempts\)/);
    } finally {
      await clearFaults(endpoint);
    }
  });

  it('no credentials anywhere', async () => {
    const names = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_EC2_METADATA_DISABLED', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE'];
    const before = Object.fromEntries(names.map((n) => [n, process.env[n]]));
    for (const n of names) delete process.env[n];
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(work, 'no-credentials');
    process.env.AWS_CONFIG_FILE = join(work, 'no-config');
    process.env.AWS_EC2_METADATA_DISABLED = 'true';
    try {
      const run = await cli('status', '--app', 'x');
      oneLine(run);
      expect(run.err).toMatch(/^error: no AWS credentials found: /);
    } finally {
      for (const n of names) {
        if (before[n] === undefined) delete process.env[n];
        else process.env[n] = before[n];
      }
    }
  });
});

describe('watch and Ctrl-C', () => {
  it('SIGINT stops watching, not the deployment, and says how to resume', async () => {
    const app = await initApp('beta');
    // A strategy long enough (10 simulated hours) that the deployment is surely still running.
    const strategy = `pipeline-slow-${process.pid}-${appSeq}`;
    await sdk.send(new CreateDeploymentStrategyCommand({ Name: strategy, DeploymentDurationInMinutes: 600, GrowthType: 'LINEAR', GrowthFactor: 10, FinalBakeTimeInMinutes: 0, ReplicateTo: 'NONE' }));
    expect((await cli('publish', '--app', app, '--profile', 'rules', 'rules/service_tier.json')).code).toBe(0);
    expect((await cli('deploy', '--app', app, '--env', 'beta', '--profile', 'rules', '--strategy', strategy)).code).toBe(0);

    const child = spawn(process.execPath, ['bin/prio.js', 'appconfig', 'watch', '--app', app, '--env', 'beta', '--interval', '0.1', '--endpoint-url', endpoint], {
      env: { ...process.env, ...CREDENTIALS },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 300 && !out.includes('DEPLOYMENT_STARTED'); i++) await sleep(50);
      expect(out).toContain('DEPLOYMENT_STARTED');
      child.kill('SIGINT');
      expect(await exited).toBe(1);
      expect(err).toContain(`stopped watching; deployment #1 goes on. Resume with: prio appconfig watch --app ${app} --env beta --deployment 1`);
      // The deployment itself goes on.
      const [d] = await listDeployments(sdk, await resolveApplication(sdk, app), await resolveEnvironment(sdk, await resolveApplication(sdk, app), 'beta'));
      expect(d?.state).toBe('DEPLOYING');
    } finally {
      child.kill('SIGKILL');
      await cli('rollback', '--app', app, '--env', 'beta');
    }
  });
});
