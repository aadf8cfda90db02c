import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decide, evolve, initialState, withDualReaders, type MigrationCommand, type MigrationState, type Plan } from '../../src/migration/index.js';
import {
  buildRolloutReport,
  countersOf,
  judgeAlarm,
  nextAction,
  p99Of,
  parsePrometheusText,
  planView,
  stagesToReconcile,
  tailLines,
  windowOf,
  type Observations,
} from '../../src/rollout/index.js';
import { evidenceFor, shippedPlan } from '../support/migration/fixtures.js';

const plan: Plan = shippedPlan();
const T0 = Date.parse('2027-01-01T00:00:00Z');
const at = (min: number) => new Date(T0 + min * 60_000).toISOString();

function run(commands: MigrationCommand[], from: MigrationState = initialState): MigrationState {
  return commands.reduce((s, c) => {
    const d = decide(c, s);
    if (!d.ok) throw new Error(`${c.type}: ${d.rejection.message}`);
    return d.events.reduce(evolve, s);
  }, from);
}

const step0 = plan.steps[0]!;
const planned = run([{ type: 'plan', plan, actor: 't', at: at(0) }]);
const started = run([{ type: 'startStep', stepId: step0.id, actor: 't', at: at(1) }], planned);
const dep = { environment: 'beta', number: 7, configVersion: '3' };
const stages = (over: Partial<Record<string, Observations['stages'][string]>> = {}): Observations['stages'] =>
  Object.fromEntries(plan.stages.map((s) => [s.name, over[s.name] ?? { deployedFlags: plan.initialFlags, running: undefined }]));

describe('decider: a step\'s deployment', () => {
  it('deploys only after a passing gate, once per run, and completes only once deployed; the bake counts from the deployment\'s end', () => {
    const record = (state: 'started' | 'complete', min: number): MigrationCommand => ({ type: 'recordDeployment', stepId: step0.id, state, deployment: dep, actor: 't', at: at(min) });
    const noGate = decide(record('started', 2), started);
    expect(!noGate.ok && noGate.rejection.invariant).toBe('gate-before-deploy');
    const failing = run([{ type: 'attachEvidence', evidence: evidenceFor(step0, false), actor: 't', at: at(2) }], started);
    const stillNo = decide(record('started', 3), failing);
    expect(!stillNo.ok && stillNo.rejection.invariant).toBe('gate-before-deploy');

    const deploying = run([{ type: 'attachEvidence', evidence: evidenceFor(step0), actor: 't', at: at(2) }, record('started', 3)], started);
    const second = decide({ ...record('started', 4), deployment: { ...dep, number: 8 } } as MigrationCommand, deploying);
    expect(!second.ok && second.rejection.invariant).toBe('one-deployment-per-step');
    const early = decide({ type: 'completeStep', actor: 't', at: at(500) }, deploying);
    expect(!early.ok && early.rejection.invariant).toBe('deployed-before-complete');

    const deployed = run([record('complete', 100)], deploying);
    const baking = decide({ type: 'completeStep', actor: 't', at: at(100 + step0.bakeMinutes - 1) }, deployed);
    expect(!baking.ok && baking.rejection.invariant).toBe('bake-time');
    expect(decide({ type: 'completeStep', actor: 't', at: at(100 + step0.bakeMinutes) }, deployed).ok).toBe(true);
  });

  it('a rollback with pause undoes the step and pauses the migration in one decision', () => {
    const d = decide({ type: 'rollback', toStep: 'start', reason: 'alarm', pause: true, actor: 't', at: at(2) }, started);
    expect(d.ok && d.events.map((e) => e.type)).toEqual(['RolledBack', 'MigrationPaused']);
  });
});

describe('planner', () => {
  it('walks a step: evidence, deploy, watch, record, bake, complete', () => {
    expect(nextAction(planned, { now: at(1), stages: stages() }).kind).toBe('start-step');
    expect(nextAction(started, { now: at(1), stages: stages() }).kind).toBe('gather-evidence');
    const passed = run([{ type: 'attachEvidence', evidence: evidenceFor(step0), actor: 't', at: at(2) }], started);
    const deploy = nextAction(passed, { now: at(2), stages: stages() });
    expect(deploy).toMatchObject({ kind: 'deploy', run: 1, flags: passed.liveFlags.beta });
    const deploying = run([{ type: 'recordDeployment', stepId: step0.id, state: 'started', deployment: dep, actor: 't', at: at(3) }], passed);
    const running = stages({ beta: { deployedFlags: plan.initialFlags, running: { number: 7, state: 'DEPLOYING' } } });
    expect(nextAction(deploying, { now: at(4), stages: running, stepDeployment: { number: 7, state: 'DEPLOYING' } }).kind).toBe('watch');
    expect(nextAction(deploying, { now: at(4), stages: stages(), stepDeployment: { number: 7, state: 'COMPLETE' } }).kind).toBe('record-deployed');
    const stop = nextAction(deploying, { now: at(4), stages: running, stepDeployment: { number: 7, state: 'DEPLOYING' }, alarm: { name: 'beta-token-rejects', detail: '3 rejected' } });
    expect(stop).toMatchObject({ kind: 'rollback', toStep: 'start', stop: { number: 7 } });
    expect(nextAction(deploying, { now: at(4), stages: stages(), stepDeployment: { number: 7, state: 'ROLLED_BACK' } }).kind).toBe('rollback');
    const deployed = run([{ type: 'recordDeployment', stepId: step0.id, state: 'complete', deployment: dep, actor: 't', at: at(5) }], deploying);
    const live = stages({ beta: { deployedFlags: deployed.liveFlags.beta, running: undefined } });
    expect(nextAction(deployed, { now: at(6), stages: live })).toMatchObject({ kind: 'bake', until: at(5 + step0.bakeMinutes) });
    expect(nextAction(deployed, { now: at(5 + step0.bakeMinutes), stages: live }).kind).toBe('complete-step');
  });

  it('a failed gate withdraws the step and then stops: no deployment, not even a reconcile', () => {
    const failing = run([{ type: 'attachEvidence', evidence: evidenceFor(step0, false), actor: 't', at: at(2) }], started);
    const action = nextAction(failing, { now: at(2), stages: stages() });
    expect(action).toMatchObject({ kind: 'withdraw', step: { id: step0.id } });
    const reason = action.kind === 'withdraw' ? action.reason : '';
    expect(reason).toContain('gate failed');
    const stopped = run([{ type: 'withdrawStep', stepId: step0.id, reason, pause: true, actor: 't', at: at(3) }], failing);
    // The environments still run the initial flags, which is what the migration now says they run.
    expect(stagesToReconcile(plan, stopped, { now: at(3), stages: stages() }, undefined)).toEqual([]);
    expect(nextAction(stopped, { now: at(3), stages: stages() })).toMatchObject({ kind: 'paused', reason });
  });

  it('the rollout report lists a withdrawal with the rollbacks and marks it in the timeline', () => {
    const commands: MigrationCommand[] = [
      { type: 'plan', plan, actor: 't', at: at(0) },
      { type: 'startStep', stepId: step0.id, actor: 't', at: at(1) },
      { type: 'attachEvidence', evidence: evidenceFor(step0, false), actor: 't', at: at(2) },
      { type: 'withdrawStep', reason: 'gate failed for beta-dual-read', pause: true, actor: 't', at: at(3) },
    ];
    let state = initialState;
    const events = commands.flatMap((c) => {
      const d = decide(c, state);
      if (!d.ok) throw new Error(d.rejection.message);
      state = d.events.reduce(evolve, state);
      return d.events;
    });
    const report = buildRolloutReport(events.map((event) => ({ event, recordedAt: event.at })), undefined, at(4));
    expect(report.rollbacks).toEqual([{ at: at(3), toStep: `${step0.id} withdrawn (nothing deployed)`, undone: [step0.id], reason: 'gate failed for beta-dual-read' }]);
    const withdrawn = report.timeline.find((t) => t.text.startsWith('withdrew'));
    expect(withdrawn).toMatchObject({ kind: 'rollback', bad: true });
    expect(report.steps[0]).toMatchObject({ status: 'pending', deployments: [] });
  });

  it('a failed gate on a later step withdraws it to what its stage ran, readers untouched elsewhere', () => {
    // beta-dual-read done (deployed and baked); its stage runs its flags.
    const record = (state: 'started' | 'complete', min: number): MigrationCommand => ({ type: 'recordDeployment', stepId: step0.id, state, deployment: dep, actor: 't', at: at(min) });
    const betaDone = run(
      [{ type: 'attachEvidence', evidence: evidenceFor(step0), actor: 't', at: at(2) }, record('started', 3), record('complete', 4), { type: 'completeStep', stepId: step0.id, actor: 't', at: at(4 + step0.bakeMinutes) }],
      started,
    );
    const step1 = plan.steps[1]!;
    const live = run([{ type: 'startStep', stepId: step1.id, actor: 't', at: at(5 + step0.bakeMinutes) }, { type: 'attachEvidence', evidence: evidenceFor(step1, false), actor: 't', at: at(6 + step0.bakeMinutes) }], betaDone);
    const deployed = stages({ beta: { deployedFlags: betaDone.liveFlags.beta, running: undefined } });
    expect(nextAction(live, { now: at(7 + step0.bakeMinutes), stages: deployed }).kind).toBe('withdraw');
    const stopped = run([{ type: 'withdrawStep', reason: 'gate', pause: true, actor: 't', at: at(7 + step0.bakeMinutes) }], live);
    expect(stopped.liveFlags).toEqual(betaDone.liveFlags);
    expect(nextAction(stopped, { now: at(8 + step0.bakeMinutes), stages: deployed }).kind).toBe('paused');
  });

  it('brings stages back to the flags the stream says, writers leaving v2 first, one deployment at a time', () => {
    const v2 = { ...withDualReaders(plan.initialFlags), tokenWriteMode: 'v2' as const };
    const state = { ...planned, liveFlags: { beta: withDualReaders(plan.initialFlags), preprod: withDualReaders(plan.initialFlags), prod: withDualReaders(plan.initialFlags) } };
    const obs = { now: at(1), stages: stages({ beta: { deployedFlags: plan.initialFlags, running: undefined }, prod: { deployedFlags: v2, running: undefined } }) };
    expect(stagesToReconcile(plan, state, obs, undefined).map((s) => s.stage)).toEqual(['prod', 'beta', 'preprod']);
    const busy = { ...obs, stages: { ...obs.stages, preprod: { deployedFlags: plan.initialFlags, running: { number: 1, state: 'DEPLOYING' } } } };
    expect(nextAction(state, busy).kind).toBe('wait');
  });

  it('dry-run view sums bake time and scales it', () => {
    const view = planView(plan, { application: 'a', profiles: { flags: 'flags', rules: 'rules' }, alarmSource: 'metrics', pollSeconds: 1, unreachableAfter: 3, timeScale: 60, evidenceRecords: 1, outDir: 'o', stages: {} });
    expect(view.totalBakeMinutes).toBe(3480);
    expect(view.totalBakeRealMinutes).toBe(58);
    expect(view.steps[3]?.flags.tokenWriteMode).toBe('v2');
  });
});

describe('alarms from /metrics', () => {
  const scrape = (ok: number, errors: number, rejects: number, fast: number, slow: number) =>
    parsePrometheusText(
      [
        '# HELP prio_http_responses_total x',
        `prio_http_responses_total{status="200"} ${ok}`,
        `prio_http_responses_total{status="503"} ${errors}`,
        `prio_session_token_rejections_total{reason="BAD_SIGNATURE"} ${rejects}`,
        `prio_queue_wait_seconds_bucket{le="0.1",tier="P100"} ${fast}`,
        `prio_queue_wait_seconds_bucket{le="5",tier="P100"} ${fast + slow}`,
        `prio_queue_wait_seconds_bucket{le="+Inf",tier="P100"} ${fast + slow}`,
      ].join('\n'),
    );
  it('judges the window between two scrapes', () => {
    const w = windowOf(countersOf(scrape(100, 0, 0, 100, 0)), countersOf(scrape(1090, 10, 2, 150, 50)));
    expect(w.responses).toBe(1000);
    expect(judgeAlarm('e', { metric: 'error-rate', max: 0.005 }, w).state).toBe('ALARM');
    expect(judgeAlarm('e', { metric: 'error-rate', max: 0.02 }, w).state).toBe('OK');
    expect(judgeAlarm('t', { metric: 'token-rejections', max: 0 }, w).state).toBe('ALARM');
    expect(p99Of(w.waitBuckets.P100 ?? [])).toBe(5);
    expect(judgeAlarm('l', { metric: 'p99-wait', tier: 'P100', max: 2.5 }, w).state).toBe('ALARM');
  });
});

describe('tailLines', () => {
  it('keeps the newest whole lines and leaves out a line still being written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tail-'));
    const file = join(dir, 'log.ndjson');
    writeFileSync(file, 'a\nb\nc\n{"half');
    expect(tailLines(file, 2)).toEqual(['b', 'c']);
    expect(tailLines(file, 10)).toEqual(['a', 'b', 'c']);
  });
});
