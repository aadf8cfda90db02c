/**
 * `prio rollout run` on the default file store, with CloudWatch as its alarm source, against
 * `prio appconfig local` (its own, in this process: it answers AppConfig and CloudWatch
 * DescribeAlarms). No fleet is needed: evidence replays the sample request log, and every alarm
 * a gate names is a CloudWatch alarm the endpoint models.
 * - a CloudWatch alarm raised while Beta bakes rolls Beta back (exit 3);
 * - two runners on one file store: one holds the lease file and drives, the other waits; the
 *   holder is SIGKILLed, the other takes over within 10 s and finishes, every step deployed once.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, getDeployment, history, resolveApplication, resolveEnvironment } from '../../src/appconfig/index.js';
import { startLocalAppConfig, type LocalAppConfig } from '../../src/appconfig/local/index.js';
import { PACKAGE_ROOT, readJsonFile } from '../../src/config/index.js';
import { FileEventStore } from '../../src/eventstore/index.js';
import { loadMigration, parseMigrationDefinition, type Plan } from '../../src/migration/index.js';
import { deploymentMarker } from '../../src/rollout/index.js';
import { PRIO, setUpApplication } from '../../scripts/rollout/rehearsal.js';
import { spawnJsonLines } from '../support/json-lines-child.js';

const MIGRATION_FILE = join(PACKAGE_ROOT, 'migrations', '001-legacy-4-to-7-tier.json');
const dir = mkdtempSync(join(tmpdir(), 'prio-rollout-file-'));
const storeDir = join(dir, 'store');
const store = new FileEventStore({ dir: storeDir });
const children: ChildProcess[] = [];
let local: LocalAppConfig;
let env: NodeJS.ProcessEnv;

interface Line {
  kind?: string;
  message?: string;
  step?: string;
}
const isHolding = (l: Line) => l.kind === 'lease' && (l.message ?? '').startsWith('holding');
const isWaiting = (l: Line) => l.kind === 'lease' && (l.message ?? '').startsWith('waiting');

/** The migration 001 under another id, gated by a permissive shadow gate (the sample log is not the rehearsal's mix). */
function migration(id: string): { file: string; plan: Plan } {
  const gate = join(dir, 'gate.json');
  writeFileSync(gate, JSON.stringify({ minCompared: 1 }));
  const doc = readJsonFile(MIGRATION_FILE) as { id: string; steps: { gate: { shadowGate: string } }[] };
  doc.id = id;
  for (const s of doc.steps) s.gate.shadowGate = gate;
  const file = join(dir, `${id}.json`);
  writeFileSync(file, JSON.stringify(doc));
  return { file, plan: parseMigrationDefinition(doc, file) };
}

/** An application per test, its stages' alarms known to CloudWatch (OK), and the settings file. */
async function setUp(app: string, plan: Plan): Promise<string> {
  const conn = connect({ endpointUrl: local.url, region: 'us-east-1' });
  try {
    await setUpApplication(conn.client, plan, app);
  } finally {
    conn.close();
  }
  for (const alarm of new Set(plan.steps.flatMap((s) => s.gate.alarms))) await setAlarm(`${app}-${alarm}`, 'OK');
  const settings = {
    application: app,
    alarmSource: 'cloudwatch',
    cloudwatch: { endpoint: local.url, region: 'us-east-1' },
    pollSeconds: 0.25,
    timeScale: 8000,
    evidenceRecords: 500,
    outDir: join(dir, `out-${app}`),
    stages: Object.fromEntries(
      plan.stages.map(({ name }) => [name, { environment: name, strategy: 'all-at-once', fleet: ['http://127.0.0.1:9'], requestLog: { files: [join(PACKAGE_ROOT, 'shadow', 'samples', 'requests.ndjson')] } }]),
    ),
  };
  const file = join(dir, `settings-${app}.json`);
  writeFileSync(file, JSON.stringify(settings));
  return file;
}

async function setAlarm(name: string, state: string): Promise<void> {
  const res = await fetch(`${local.url}/_local/alarms`, { method: 'PUT', body: JSON.stringify({ arn: `arn:aws:cloudwatch:us-east-1:111122223333:alarm:${name}`, state }) });
  expect(res.status).toBe(200);
}

/** The gates' alarms are read under the application's prefix: each test's alarms are its own. */
function withCloudWatchNames(file: string, app: string, plan: Plan): void {
  const doc = readJsonFile(file) as { alarms?: Record<string, { cloudwatch?: string }> };
  for (const alarm of new Set(plan.steps.flatMap((s) => s.gate.alarms))) {
    doc.alarms = doc.alarms ?? {};
    const rule = doc.alarms[alarm];
    if (rule !== undefined) rule.cloudwatch = `${app}-${alarm}`;
  }
  writeFileSync(file, JSON.stringify(doc));
}

function run(file: string, settings: string, extra: string[] = []) {
  return spawnJsonLines<Line>([PRIO, 'rollout', 'run', file, '--settings', settings, '--store', 'file', '--store-dir', storeDir, '--json', '--lease-ttl', '2000', ...extra], { cwd: PACKAGE_ROOT, env }, children);
}

async function flagDeployments(app: string, plan: Plan): Promise<{ stage: string; description: string }[]> {
  const conn = connect({ endpointUrl: local.url, region: 'us-east-1' });
  try {
    const application = await resolveApplication(conn.client, app);
    const out = [];
    for (const { name } of plan.stages) {
      const environment = await resolveEnvironment(conn.client, application, name);
      for (const d of (await history(conn.client, app, name)).deployments.filter((x) => x.profile === 'flags')) {
        out.push({ stage: name, description: (await getDeployment(conn.client, application, environment, d.number)).Description ?? '' });
      }
    }
    return out;
  } finally {
    conn.close();
  }
}

beforeAll(async () => {
  local = await startLocalAppConfig({ port: 0, timeScale: 6000 });
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'local', AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'local' });
  env = { ...process.env, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_APPCONFIG: local.url, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
}, 60_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await local?.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('prio rollout run on the file store, CloudWatch alarms', () => {
  it('a CloudWatch alarm raised while Beta bakes rolls Beta back and exits 3', async () => {
    const { file, plan } = migration('cw-alarm');
    withCloudWatchNames(file, 'cw-alarm', plan);
    const settings = await setUp('cw-alarm', plan);
    const runner = run(file, settings);
    const baking = await runner.waitFor((l) => l.kind === 'deployed' && l.step === 'beta-dual-read', 240_000);
    expect(baking, `${JSON.stringify(runner.lines.slice(-8))}\n${runner.stderr()}`).toBeDefined();
    await setAlarm('cw-alarm-beta-token-rejects', 'ALARM');
    expect(await runner.exit, runner.stderr()).toBe(3);
    const events = (await loadMigration(store, 'cw-alarm')).events;
    const rolled = events.find((e) => e.type === 'RolledBack');
    expect(rolled?.type === 'RolledBack' && rolled.undoneSteps).toEqual(['beta-dual-read']);
    expect(rolled?.reason).toContain('CloudWatch alarm cw-alarm-beta-token-rejects is ALARM');
    // The evidence recorded the CloudWatch states it saw before the deployment.
    const evidence = events.find((e) => e.type === 'EvidenceAttached');
    expect(evidence?.type === 'EvidenceAttached' && evidence.evidence.alarms).toEqual({ 'beta-dispatch-errors': 'OK', 'beta-token-rejects': 'OK' });
  }, 300_000);

  it('two runners on one file store: the holder is SIGKILLed, the waiter takes over within 10 s and finishes, each step deployed once', async () => {
    const { file, plan } = migration('two-runners');
    withCloudWatchNames(file, 'two-runners', plan);
    const settings = await setUp('two-runners', plan);
    const last = plan.steps[plan.steps.length - 1]?.id ?? '';
    const a = run(file, settings, ['--owner', 'runner-a', '--until', last]);
    const b = run(file, settings, ['--owner', 'runner-b', '--until', last]);
    let pair: [typeof a, typeof b] | undefined;
    for (const deadline = Date.now() + 120_000; pair === undefined && Date.now() < deadline; ) {
      if (a.lines.some(isHolding)) pair = [a, b];
      else if (b.lines.some(isHolding)) pair = [b, a];
      else await new Promise((r) => setTimeout(r, 100));
    }
    expect(pair, `${a.stderr()}\n${b.stderr()}`).toBeDefined();
    const [leader, waiter] = pair as [typeof a, typeof b];
    expect(await waiter.waitFor(isWaiting, 120_000), waiter.stderr()).toBeDefined();
    // Killed once it has deployed something, at a random moment of its work after that.
    expect(await leader.waitFor((l) => l.kind === 'deploy', 240_000), leader.stderr()).toBeDefined();
    await new Promise((r) => setTimeout(r, Math.random() * 3000));
    expect(leader.child.exitCode, 'the leader finished before it could be killed').toBeNull();
    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    const took = await waiter.waitFor(isHolding, 60_000);
    expect(took, waiter.stderr()).toBeDefined();
    expect(Date.now() - killedAt).toBeLessThan(10_000);
    expect(await waiter.exit, `${JSON.stringify(waiter.lines.slice(-8))}\n${waiter.stderr()}`).toBe(0);

    const { state, events } = await loadMigration(store, 'two-runners');
    for (const step of plan.steps) expect(state.steps[step.id]?.status, step.id).toBe('completed');
    const deployments = await flagDeployments('two-runners', plan);
    for (const step of plan.steps) {
      expect(events.filter((e) => e.type === 'DeploymentStarted' && e.stepId === step.id), step.id).toHaveLength(1);
      expect(deployments.filter((d) => d.description.includes(`${deploymentMarker('two-runners', step.id, 1)}:`)), step.id).toHaveLength(1);
    }
    // The lease file names the runner that finished, with the newer token.
    const lease = readJsonFile(store.leaseFileOf('migration-two-runners')) as { owner: string; token: number };
    expect(lease).toMatchObject({ owner: waiter === a ? 'runner-a' : 'runner-b', token: 2 });
  }, 480_000);
});
