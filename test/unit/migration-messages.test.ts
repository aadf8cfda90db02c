// Every refusal of the migration decider with its exact invariant and message, the boundaries of
// the bake time and of formatDuration, and the one-line summaries of the history view. Pinned
// because an operator acts on these words (mutation testing found most of them unread).
import { describe, expect, it } from 'vitest';
import {
  applyFlags,
  decide,
  evolve,
  eventsUpTo,
  fold,
  formatDuration,
  historyView,
  initialState,
  statusView,
  withDualReaders,
  type Evidence,
  type MigrationCommand,
  type MigrationState,
  type Plan,
} from '../../src/migration/index.js';
import { applyCommands, at, evidenceFor, fastPlan } from '../support/migration/fixtures.js';

const ALL_STEPS = 'beta-dual-read, preprod-dual-read, prod-dual-read, beta-new-writers, preprod-new-writers, prod-new-writers';

const apply = applyCommands;

function refusal(c: MigrationCommand, state: MigrationState) {
  const d = decide(c, state);
  if (d.ok) throw new Error(`${c.type} was accepted`);
  return d.rejection;
}

const base = (minute: number) => ({ actor: 'alice', at: at(minute) });
const evidence = (plan: Plan, stepId: string, passed = true): Evidence => {
  const step = plan.steps.find((s) => s.id === stepId);
  if (step === undefined) throw new Error(stepId);
  return evidenceFor(step, passed);
};
const planned = (plan: Plan = fastPlan()) => apply([{ type: 'plan', plan, ...base(0) }]).state;
/** beta-dual-read live since minute 1. */
const betaLive = (plan: Plan = fastPlan()) => apply([{ type: 'startStep', stepId: 'beta-dual-read', ...base(1) }], planned(plan)).state;
const deployment = { environment: 'beta', number: 3, configVersion: '7' };

describe('migration decider refusals, word for word', () => {
  it('names an instant that is not one', () => {
    expect(refusal({ type: 'abort', actor: 'a', at: 'noon' }, planned())).toEqual({ invariant: 'valid-time', message: 'a command needs a valid instant; "noon" is not one' });
  });

  it('plans once, and nothing happens before a plan or after the end', () => {
    const plan = fastPlan();
    expect(refusal({ type: 'plan', plan, ...base(1) }, planned())).toEqual({
      invariant: 'plan-once',
      message: 'a migration is planned once: fast-test was planned already (status active)',
    });
    expect(refusal({ type: 'advance', ...base(1) }, initialState)).toEqual({
      invariant: 'planned-first',
      message: 'nothing can happen to a migration before it is planned: run plan with its definition first',
    });
    const aborted = apply([{ type: 'abort', ...base(5) }], planned()).state;
    expect(aborted.status).toBe('aborted');
    expect(refusal({ type: 'resume', ...base(6) }, aborted)).toEqual({
      invariant: 'finished-is-final',
      message: `nothing happens to an aborted migration: fast-test was aborted at ${at(5)}`,
    });
  });

  it('holds a paused migration, naming the reason when one was given', () => {
    const withReason = apply([{ type: 'pause', ...base(2), reason: 'incident 42' }], planned()).state;
    expect(refusal({ type: 'startStep', stepId: 'beta-dual-read', ...base(3) }, withReason)).toEqual({
      invariant: 'paused-holds',
      message: 'a paused migration takes no step until it is resumed (paused: incident 42)',
    });
    expect(refusal({ type: 'pause', ...base(3) }, withReason)).toEqual({ invariant: 'pause-once', message: 'the migration is already paused (incident 42)' });
    const silent = apply([{ type: 'pause', ...base(2) }], planned()).state;
    expect(refusal({ type: 'advance', ...base(3) }, silent).message).toBe('a paused migration takes no step until it is resumed (paused)');
    expect(refusal({ type: 'complete', ...base(3) }, silent).invariant).toBe('paused-holds');
    expect(refusal({ type: 'pause', ...base(3) }, silent).message).toBe('the migration is already paused');
    expect(refusal({ type: 'resume', ...base(3) }, planned())).toEqual({
      invariant: 'resume-paused',
      message: 'only a paused migration can be resumed, and this one is running',
    });
    const resumed = apply([{ type: 'resume', ...base(4) }], withReason).state;
    expect(resumed.status).toBe('active');
    expect(resumed.pausedReason).toBeUndefined();
    expect(resumed.since).toBe(at(4));
  });

  it('names an unknown step with the plan and its steps', () => {
    expect(refusal({ type: 'startStep', stepId: 'gamma', ...base(1) }, planned())).toEqual({
      invariant: 'known-step',
      message: `"gamma" is not a step of fast-test (steps: ${ALL_STEPS})`,
    });
  });

  it('keeps phase, stage and one-step-at-a-time order, in those words', () => {
    expect(refusal({ type: 'startStep', stepId: 'preprod-dual-read', ...base(1) }, planned())).toEqual({
      invariant: 'stage-order',
      message: 'stages go in order: phase 1 may not start in preprod before it has completed in beta (still open: beta-dual-read)',
    });
    expect(refusal({ type: 'startStep', stepId: 'beta-new-writers', ...base(1) }, planned())).toEqual({
      invariant: 'phase-order',
      message:
        'phase 2 may not start in any stage until phase 1 has completed in every stage (all readers must understand new tokens before any writer emits one): phase 1 is not complete in beta, preprod, prod, so beta-new-writers cannot start in beta',
    });
    expect(refusal({ type: 'startStep', stepId: 'beta-dual-read', ...base(2) }, betaLive())).toEqual({
      invariant: 'one-step-at-a-time',
      message: 'one step is live at a time: beta-dual-read is still live; complete it or roll back first',
    });
    const plan = fastPlan();
    const done = apply([{ type: 'attachEvidence', evidence: evidence(plan, 'beta-dual-read'), ...base(2) }, { type: 'completeStep', ...base(3) }], betaLive(plan)).state;
    expect(refusal({ type: 'startStep', stepId: 'beta-dual-read', ...base(4) }, done)).toEqual({
      invariant: 'step-runs-once',
      message: 'beta-dual-read has already completed; roll back to an earlier step to run it again',
    });
  });

  it('takes evidence only for the live step, and only a report that adds up', () => {
    const plan = fastPlan();
    expect(refusal({ type: 'attachEvidence', evidence: evidence(plan, 'beta-dual-read'), ...base(1) }, planned())).toEqual({
      invariant: 'evidence-for-live-step',
      message: 'evidence belongs to the step that is live, and no step is live now',
    });
    expect(refusal({ type: 'attachEvidence', stepId: 'preprod-dual-read', evidence: evidence(plan, 'preprod-dual-read'), ...base(1) }, planned()).message).toBe(
      'evidence belongs to the step that is live: preprod-dual-read is not live',
    );
    expect(refusal({ type: 'attachEvidence', stepId: 'preprod-dual-read', evidence: evidence(plan, 'preprod-dual-read'), ...base(2) }, betaLive())).toEqual({
      invariant: 'evidence-for-live-step',
      message: 'evidence belongs to the step that is live: preprod-dual-read is not live (beta-dual-read is)',
    });
    expect(refusal({ type: 'attachEvidence', stepId: 'gamma', evidence: evidence(plan, 'beta-dual-read'), ...base(2) }, betaLive()).invariant).toBe('known-step');
    const good = evidence(plan, 'beta-dual-read');
    const bad = (e: Evidence) => refusal({ type: 'attachEvidence', evidence: e, ...base(2) }, betaLive());
    expect(bad({ ...good, totals: { ...good.totals, compared: 997 } })).toEqual({
      invariant: 'evidence-adds-up',
      message: 'a shadow report must add up: read (1000) must equal compared (997) + quarantined (2)',
    });
    expect(bad({ ...good, outcomes: { ...good.outcomes, same: 989 } }).message).toBe('a shadow report must add up: compared (998) must equal the sum of outcomes (997)');
    expect(bad({ ...good, outcomes: { ...good.outcomes, bothError: -1, same: 991 } }).message).toBe('a shadow report must add up: bothError must be a whole number of records, got -1');
    expect(bad({ ...good, totals: { ...good.totals, quarantined: 1.5 } }).message).toBe('a shadow report must add up: quarantined must be a whole number of records, got 1.5');
    // Each outcome counts in the sum.
    for (const k of ['changed', 'baselineError', 'candidateError', 'bothError'] as const) {
      expect(bad({ ...good, outcomes: { ...good.outcomes, [k]: good.outcomes[k] + 1 } }).message).toBe('a shadow report must add up: compared (998) must equal the sum of outcomes (999)');
    }
  });

  it('lists why evidence fails the gate: the verdict, a silent verdict, a missing and a firing alarm', () => {
    const plan = fastPlan();
    const attach = (e: Evidence) => {
      const d = decide({ type: 'attachEvidence', evidence: e, ...base(2) }, betaLive(plan));
      if (!d.ok) throw new Error(d.rejection.message);
      return d.events[0];
    };
    const good = evidence(plan, 'beta-dual-read');
    expect(attach(good)).toMatchObject({ type: 'EvidenceAttached', stepId: 'beta-dual-read', passed: true, failures: [] });
    expect(attach(evidence(plan, 'beta-dual-read', false))).toMatchObject({ passed: false, failures: ['maxChangedRate: measured 0.2, limit 0.01'] });
    expect(attach({ ...good, verdict: { passed: false, failures: [] } })).toMatchObject({ passed: false, failures: ['the gate verdict did not pass'] });
    expect(attach({ ...good, alarms: { 'beta-dispatch-errors': 'ALARM' } })).toMatchObject({
      passed: false,
      failures: ['alarm beta-dispatch-errors is ALARM', 'alarm beta-token-rejects was not reported'],
    });
  });

  it('completes only the live step, after its bake, with a passing gate', () => {
    const plan = fastPlan('baked', 60);
    expect(refusal({ type: 'completeStep', ...base(1) }, planned(plan))).toEqual({
      invariant: 'complete-live-step',
      message: 'only the live step can complete, and no step is live now',
    });
    expect(refusal({ type: 'completeStep', stepId: 'preprod-dual-read', ...base(2) }, betaLive(plan))).toEqual({
      invariant: 'complete-live-step',
      message: 'only the live step can complete: preprod-dual-read is not live (beta-dual-read is)',
    });
    expect(refusal({ type: 'completeStep', stepId: 'beta-dual-read', ...base(2) }, planned(plan)).message).toBe('only the live step can complete: beta-dual-read is not live');
    expect(refusal({ type: 'completeStep', stepId: 'gamma', ...base(2) }, betaLive(plan)).invariant).toBe('known-step');
    const live = betaLive(plan);
    expect(refusal({ type: 'completeStep', ...base(31) }, live)).toEqual({
      invariant: 'bake-time',
      message: 'a step may not complete before its bake time has passed: beta-dual-read has baked 30m of 1h (30m to go)',
    });
    // Half a minute short: elapsed rounds down, time to go rounds up.
    expect(refusal({ type: 'completeStep', ...base(60.5) }, live).message).toBe(
      'a step may not complete before its bake time has passed: beta-dual-read has baked 59m of 1h (30s to go)',
    );
    // A clock behind the start counts as no bake at all.
    expect(refusal({ type: 'completeStep', ...base(0) }, live).message).toBe(
      'a step may not complete before its bake time has passed: beta-dual-read has baked 0s of 1h (1h to go)',
    );
    // Exactly baked: the gate is what is missing now.
    expect(refusal({ type: 'completeStep', ...base(61) }, live)).toEqual({
      invariant: 'passing-gate',
      message: 'a step may not complete without a passing gate attached: no evidence has been attached to beta-dual-read since it started',
    });
    const failing = apply([{ type: 'attachEvidence', evidence: evidence(plan, 'beta-dual-read', false), ...base(61) }], live).state;
    expect(refusal({ type: 'completeStep', ...base(61) }, failing).message).toBe(
      'a step may not complete without a passing gate attached: the latest evidence for beta-dual-read failed (maxChangedRate: measured 0.2, limit 0.01)',
    );
    const passing = apply([{ type: 'attachEvidence', evidence: evidence(plan, 'beta-dual-read'), ...base(61) }], failing).state;
    const done = apply([{ type: 'completeStep', ...base(61) }], passing);
    expect(done.events).toEqual([{ type: 'StepCompleted', actor: 'alice', at: at(61), stepId: 'beta-dual-read' }]);
    expect(done.state.current).toBeUndefined();
    expect(done.state.steps['beta-dual-read']).toMatchObject({ status: 'completed', completedAt: at(61), runs: 1 });
  });

  it('records a deployment of the live step once, after a passing gate, and bakes from its end', () => {
    const plan = fastPlan('deployed', 60);
    const live = betaLive(plan);
    const deploy = (what: 'started' | 'complete', d = deployment, stepId = 'beta-dual-read'): MigrationCommand => ({
      type: 'recordDeployment',
      stepId,
      deployment: d,
      state: what,
      ...base(70),
    });
    expect(refusal(deploy('started'), live)).toEqual({
      invariant: 'gate-before-deploy',
      message: "a step's flags are deployed only after a passing gate is attached: beta-dual-read has no evidence since it started",
    });
    const failing = apply([{ type: 'attachEvidence', evidence: evidence(plan, 'beta-dual-read', false), ...base(2) }], live).state;
    expect(refusal(deploy('started'), failing).message).toBe("a step's flags are deployed only after a passing gate is attached: beta-dual-read has failing evidence since it started");
    expect(refusal(deploy('started', deployment, 'preprod-dual-read'), live)).toEqual({
      invariant: 'deployment-for-live-step',
      message: 'a deployment carries the flags of the step that is live: preprod-dual-read is not live (beta-dual-read is)',
    });
    expect(refusal(deploy('started'), planned(plan)).message).toBe('a deployment carries the flags of the step that is live: beta-dual-read is not live');
    expect(refusal(deploy('started', deployment, 'gamma'), live).invariant).toBe('known-step');
    const gated = apply([{ type: 'attachEvidence', evidence: evidence(plan, 'beta-dual-read'), ...base(2) }], live).state;
    expect(refusal(deploy('complete'), gated)).toEqual({
      invariant: 'deployment-recorded-first',
      message: 'a deployment completes only after it was recorded as started for the step: beta-dual-read has no deployment',
    });
    const started = apply([deploy('started', { ...deployment, extra: 'dropped' } as typeof deployment)], gated);
    expect(started.events).toEqual([{ type: 'DeploymentStarted', actor: 'alice', at: at(70), stepId: 'beta-dual-read', stage: 'beta', deployment }]);
    expect(started.state.steps['beta-dual-read']?.deployment).toEqual({ ...deployment, startedAt: at(70) });
    expect(refusal(deploy('started'), started.state)).toEqual({
      invariant: 'one-deployment-per-step',
      message: 'one deployment carries a run of a step: beta-dual-read already has beta deployment #3; roll back to deploy again',
    });
    expect(refusal(deploy('complete', { ...deployment, number: 4 }), started.state).message).toBe(
      'a deployment completes only after it was recorded as started for the step: beta-dual-read has deployment #3 in beta, not #4 in beta',
    );
    expect(refusal(deploy('complete', { ...deployment, environment: 'prod' }), started.state).invariant).toBe('deployment-recorded-first');
    expect(refusal({ type: 'completeStep', ...base(200) }, started.state)).toEqual({
      invariant: 'deployed-before-complete',
      message: 'a step completes only once the deployment carrying its flags has: beta deployment #3 of beta-dual-read has not completed',
    });
    const withdrawn = refusal({ type: 'withdrawStep', reason: 'gate flapped', ...base(71) }, started.state);
    expect(withdrawn).toEqual({
      invariant: 'withdraw-undeployed',
      message: 'a step is withdrawn only before its flags are deployed: beta deployment #3 of beta-dual-read was started; roll back instead',
    });
    const completed = apply([{ ...deploy('complete'), at: at(80) }], started.state);
    expect(completed.events).toEqual([{ type: 'DeploymentCompleted', actor: 'alice', at: at(80), stepId: 'beta-dual-read', deployment }]);
    expect(refusal(deploy('complete'), completed.state)).toEqual({
      invariant: 'deployment-completes-once',
      message: 'beta deployment #3 of beta-dual-read was recorded complete already',
    });
    // The bake counts from the deployment's end (minute 80), not the step's start (minute 1).
    expect(refusal({ type: 'completeStep', ...base(139) }, completed.state).message).toBe(
      'a step may not complete before its bake time has passed: beta-dual-read has baked 59m of 1h (1m to go)',
    );
    expect(decide({ type: 'completeStep', ...base(140) }, completed.state).ok).toBe(true);
    const view = statusView(completed.state, at(110));
    expect(view?.live).toEqual({ step: 'beta-dual-read', stage: 'beta', phase: 1, startedAt: at(1), bakeRemainingMinutes: 30, gate: 'passed' });
    expect(statusView(started.state, at(110))?.live?.bakeRemainingMinutes).toBe(60);
  });

  it('withdraws only the live, undeployed step, for a reason, back to the flags it started from', () => {
    const plan = fastPlan();
    expect(refusal({ type: 'withdrawStep', reason: ' ', ...base(2) }, betaLive(plan))).toEqual({
      invariant: 'withdraw-reason',
      message: 'a withdrawal records why it happened: give a reason',
    });
    expect(refusal({ type: 'withdrawStep', reason: 'r', ...base(2) }, planned(plan))).toEqual({
      invariant: 'withdraw-live-step',
      message: 'only the live step can be withdrawn, and no step is live now',
    });
    expect(refusal({ type: 'withdrawStep', stepId: 'prod-dual-read', reason: 'r', ...base(2) }, betaLive(plan)).message).toBe(
      'only the live step can be withdrawn: prod-dual-read is not live (beta-dual-read is)',
    );
    expect(refusal({ type: 'withdrawStep', stepId: 'prod-dual-read', reason: 'r', ...base(2) }, planned(plan)).message).toBe('only the live step can be withdrawn: prod-dual-read is not live');
    const out = apply([{ type: 'withdrawStep', reason: 'gate failed', pause: true, ...base(2) }], betaLive(plan));
    expect(out.events).toEqual([
      { type: 'StepWithdrawn', actor: 'alice', at: at(2), reason: 'gate failed', stepId: 'beta-dual-read', stage: 'beta', liveFlags: plan.initialFlags },
      { type: 'MigrationPaused', actor: 'alice', at: at(2), reason: 'gate failed' },
    ]);
    expect(out.state.status).toBe('paused');
    expect(out.state.current).toBeUndefined();
    expect(out.state.steps['beta-dual-read']).toEqual({ status: 'pending', evidence: [], runs: 1 });
    expect(out.state.liveFlags.beta).toEqual(plan.initialFlags);
  });

  it('rolls back for a reason to a completed step or the start, and says when there is nothing to undo', () => {
    const plan = fastPlan();
    expect(refusal({ type: 'rollback', toStep: 'start', reason: '', ...base(2) }, betaLive(plan))).toEqual({
      invariant: 'rollback-reason',
      message: 'a rollback records why it happened: give a reason',
    });
    expect(refusal({ type: 'rollback', toStep: 'start', reason: 'r', ...base(2) }, planned(plan))).toEqual({
      invariant: 'rollback-target',
      message: 'nothing to roll back: no step after the start has started',
    });
    expect(refusal({ type: 'rollback', toStep: 'preprod-dual-read', reason: 'r', ...base(2) }, betaLive(plan))).toEqual({
      invariant: 'rollback-target',
      message: 'a rollback returns to a step that has completed (or to "start", before the first step), and preprod-dual-read has not (it is pending)',
    });
    expect(refusal({ type: 'rollback', toStep: 'beta-dual-read', reason: 'r', ...base(2) }, betaLive(plan)).message).toContain('and beta-dual-read has not (it is in-progress)');
    const done = apply([{ type: 'attachEvidence', evidence: evidence(plan, 'beta-dual-read'), ...base(2) }, { type: 'completeStep', ...base(3) }], betaLive(plan)).state;
    expect(refusal({ type: 'rollback', toStep: 'beta-dual-read', reason: 'r', ...base(4) }, done).message).toBe('nothing to roll back: no step after beta-dual-read has started');
    const back = apply([{ type: 'rollback', toStep: 'start', reason: 'alarm', pause: true, ...base(4) }], done);
    expect(back.events.map((e) => e.type)).toEqual(['RolledBack', 'MigrationPaused']);
    expect(back.events[0]).toMatchObject({ toStep: 'start', undoneSteps: ['beta-dual-read'], reason: 'alarm' });
    expect(back.state.steps['beta-dual-read']).toEqual({ status: 'pending', evidence: [], runs: 1 });
    // Already paused: the rollback does not pause twice.
    const again = apply([{ type: 'startStep', stepId: 'beta-dual-read', ...base(5) }], apply([{ type: 'resume', ...base(5) }], back.state).state).state;
    const paused = apply([{ type: 'pause', ...base(6) }], again).state;
    const d = decide({ type: 'rollback', toStep: 'start', reason: 'r', pause: true, ...base(7) }, paused);
    expect(d.ok && d.events.map((e) => e.type)).toEqual(['RolledBack']);
    const w = decide({ type: 'withdrawStep', reason: 'r', pause: true, ...base(7) }, paused);
    // A withdrawal is not held by a pause, and does not pause twice either.
    expect(w.ok && w.events.map((e) => e.type)).toEqual(['StepWithdrawn']);
  });

  it('completes the migration only once every step has, listing what is open', () => {
    const plan = fastPlan();
    const done = apply([{ type: 'attachEvidence', evidence: evidence(plan, 'beta-dual-read'), ...base(2) }, { type: 'completeStep', ...base(3) }], betaLive(plan)).state;
    expect(refusal({ type: 'complete', ...base(4) }, done)).toEqual({
      invariant: 'all-steps-complete',
      message: 'a migration completes only once every step has: 5 not complete (preprod-dual-read, prod-dual-read, beta-new-writers, preprod-new-writers, prod-new-writers)',
    });
  });
});

describe('formatDuration boundaries', () => {
  it('rounds seconds and minutes the asked way and writes hours with their minutes', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(1_500)).toBe('2s');
    expect(formatDuration(1_500, 'down')).toBe('1s');
    expect(formatDuration(59_999)).toBe('60s');
    expect(formatDuration(59_999, 'down')).toBe('59s');
    expect(formatDuration(60_000)).toBe('1m');
    expect(formatDuration(90_000)).toBe('2m');
    expect(formatDuration(90_000, 'down')).toBe('1m');
    expect(formatDuration(59 * 60_000)).toBe('59m');
    expect(formatDuration(3_599_999, 'down')).toBe('59m');
    expect(formatDuration(3_599_999)).toBe('1h');
    expect(formatDuration(3_600_000)).toBe('1h');
    expect(formatDuration(150 * 60_000)).toBe('2h30m');
    expect(formatDuration(121 * 60_000)).toBe('2h1m');
  });
});

describe('history summaries and the prefix at an instant', () => {
  it('writes one line per event, with actor, reason and evidence', () => {
    const plan = fastPlan('h', 0);
    const { events } = apply([
      { type: 'plan', plan, ...base(0) },
      { type: 'startStep', stepId: 'beta-dual-read', ...base(1) },
      { type: 'attachEvidence', evidence: evidence(plan, 'beta-dual-read', false), ...base(2) },
      { type: 'attachEvidence', evidence: evidence(plan, 'beta-dual-read'), ...base(3) },
      { type: 'recordDeployment', stepId: 'beta-dual-read', deployment, state: 'started', ...base(4) },
      { type: 'recordDeployment', stepId: 'beta-dual-read', deployment, state: 'complete', ...base(5) },
      { type: 'completeStep', ...base(6) },
      { type: 'pause', reason: 'lunch', ...base(7) },
      { type: 'resume', ...base(8) },
      { type: 'rollback', toStep: 'start', reason: 'alarm', ...base(9) },
      { type: 'startStep', stepId: 'beta-dual-read', ...base(10) },
      { type: 'withdrawStep', reason: 'flaky', ...base(11) },
      { type: 'abort', ...base(12) },
    ]);
    const history = historyView(events);
    expect(history.map((h) => h.summary)).toEqual([
      'planned h: 6 steps over beta → preprod → prod',
      'started beta-dual-read in beta (read dual/dual, write v1, tiers observed, rules tiered-7.1)',
      'evidence for beta-dual-read: gate FAILED (998 compared, 8 changed)',
      'evidence for beta-dual-read: gate passed (998 compared, 8 changed)',
      'deployment #3 of beta-dual-read started in beta (configuration version 7)',
      'deployment #3 of beta-dual-read completed in beta',
      'completed beta-dual-read',
      'paused',
      'resumed',
      'rolled back to the start, undoing beta-dual-read',
      'started beta-dual-read in beta (read dual/dual, write v1, tiers observed, rules tiered-7.1)',
      // The rollback kept beta's readers dual, so that is what the withdrawal returns to.
      'withdrew beta-dual-read before deploying it; beta stays on read dual/dual, write v1, tiers ignored, rules legacy-4',
      'aborted',
    ]);
    expect(history.map((h) => h.version)).toEqual(events.map((_, i) => i + 1));
    expect(history[2]).toEqual({
      version: 3,
      at: at(2),
      actor: 'alice',
      type: 'EvidenceAttached',
      summary: 'evidence for beta-dual-read: gate FAILED (998 compared, 8 changed)',
      evidence: { source: 'reports/beta-dual-read/report.json', passed: false, failures: ['maxChangedRate: measured 0.2, limit 0.01'], compared: 998, changed: 8 },
    });
    expect(history[7]).toMatchObject({ reason: 'lunch' });
    expect('reason' in (history[8] ?? {})).toBe(false);
    expect(eventsUpTo(events, at(5))).toBe(6); // an event exactly at the instant is in
    expect(eventsUpTo(events, at(4.5))).toBe(5);
    expect(eventsUpTo(events, at(99))).toBe(events.length);
  });

  it('summarises a rollback to a step and a completed migration', () => {
    const plan = fastPlan('c', 0);
    const steps: MigrationCommand[] = [{ type: 'plan', plan, ...base(0) }];
    plan.steps.forEach((s, i) => steps.push({ type: 'advance', ...base(i * 3 + 1) }, { type: 'attachEvidence', evidence: evidence(plan, s.id), ...base(i * 3 + 2) }, { type: 'advance', ...base(i * 3 + 3) }));
    const all = apply(steps);
    const back = decide({ type: 'rollback', toStep: 'prod-dual-read', reason: 'r', ...base(50) }, all.state);
    if (!back.ok) throw new Error(back.rejection.message);
    expect(historyView(back.events)[0]?.summary).toBe('rolled back to prod-dual-read, undoing prod-new-writers, preprod-new-writers, beta-new-writers');
    const finished = apply([{ type: 'advance', ...base(60) }], all.state);
    expect(historyView(finished.events)[0]?.summary).toBe('completed the migration');
    const view = statusView(finished.state, at(61));
    expect(view?.next).toEqual({ action: 'none' });
    expect(view?.blockedBy).toBeUndefined();
    expect(view?.stages.map((s) => s.phases.map((p) => p.status))).toEqual([
      ['completed', 'completed'],
      ['completed', 'completed'],
      ['completed', 'completed'],
    ]);
    expect(statusView(all.state, at(61))?.next).toEqual({ action: 'complete-migration' });
  });
});

describe('the status view, field by field', () => {
  const plan = fastPlan('view', 60);
  const phases = (beta: string, preprod = 'pending', prod = 'pending') =>
    [beta, preprod, prod].map((s) => [
      { phase: 1, name: 'dual-read', status: s },
      { phase: 2, name: 'new-writers', status: 'pending' },
    ]);

  it('is undefined before a plan, and shows a fresh plan with nothing live and the first step next', () => {
    expect(statusView(initialState, at(0))).toBeUndefined();
    // No live step: no `live` key at all (a JSON reader tests for the key).
    expect('live' in (statusView(planned(plan), at(0.5)) ?? { live: 1 })).toBe(false);
    expect(statusView(planned(plan), at(0.5))).toEqual({
      id: 'view',
      title: plan.title,
      status: 'active',
      since: at(0),
      version: 1,
      next: { action: 'start-step', step: 'beta-dual-read' },
      stages: ['beta', 'preprod', 'prod'].map((stage, i) => ({ stage, phases: phases('pending')[i], liveFlags: plan.initialFlags })),
      steps: plan.steps.map((s) => ({ id: s.id, phase: s.phase, stage: s.stage, status: 'pending', runs: 0 })),
    });
  });

  it('shows the live step with its bake left and gate, a pause with its reason, and what blocks advance', () => {
    const live = betaLive(plan);
    const paused = apply([{ type: 'pause', reason: 'look first', ...base(20) }], live).state;
    const view = statusView(paused, at(31));
    expect(view).toMatchObject({
      status: 'paused',
      since: at(20),
      pausedReason: 'look first',
      version: 3,
      live: { step: 'beta-dual-read', stage: 'beta', phase: 1, startedAt: at(1), bakeRemainingMinutes: 30, gate: 'missing' },
      next: { action: 'complete-step', step: 'beta-dual-read' },
      blockedBy: { invariant: 'paused-holds', message: 'a paused migration takes no step until it is resumed (paused: look first)' },
    });
    expect(view?.stages.map((s) => s.phases[0]?.status)).toEqual(['in-progress', 'pending', 'pending']);
    expect(view?.stages[0]?.liveFlags).toEqual(live.liveFlags.beta);
    expect(view?.stages[0]?.liveFlags).not.toEqual(plan.initialFlags);
    expect(view?.steps[0]).toEqual({ id: 'beta-dual-read', phase: 1, stage: 'beta', status: 'in-progress', runs: 1 });
    const failing = apply([{ type: 'attachEvidence', evidence: evidence(plan, 'beta-dual-read', false), ...base(2) }], live).state;
    const failed = statusView(failing, at(100));
    expect(failed?.live).toMatchObject({ gate: 'failed', bakeRemainingMinutes: 0 });
    expect(failed?.pausedReason).toBeUndefined();
    expect(failed?.blockedBy?.invariant).toBe('passing-gate');
    const passing = apply([{ type: 'attachEvidence', evidence: evidence(plan, 'beta-dual-read'), ...base(3) }], failing).state;
    const ready = statusView(passing, at(61));
    expect(ready?.live).toMatchObject({ gate: 'passed', bakeRemainingMinutes: 0 });
    expect(ready?.blockedBy).toBeUndefined();
    expect(statusView(passing, at(60.5))?.live?.bakeRemainingMinutes).toBe(1);
  });

  it('moves on after a completed step and shows a finished migration as done, not blocked', () => {
    const done = apply([{ type: 'attachEvidence', evidence: evidence(plan, 'beta-dual-read'), ...base(2) }, { type: 'completeStep', ...base(61) }], betaLive(plan)).state;
    const view = statusView(done, at(62));
    expect(view?.live).toBeUndefined();
    expect(view?.next).toEqual({ action: 'start-step', step: 'preprod-dual-read' });
    expect(view?.stages.map((s) => s.phases[0]?.status)).toEqual(['completed', 'pending', 'pending']);
    expect(view?.steps[0]).toEqual({ id: 'beta-dual-read', phase: 1, stage: 'beta', status: 'completed', runs: 1 });
    const aborted = apply([{ type: 'abort', ...base(70) }], done).state;
    const end = statusView(aborted, at(71));
    expect(end).toMatchObject({ status: 'aborted', since: at(70), next: { action: 'none' } });
    expect(end?.blockedBy).toBeUndefined();
  });
});

describe('rollback flags and evolve edges', () => {
  it('lands each stage on the flags of its kept steps, widening readers only where the rollback reaches or they were dual', () => {
    const plan = fastPlan();
    const twoDone = apply(
      ['beta-dual-read', 'preprod-dual-read'].flatMap((id, i): MigrationCommand[] => [
        { type: 'startStep', stepId: id, ...base(i * 3 + 1) },
        { type: 'attachEvidence', evidence: evidence(plan, id), ...base(i * 3 + 2) },
        { type: 'completeStep', ...base(i * 3 + 3) },
      ]),
      planned(plan),
    ).state;
    const d = decide({ type: 'rollback', toStep: 'beta-dual-read', reason: 'preprod alarm', ...base(10) }, twoDone);
    if (!d.ok) throw new Error(d.rejection.message);
    const betaFlags = applyFlags(plan.initialFlags, [plan.steps[0]?.flags ?? {}]);
    expect(d.events).toEqual([
      {
        type: 'RolledBack',
        actor: 'alice',
        at: at(10),
        reason: 'preprod alarm',
        toStep: 'beta-dual-read',
        undoneSteps: ['preprod-dual-read'],
        liveFlags: { beta: withDualReaders(betaFlags), preprod: withDualReaders(plan.initialFlags), prod: plan.initialFlags },
      },
    ]);
    expect(withDualReaders(plan.initialFlags)).not.toEqual(plan.initialFlags);
    const after = fold(d.events, twoDone);
    expect(after.steps['beta-dual-read']?.status).toBe('completed');
    expect(after.steps['preprod-dual-read']).toEqual({ status: 'pending', evidence: [], runs: 1 });
    expect(after.liveFlags.prod).toEqual(plan.initialFlags);
  });

  it('ignores a deployment completion for a step with no deployment, but counts the version', () => {
    const live = betaLive();
    const next = evolve(live, { type: 'DeploymentCompleted', actor: 'x', at: at(3), stepId: 'beta-dual-read', deployment });
    expect(next).toEqual({ ...live, version: live.version + 1 });
  });
});

describe('the complete command', () => {
  it('completes a migration whose steps have all completed, with no reason key when none was given', () => {
    const plan = fastPlan();
    const commands: MigrationCommand[] = [{ type: 'plan', plan, ...base(0) }];
    plan.steps.forEach((s, i) => commands.push({ type: 'advance', ...base(i * 3 + 1) }, { type: 'attachEvidence', evidence: evidence(plan, s.id), ...base(i * 3 + 2) }, { type: 'advance', ...base(i * 3 + 3) }));
    const all = apply(commands).state;
    const d = decide({ type: 'complete', ...base(40) }, all);
    expect(d).toStrictEqual({ ok: true, events: [{ type: 'MigrationCompleted', actor: 'alice', at: at(40) }] });
    const paused = apply([{ type: 'pause', ...base(41) }], all).state;
    expect('pausedReason' in paused).toBe(false);
    expect('pausedReason' in (statusView(paused, at(42)) ?? {})).toBe(false);
  });
});

describe('lists in refusals, and unknown steps in withdrawals and rollbacks', () => {
  it('separates open stages with commas and failures with semicolons', () => {
    expect(refusal({ type: 'startStep', stepId: 'prod-dual-read', ...base(1) }, planned()).message).toBe(
      'stages go in order: phase 1 may not start in prod before it has completed in beta, preprod (still open: beta-dual-read, preprod-dual-read)',
    );
    const plan = fastPlan();
    const twoFailures: Evidence = {
      ...evidence(plan, 'beta-dual-read'),
      verdict: { passed: false, failures: [{ threshold: 'maxChangedRate', measured: 0.2, limit: 0.01 }, { threshold: 'maxErrorRate', measured: 0.5, limit: 0.1 }] },
    };
    const failing = apply([{ type: 'attachEvidence', evidence: twoFailures, ...base(2) }], betaLive(plan)).state;
    expect(refusal({ type: 'completeStep', ...base(3) }, failing).message).toBe(
      'a step may not complete without a passing gate attached: the latest evidence for beta-dual-read failed (maxChangedRate: measured 0.2, limit 0.01; maxErrorRate: measured 0.5, limit 0.1)',
    );
  });

  it('names an unknown step given to a withdrawal or as a rollback target', () => {
    const message = `"gamma" is not a step of fast-test (steps: ${ALL_STEPS})`;
    expect(refusal({ type: 'withdrawStep', stepId: 'gamma', reason: 'r', ...base(2) }, betaLive())).toEqual({ invariant: 'known-step', message });
    expect(refusal({ type: 'rollback', toStep: 'gamma', reason: 'r', ...base(2) }, betaLive())).toEqual({ invariant: 'known-step', message });
  });
});
