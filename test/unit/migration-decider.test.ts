import { describe, expect, it } from 'vitest';
import {
  decide,
  historyView,
  initialState,
  readersAcceptBoth,
  stateAt,
  statusView,
  type MigrationCommand,
  type MigrationState,
  type Plan,
} from '../../src/migration/index.js';
import { applyCommands, at, evidenceFor, fastPlan, shippedPlan } from '../support/migration/fixtures.js';


const run = applyCommands;

const cmd = {
  plan: (plan: Plan, minute = 0): MigrationCommand => ({ type: 'plan', plan, actor: 'alice', at: at(minute) }),
  advance: (minute: number): MigrationCommand => ({ type: 'advance', actor: 'alice', at: at(minute) }),
  evidence: (plan: Plan, stepId: string, minute: number, passed = true): MigrationCommand => {
    const step = plan.steps.find((s) => s.id === stepId);
    if (step === undefined) throw new Error(stepId);
    return { type: 'attachEvidence', actor: 'ci', at: at(minute), evidence: evidenceFor(step, passed) };
  },
};

/** Completes the first `n` steps of a zero-bake plan. */
function completeSteps(plan: Plan, n: number) {
  const commands: MigrationCommand[] = [cmd.plan(plan)];
  plan.steps.slice(0, n).forEach((s, i) => {
    commands.push(cmd.advance(i * 10 + 1), cmd.evidence(plan, s.id, i * 10 + 2), cmd.advance(i * 10 + 3));
  });
  return run(commands);
}

function rejection(c: MigrationCommand, state: MigrationState) {
  const d = decide(c, state);
  if (d.ok) throw new Error(`${c.type} was accepted`);
  return d.rejection;
}

describe('migration decider', () => {
  it('walks the shipped plan from plan to completion, stage by stage and phase by phase', () => {
    const plan = fastPlan();
    const { state, events } = completeSteps(plan, plan.steps.length);
    expect(plan.steps.every((s) => state.steps[s.id]?.status === 'completed')).toBe(true);
    const done = run([cmd.advance(500)], state);
    expect(done.state.status).toBe('completed');
    expect(events.filter((e) => e.type === 'StepStarted').map((e) => (e.type === 'StepStarted' ? e.stepId : ''))).toEqual(plan.steps.map((s) => s.id));
    expect(state.liveFlags.prod).toMatchObject({ tokenReadMode: 'dual', priorityScheme: 'dual', tokenWriteMode: 'v2', serviceTierMode: 'enforced' });
  });

  it('refuses phase 2 anywhere until phase 1 has completed in every stage, naming the invariant', () => {
    const plan = fastPlan();
    const { state } = completeSteps(plan, 2); // beta and preprod dual-read done, prod not
    const r = rejection({ type: 'startStep', stepId: 'beta-new-writers', actor: 'bob', at: at(100) }, state);
    expect(r.invariant).toBe('phase-order');
    expect(r.message).toContain('phase 2 may not start in any stage until phase 1 has completed in every stage');
    expect(r.message).toContain('all readers must understand new tokens before any writer emits one');
    expect(r.message).toContain('prod');
  });

  it('refuses a later stage before an earlier one', () => {
    const plan = fastPlan();
    const { state } = run([cmd.plan(plan)]);
    const r = rejection({ type: 'startStep', stepId: 'prod-dual-read', actor: 'bob', at: at(1) }, state);
    expect(r.invariant).toBe('stage-order');
    expect(r.message).toMatch(/stages go in order: phase 1 may not start in prod before it has completed in beta, preprod/);
  });

  it('refuses to complete a step before its bake time, and says how long is left', () => {
    const plan = shippedPlan(); // beta bakes 60 minutes
    const { state } = run([cmd.plan(plan), cmd.advance(0), cmd.evidence(plan, 'beta-dual-read', 5)]);
    const r = rejection(cmd.advance(20), state);
    expect(r.invariant).toBe('bake-time');
    expect(r.message).toBe('a step may not complete before its bake time has passed: beta-dual-read has baked 20m of 1h (40m to go)');
    expect(decide(cmd.advance(60), state).ok).toBe(true);
  });

  it('refuses to complete a step without a passing gate, and accepts once one is attached', () => {
    const plan = fastPlan();
    const started = run([cmd.plan(plan), cmd.advance(1)]);
    expect(rejection(cmd.advance(2), started.state).message).toContain('no evidence has been attached to beta-dual-read');
    const failed = run([cmd.evidence(plan, 'beta-dual-read', 3, false)], started.state);
    const r = rejection(cmd.advance(4), failed.state);
    expect(r.invariant).toBe('passing-gate');
    expect(r.message).toContain('maxChangedRate: measured 0.2, limit 0.01');
    const passed = run([cmd.evidence(plan, 'beta-dual-read', 5), cmd.advance(6)], failed.state);
    expect(passed.state.steps['beta-dual-read']?.status).toBe('completed');
  });

  it('counts an alarm not OK as a failed gate', () => {
    const plan = fastPlan();
    const step = plan.steps[0];
    if (step === undefined) throw new Error('no step');
    const { state } = run([cmd.plan(plan), cmd.advance(1)]);
    const evidence = { ...evidenceFor(step), alarms: { 'beta-dispatch-errors': 'ALARM' as const } };
    const d = decide({ type: 'attachEvidence', actor: 'ci', at: at(2), evidence }, state);
    expect(d.ok && d.events[0]?.type === 'EvidenceAttached' && d.events[0].failures).toEqual([
      'alarm beta-dispatch-errors is ALARM',
      'alarm beta-token-rejects was not reported',
    ]);
  });

  it('refuses a shadow report that does not add up', () => {
    const plan = fastPlan();
    const step = plan.steps[0];
    if (step === undefined) throw new Error('no step');
    const { state } = run([cmd.plan(plan), cmd.advance(1)]);
    const evidence = { ...evidenceFor(step), totals: { read: 10, quarantined: 1, compared: 8 } };
    const r = rejection({ type: 'attachEvidence', actor: 'ci', at: at(2), evidence }, state);
    expect(r.invariant).toBe('evidence-adds-up');
    expect(r.message).toContain('read (10) must equal compared (8) + quarantined (1)');
  });

  it('rolls back to an earlier step from anywhere, keeping readers dual in every stage it touches', () => {
    const plan = fastPlan();
    const { state } = completeSteps(plan, 4); // phase 1 everywhere + beta writers
    const paused = run([{ type: 'pause', actor: 'bob', at: at(200), reason: 'pager' }], state);
    const r = run([{ type: 'rollback', toStep: 'beta-dual-read', reason: 'token rejects in beta', actor: 'bob', at: at(202) }], paused.state);
    const event = r.events[0];
    expect(event?.type === 'RolledBack' && event.undoneSteps).toEqual(['beta-new-writers', 'prod-dual-read', 'preprod-dual-read']);
    for (const stage of ['beta', 'preprod', 'prod']) expect(readersAcceptBoth(r.state.liveFlags[stage] ?? plan.initialFlags)).toBe(true);
    expect(r.state.liveFlags.beta?.tokenWriteMode).toBe('v1');
    expect(r.state.steps['preprod-dual-read']?.status).toBe('pending');
    // Still paused: the rollback does not resume the rollout.
    expect(rejection(cmd.advance(203), r.state).invariant).toBe('paused-holds');
  });

  it('allows rollback mid-step, and requires a reason and a completed target', () => {
    const plan = fastPlan();
    const { state } = run([cmd.plan(plan)]);
    expect(rejection({ type: 'rollback', toStep: 'beta-dual-read', reason: 'x', actor: 'b', at: at(1) }, state).invariant).toBe('rollback-target');
    const two = completeSteps(plan, 1);
    const midStep = run([cmd.advance(50)], two.state);
    expect(rejection({ type: 'rollback', toStep: 'beta-dual-read', reason: ' ', actor: 'b', at: at(51) }, midStep.state).invariant).toBe('rollback-reason');
    const rolled = run([{ type: 'rollback', toStep: 'beta-dual-read', reason: 'preprod errors', actor: 'b', at: at(52) }], midStep.state);
    expect(rolled.state.current).toBeUndefined();
    expect(rolled.state.steps['preprod-dual-read']).toMatchObject({ status: 'pending', runs: 1 });
  });

  it('rolls back to the start, undoing a live first step, with readers kept dual', () => {
    const plan = shippedPlan();
    const live = run([cmd.plan(plan), cmd.advance(0)]);
    const r = run([{ type: 'rollback', toStep: 'start', reason: 'bad build', actor: 'b', at: at(5) }], live.state);
    expect(r.state.current).toBeUndefined();
    expect(r.state.steps['beta-dual-read']?.status).toBe('pending');
    expect(r.state.liveFlags.beta).toEqual({ ...plan.initialFlags, tokenReadMode: 'dual', priorityScheme: 'dual' });
    expect(r.state.liveFlags.prod).toEqual(plan.initialFlags);
    expect(rejection({ type: 'rollback', toStep: 'start', reason: 'again', actor: 'b', at: at(6) }, r.state).message).toBe('nothing to roll back: no step after the start has started');
  });

  it('withdraws a live step whose flags never went out: the stage runs what it ran before, nothing else moves', () => {
    const plan = fastPlan();
    const done = completeSteps(plan, 1);
    const live = run([cmd.advance(20), cmd.evidence(plan, 'preprod-dual-read', 21, false)], done.state);
    const r = run([{ type: 'withdrawStep', reason: 'gate failed', pause: true, actor: 'runner', at: at(22) }], live.state);
    expect(r.events.map((e) => e.type)).toEqual(['StepWithdrawn', 'MigrationPaused']);
    expect(r.events[0]).toMatchObject({ stepId: 'preprod-dual-read', stage: 'preprod', reason: 'gate failed', liveFlags: plan.initialFlags });
    // Unlike a rollback, readers are not widened: no deployment of this step ever wrote a token.
    expect(r.state.liveFlags).toEqual(done.state.liveFlags);
    expect(r.state.current).toBeUndefined();
    expect(r.state.status).toBe('paused');
    expect(r.state.steps['preprod-dual-read']).toMatchObject({ status: 'pending', evidence: [], runs: 1 });
    expect(r.state.steps['beta-dual-read']?.status).toBe('completed');
    // Resumed, the step runs again as run 2.
    const again = run([{ type: 'resume', actor: 'b', at: at(30) }, cmd.advance(31)], r.state);
    expect(again.state.steps['preprod-dual-read']).toMatchObject({ status: 'in-progress', runs: 2, flagsBefore: plan.initialFlags });
  });

  it('refuses to withdraw a step once its deployment started, or without a live step or a reason', () => {
    const plan = shippedPlan();
    const live = run([cmd.plan(plan), cmd.advance(1), cmd.evidence(plan, 'beta-dual-read', 2)]);
    const deployment = { environment: 'beta', number: 3, configVersion: '2' };
    const deploying = run([{ type: 'recordDeployment', stepId: 'beta-dual-read', state: 'started', deployment, actor: 'r', at: at(3) }], live.state);
    expect(rejection({ type: 'withdrawStep', reason: 'gate', actor: 'r', at: at(4) }, deploying.state).invariant).toBe('withdraw-undeployed');
    expect(rejection({ type: 'withdrawStep', reason: ' ', actor: 'r', at: at(4) }, live.state).invariant).toBe('withdraw-reason');
    expect(rejection({ type: 'withdrawStep', stepId: 'prod-dual-read', reason: 'x', actor: 'r', at: at(4) }, live.state).invariant).toBe('withdraw-live-step');
    const none = run([cmd.plan(plan)]);
    expect(rejection({ type: 'withdrawStep', reason: 'x', actor: 'r', at: at(4) }, none.state).invariant).toBe('withdraw-live-step');
    expect(historyView(run([{ type: 'withdrawStep', reason: 'gate', actor: 'r', at: at(4) }], live.state).events).at(-1)?.summary).toContain('withdrew beta-dual-read before deploying it');
  });

  it('does nothing to an aborted or completed migration', () => {
    const plan = fastPlan();
    const aborted = run([cmd.plan(plan), { type: 'abort', actor: 'bob', at: at(1), reason: 'wrong plan' }]);
    for (const c of [cmd.advance(2), { type: 'resume', actor: 'b', at: at(2) } as MigrationCommand, { type: 'rollback', toStep: 'beta-dual-read', reason: 'r', actor: 'b', at: at(2) } as MigrationCommand]) {
      const r = rejection(c, aborted.state);
      expect(r.invariant).toBe('finished-is-final');
      expect(r.message).toContain('nothing happens to an aborted migration');
    }
  });

  it('holds a paused migration until resumed', () => {
    const plan = fastPlan();
    const paused = run([cmd.plan(plan), { type: 'pause', actor: 'bob', at: at(1), reason: 'holiday freeze' }]);
    expect(rejection(cmd.advance(2), paused.state).message).toContain('holiday freeze');
    const resumed = run([{ type: 'resume', actor: 'bob', at: at(3) }, cmd.advance(4)], paused.state);
    expect(resumed.state.current).toBe('beta-dual-read');
  });

  it('plans once and requires a plan first', () => {
    const plan = fastPlan();
    expect(rejection(cmd.advance(0), initialState).invariant).toBe('planned-first');
    const { state } = run([cmd.plan(plan)]);
    expect(rejection(cmd.plan(plan), state).invariant).toBe('plan-once');
  });
});

describe('migration projections', () => {
  it('shows what is live, what is next and what blocks it', () => {
    const plan = shippedPlan();
    const { state } = run([cmd.plan(plan), cmd.advance(0)]);
    const view = statusView(state, at(15));
    expect(view?.live).toMatchObject({ step: 'beta-dual-read', stage: 'beta', bakeRemainingMinutes: 45, gate: 'missing' });
    expect(view?.next).toEqual({ action: 'complete-step', step: 'beta-dual-read' });
    expect(view?.blockedBy?.invariant).toBe('bake-time');
    expect(view?.stages.map((s) => s.phases.map((p) => p.status))).toEqual([
      ['in-progress', 'pending'],
      ['pending', 'pending'],
      ['pending', 'pending'],
    ]);
  });

  it('reconstructs the state at a past instant and a timeline with actors and reasons', () => {
    const plan = fastPlan();
    const { events, state } = completeSteps(plan, 2);
    const rolled = run([{ type: 'rollback', toStep: 'beta-dual-read', reason: 'latency', actor: 'carol', at: at(100) }], state);
    const all = [...events, ...rolled.events];
    expect(stateAt(all, at(99))).toEqual(state);
    expect(stateAt(all, at(12)).steps['beta-dual-read']?.status).toBe('completed');
    expect(stateAt(all, at(12)).current).toBe('preprod-dual-read');
    const history = historyView(all);
    expect(history.at(-1)).toMatchObject({ actor: 'carol', reason: 'latency', type: 'RolledBack', summary: 'rolled back to beta-dual-read, undoing preprod-dual-read' });
    expect(history.find((h) => h.type === 'EvidenceAttached')?.evidence).toMatchObject({ passed: true, compared: 998, changed: 8 });
  });
});
