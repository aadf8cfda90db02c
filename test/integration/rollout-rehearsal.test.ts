/**
 * The whole migration 001 on a rehearsal fleet: prio appconfig local, 3 stages of 2 `prio serve`
 * instances each on the simulated upstream taking their flags from AppConfig, `prio load` across
 * all of them throughout, and `prio rollout` processes on DynamoDB Local. In order: a gate
 * failure withdraws the step and stops before any deployment; an alarm raised during PreProd's bake rolls
 * PreProd back and leaves Beta as it was; resumed, two runners drive the rest while the one
 * holding the lease is SIGKILLed at random points (the other takes over within 10 s, a
 * restarted one carries on) and every step deploys exactly once; a full rollback takes every
 * stage back to legacy writers. The load sees no failed request and no mis-ranked session.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, history, getDeployment, resolveApplication, resolveEnvironment } from '../../src/appconfig/index.js';
import { PACKAGE_ROOT, readJsonFile } from '../../src/config/index.js';
import { DynamoDbEventStore, createEventTable } from '../../src/eventstore/index.js';
import { loadMigration, parseMigrationDefinition, type MigrationEvent, type Plan } from '../../src/migration/index.js';
import { deploymentMarker } from '../../src/rollout/index.js';
import { APPLICATION, PRIO, REHEARSAL_LOAD_MIX, startRehearsal, type Rehearsal } from '../../scripts/rollout/rehearsal.js';
import { spawnJsonLines } from '../support/json-lines-child.js';

const MIGRATION_FILE = join(PACKAGE_ROOT, 'migrations', '001-legacy-4-to-7-tier.json');
const plan: Plan = parseMigrationDefinition(readJsonFile(MIGRATION_FILE), MIGRATION_FILE);
const endpoint = process.env.DYNAMODB_ENDPOINT ?? '';
const table = `rollout-${randomUUID().slice(0, 8)}`;
const store = new DynamoDbEventStore({ table, endpoint });
const dir = mkdtempSync(join(tmpdir(), 'prio-rollout-'));
const children: ChildProcess[] = [];
let rehearsal: Rehearsal;
let load: ChildProcess;
let loadOut = '';
let loadExit: Promise<number>;

/** Bakes of hours in seconds: 3,480 migration minutes take ~26 s. */
const TIME_SCALE = 8000;
const LEASE_TTL = 2000;
/** Requests each stage's logs hold before the first evidence (3 s of the load, as a count). */
const MIN_LOGGED = 150;
const isHolding = (l: Line) => l.kind === 'lease' && (l.message ?? '').startsWith('holding');
const isWaiting = (l: Line) => l.kind === 'lease' && (l.message ?? '').startsWith('waiting');

interface Line {
  kind?: string;
  message?: string;
  step?: string;
  at?: string;
}

function prio(args: readonly string[]) {
  return spawnJsonLines<Line>([PRIO, ...args], { cwd: PACKAGE_ROOT, env: { ...rehearsal.env, DYNAMODB_ENDPOINT: endpoint } }, children);
}

const storeArgs = () => ['--store', 'dynamodb', '--table', table, '--endpoint', endpoint];
const run = (migration: string, extra: string[] = []) => prio(['rollout', 'run', migration, '--settings', rehearsal.settingsFile, ...storeArgs(), '--json', '--lease-ttl', String(LEASE_TTL), ...extra]);

async function events(id: string): Promise<MigrationEvent[]> {
  return [...(await loadMigration(store, id)).events];
}

/** Deployments of the flags profile per stage, with their descriptions. */
async function flagDeployments(): Promise<{ stage: string; number: number; description: string; state: string }[]> {
  const conn = connect({ endpointUrl: rehearsal.endpoint, region: 'us-east-1' });
  try {
    const app = await resolveApplication(conn.client, APPLICATION);
    const out = [];
    for (const { name } of plan.stages) {
      const env = await resolveEnvironment(conn.client, app, name);
      for (const d of (await history(conn.client, APPLICATION, name)).deployments.filter((x) => x.profile === 'flags')) {
        const full = await getDeployment(conn.client, app, env, d.number);
        out.push({ stage: name, number: d.number, description: full.Description ?? '', state: d.state });
      }
    }
    return out;
  } finally {
    conn.close();
  }
}

async function flagsLive(stage: string): Promise<string> {
  const url = rehearsal.instances.find((i) => i.stage === stage)?.url ?? '';
  const metrics = await (await fetch(`${url}/metrics`)).text();
  return /prio_config_info\{([^}]*)\}/.exec(metrics)?.[1] ?? '';
}

/**
 * Every instance of the stage runs configuration matching `label`. Instances poll AppConfigData
 * every second; on a loaded machine a poll can lag by many seconds, so look for up to a minute
 * (it returns as soon as they all do).
 */
async function fleetRuns(stage: string, label: string): Promise<boolean> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    const all = await Promise.all(
      rehearsal.instances.filter((x) => x.stage === stage).map(async (x) => /prio_config_info\{([^}]*)\}/.exec(await (await fetch(`${x.url}/metrics`)).text())?.[1] ?? ''),
    );
    if (all.every((l) => l.includes(label))) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

beforeAll(async () => {
  await createEventTable(store.client, table);
  rehearsal = await startRehearsal({
    dir,
    plan,
    instancesPerStage: 2,
    timeScale: TIME_SCALE,
    appConfigTimeScale: 6000,
    pollSeconds: 0.25,
    evidenceRecords: 2000,
    strategies: { beta: 'all-at-once', preprod: 'linear', prod: 'exponential' },
  });
  // Sessions opened now, before phase 1, ride through the whole rollout and the rollback.
  load = spawn(
    process.execPath,
    [PRIO, 'load', ...rehearsal.instances.flatMap((i) => ['--target', i.url]), '--rate', '150', '--duration', '3600', '--sessions', '120', ...REHEARSAL_LOAD_MIX, '--json'],
    { cwd: PACKAGE_ROOT, env: rehearsal.env },
  );
  children.push(load);
  load.stdout?.on('data', (d: Buffer) => (loadOut += d.toString()));
  loadExit = new Promise((done) => load.once('exit', (code) => done(code ?? 1)));
  // Let the request logs fill before the first evidence is taken: every stage's logs hold
  // requests (watched, not timed: a loaded machine starts the load slowly).
  for (const deadline = Date.now() + 120_000; ; ) {
    const lines = plan.stages.map(({ name }) =>
      rehearsal.instances.filter((i) => i.stage === name).reduce((n, i) => n + readFileSync(i.logFile, 'utf8').split('\n').length - 1, 0),
    );
    if (lines.every((n) => n >= MIN_LOGGED)) break;
    if (Date.now() > deadline) throw new Error(`the request logs hold ${lines.join(', ')} lines per stage after 120 s of load: ${loadOut.slice(-500)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}, 420_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await rehearsal?.stop();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('prio rollout on a rehearsal fleet (migration 001, 3 stages × 2 prio serve, prio load throughout)', () => {
  it('a failed gate withdraws the step and stops before any deployment, and exits 3', async () => {
    // The same migration under another id, its first gate impossible to pass.
    const gate = join(dir, 'impossible-gate.json');
    writeFileSync(gate, JSON.stringify({ minCompared: 1_000_000_000 }));
    const doc = readJsonFile(MIGRATION_FILE) as { id: string; steps: { gate: { shadowGate: string } }[] };
    doc.id = 'gate-fails';
    for (const s of doc.steps) s.gate.shadowGate = gate;
    const file = join(dir, 'gate-fails.json');
    writeFileSync(file, JSON.stringify(doc));
    const before = await flagDeployments();
    const betaBefore = await flagsLive('beta');

    const runner = run(file);
    expect(await runner.exit, runner.stderr()).toBe(3);
    const all = await events('gate-fails');
    expect(all.map((e) => e.type)).toEqual(['MigrationPlanned', 'StepStarted', 'EvidenceAttached', 'StepWithdrawn', 'MigrationPaused']);
    const evidence = all.find((e) => e.type === 'EvidenceAttached');
    expect(evidence?.type === 'EvidenceAttached' && evidence.passed).toBe(false);
    // Zero deployments: not the step's flags, not a landing of dual readers, nothing in any stage.
    expect(await flagDeployments()).toEqual(before);
    expect(await flagsLive('beta')).toBe(betaBefore);
    expect(await flagsLive('beta')).not.toContain('token_write_mode="v2"');
  }, 240_000);

  it('an alarm during PreProd\'s bake rolls PreProd back and leaves Beta as it was', async () => {
    const runner = run(MIGRATION_FILE);
    const baking = await runner.waitFor((l) => l.kind === 'deployed' && l.step === 'preprod-dual-read', 240_000);
    expect(baking, `${JSON.stringify(runner.lines)}\n${runner.stderr()}`).toBeDefined();
    // A presented token no instance can read: the fleet's own metrics raise preprod-token-rejects.
    const preprod = rehearsal.instances.find((i) => i.stage === 'preprod')?.url ?? '';
    for (let i = 0; i < 3; i += 1) {
      await fetch(`${preprod}/v1/decide`, { method: 'POST', body: JSON.stringify({ accountId: 'acct-x', classification: 'ON_DEMAND', modelId: 'model-a', sessionToken: 'not-a-token' }) });
    }
    expect(await runner.exit).toBe(3);
    const all = await events(plan.id);
    const rolled = all.find((e) => e.type === 'RolledBack');
    expect(rolled?.type === 'RolledBack' && rolled.undoneSteps).toEqual(['preprod-dual-read']);
    expect(rolled?.reason).toContain('preprod-token-rejects');
    const state = (await loadMigration(store, plan.id)).state;
    expect(state.status).toBe('paused');
    expect(state.steps['beta-dual-read']?.status).toBe('completed');
    expect(state.liveFlags.beta).toMatchObject({ priorityScheme: 'dual', tokenReadMode: 'dual', rulesVersion: 'tiered-7.1' });
    expect(await fleetRuns('beta', 'rules_version="tiered-7.1"')).toBe(true);
    expect(await fleetRuns('preprod', 'token_write_mode="v1"')).toBe(true);
  }, 360_000);

  it('resumed, two runners finish the migration through SIGKILLs: the other takes over within 10 s, every step deploys once', async () => {
    const resumed = prio(['migrate', 'resume', plan.id, ...storeArgs(), '--reason', 'alarm understood']);
    expect(await resumed.exit).toBe(0);
    const fromVersion = (await events(plan.id)).length;

    // Up to the last step: a migration marked complete is final, and the next test rolls it back.
    const last = plan.steps[plan.steps.length - 1]?.id ?? '';
    let a = run(plan.id, ['--owner', 'runner-a', '--until', last]);
    let b = run(plan.id, ['--owner', 'runner-b', '--until', last]);
    const kills: { killedAt: number; tookOverMs: number }[] = [];
    // Two kills at random moments of the leader's work (evidence, deployment, bake, appends).
    for (let round = 0; round < 2; round += 1) {
      // Event-driven, not timed: one runner holds the lease and the other has started and is
      // waiting on it (a process starting on a loaded machine takes seconds; the takeover bound
      // counts from the kill of the holder, with the other already waiting, as the issue says).
      let pair: [typeof a, typeof b] | undefined;
      for (const deadline = Date.now() + 120_000; pair === undefined && Date.now() < deadline; ) {
        if (a.child.exitCode === null && a.lines.some(isHolding)) pair = [a, b];
        else if (b.child.exitCode === null && b.lines.some(isHolding)) pair = [b, a];
        else await new Promise((r) => setTimeout(r, 100));
      }
      expect(pair, `no runner took the lease: ${JSON.stringify([...a.lines, ...b.lines].slice(-6))}\n${a.stderr()}\n${b.stderr()}`).toBeDefined();
      const [leader, waiter] = pair as [typeof a, typeof b];
      const waiting = await waiter.waitFor(isWaiting, 120_000);
      if (waiting === undefined && leader.child.exitCode !== null) break; // the leader finished first
      expect(waiting, `${JSON.stringify(waiter.lines.slice(-6))}\n${waiter.stderr()}`).toBeDefined();
      await new Promise((r) => setTimeout(r, 1000 + Math.random() * 4000));
      if (leader.child.exitCode !== null) break;
      const killedAt = Date.now();
      leader.child.kill('SIGKILL');
      // Waited for long enough to measure a slow takeover, not only to see a fast one.
      const took = await waiter.waitFor(isHolding, 60_000);
      kills.push({ killedAt, tookOverMs: took === undefined ? Infinity : Date.now() - killedAt });
      // The killed one comes back (the same machine restarting it) and waits on the lease.
      const restarted = run(plan.id, ['--owner', `runner-${round}-restarted`, '--until', last]);
      [a, b] = [waiter, restarted];
    }
    expect(kills.length).toBeGreaterThan(0);
    for (const k of kills) expect(k.tookOverMs).toBeLessThan(10_000);
    const exits = await Promise.race([a.exit, b.exit]);
    expect(exits, `${JSON.stringify([...a.lines, ...b.lines].filter((l) => l.kind !== undefined).slice(-12))}\n${a.stderr()}\n${b.stderr()}`).toBe(0);
    for (const r of [a, b]) if (r.child.exitCode === null) r.child.kill('SIGKILL');

    const state = (await loadMigration(store, plan.id)).state;
    for (const step of plan.steps) expect(state.steps[step.id]?.status, step.id).toBe('completed');
    const after = (await events(plan.id)).slice(fromVersion);
    const deployments = await flagDeployments();
    for (const step of plan.steps) {
      if (step.id === 'beta-dual-read') continue; // completed before the alarm
      const run = state.steps[step.id]?.runs ?? 0;
      expect(after.filter((e) => e.type === 'DeploymentStarted' && e.stepId === step.id), step.id).toHaveLength(1);
      expect(deployments.filter((d) => d.description.includes(`${deploymentMarker(plan.id, step.id, run)}:`)), step.id).toHaveLength(1);
    }
    for (const stage of ['beta', 'preprod', 'prod']) expect(await fleetRuns(stage, 'token_write_mode="v2"'), stage).toBe(true);
  }, 480_000);

  it('a full rollback brings every stage back to legacy writers, readers still dual; the load saw no failure and no mis-ranked session', async () => {
    const back = prio(['rollout', 'rollback', plan.id, '--to', 'start', '--reason', 'rehearsal: back to legacy', '--settings', rehearsal.settingsFile, ...storeArgs()]);
    expect(await back.exit, back.stderr()).toBe(0);
    for (const stage of ['beta', 'preprod', 'prod']) {
      expect(await fleetRuns(stage, 'token_write_mode="v1"'), stage).toBe(true);
      expect(await flagsLive(stage)).toContain('token_read_mode="dual"');
    }
    await new Promise((r) => setTimeout(r, 2000));
    load.kill('SIGINT');
    const loadCode = await loadExit;
    const summary = loadOut.length > 0 ? (JSON.parse(loadOut) as { statuses: unknown; failures: unknown; sessions: unknown }) : undefined;
    expect(loadCode, JSON.stringify({ statuses: summary?.statuses, failures: summary?.failures, sessions: summary?.sessions })).toBe(0);
    const report = JSON.parse(loadOut) as { sent: number; unexpected: number; sessions: { misRanked: number; tierChanged: number; compared: number } };
    expect(report.sent).toBeGreaterThan(1000);
    expect(report.unexpected).toBe(0);
    expect(report.sessions.misRanked).toBe(0);
    // Sessions opened before phase 1 kept their tier through phase 2 and the rollback (bidirectional tokens).
    expect(report.sessions.compared).toBeGreaterThan(100);
    expect(report.sessions.tierChanged).toBe(0);
    writeFileSync(join(dir, 'load.json'), loadOut);
    expect(readFileSync(join(dir, 'load.json'), 'utf8').length).toBeGreaterThan(0);
  }, 240_000);
});
