/**
 * Every refusal of the migration decider, each with the exact invariant and message a person
 * reads (the CLI prints them as they are), and the accepted decisions around each boundary:
 * which step, which stage, how long is left, what is live. Complements migration-decider.test.ts
 * (the walks) and the property tests (the invariants over random command sequences).
 */
import { describe, expect, it } from 'vitest';
import {
  decide,
  evolve,
  fold,
  formatDuration,
  historyView,
  initialState,
  stateAt,
  statusView,
  type DeploymentRef,
  type Evidence,
  type MigrationCommand,
  type MigrationEvent,
  type MigrationState,
  type Plan,
} from '../../src/migration/index.js';
import { applyCommands, at, evidenceFor, fastPlan, T0 } from '../support/migration/fixtures.js';

const by = { actor: 'alice' };

const plan = fastPlan('rules-test');
/** The same plan with an hour of bake per step. */
const baking = fastPlan('bake-test', 60);
/** Two steps in beta's first phase, so the order within a stage matters. */
const twoInBeta: Plan = (() => {
  const first = plan.steps[0];
  if (first === undefined) throw new Error('the shipped plan has steps');
  return { ...plan, id: 'two-in-beta', steps: [first, { ...first, id: 'beta-dual-read-2' }, ...plan.steps.slice(1)] };
})();

const beta = (p: Plan = plan) => {
  const s = p.steps[0];
  if (s === undefined) throw new Error('no steps');
  return s;
};
const stepOf = (p: Plan, id: string) => {
  const s = p.steps.find((x) => x.id === id);
  if (s === undefined) throw new Error(id);
  return s;
};
const deployment = (number = 7, environment = 'beta'): DeploymentRef => ({ environment, number, configVersion: '3' });

const apply = applyCommands;

const c = {
  plan: (p: Plan = plan, m = 0): MigrationCommand => ({ type: 'plan', plan: p, ...by, at: at(m) }),
  advance: (m = 1): MigrationCommand => ({ type: 'advance', ...by, at: at(m) }),
  start: (stepId: string, m = 1): MigrationCommand => ({ type: 'startStep', stepId, ...by, at: at(m) }),
  complete: (stepId?: string, m = 5): MigrationCommand => ({ type: 'completeStep', ...(stepId === undefined ? {} : { stepId }), ...by, at: at(m) }),
  evidence: (p: Plan, stepId: string, passed = true, m = 2, explicit = false): MigrationCommand => ({
    type: 'attachEvidence',
    ...(explicit ? { stepId } : {}),
    evidence: evidenceFor(stepOf(p, stepId), passed),
    ...by,
    at: at(m),
  }),
  deploy: (stepId: string, state: 'started' | 'complete', ref = deployment(), m = 3): MigrationCommand => ({ type: 'recordDeployment', stepId, deployment: ref, state, ...by, at: at(m) }),
  pause: (reason?: string, m = 1): MigrationCommand => ({ type: 'pause', ...by, at: at(m), ...(reason === undefined ? {} : { reason }) }),
  resume: (m = 1): MigrationCommand => ({ type: 'resume', ...by, at: at(m) }),
  rollback: (toStep: string, reason = 'bad tokens', pause?: boolean, m = 9): MigrationCommand => ({ type: 'rollback', toStep, reason, ...(pause === undefined ? {} : { pause }), ...by, at: at(m) }),
  withdraw: (reason = 'gate replay was wrong', stepId?: string, pause?: boolean, m = 9): MigrationCommand => ({
    type: 'withdrawStep',
    reason,
    ...(stepId === undefined ? {} : { stepId }),
    ...(pause === undefined ? {} : { pause }),
    ...by,
    at: at(m),
  }),
  abort: (m = 9): MigrationCommand => ({ type: 'abort', ...by, at: at(m) }),
  finish: (m = 9): MigrationCommand => ({ type: 'complete', ...by, at: at(m) }),
};

/** States the cases start from. */
const planned = () => apply([c.plan()]).state;
const live = (p: Plan = plan) => apply([c.plan(p), c.advance()]).state;
const liveWithEvidence = (passed = true) => apply([c.plan(), c.advance(), c.evidence(plan, beta().id, passed)]).state;
const deploying = () => apply([c.plan(), c.advance(), c.evidence(plan, beta().id), c.deploy(beta().id, 'started')]).state;
const firstDone = () => apply([c.plan(), c.advance(1), c.evidence(plan, beta().id), c.advance(3)]).state;
const allDone = () => {
  const commands: MigrationCommand[] = [c.plan()];
  plan.steps.forEach((s, i) => commands.push(c.advance(i * 10 + 1), c.evidence(plan, s.id, true, i * 10 + 2), c.advance(i * 10 + 3)));
  return apply(commands).state;
};

function refusal(command: MigrationCommand, state: MigrationState): string {
  const d = decide(command, state);
  if (d.ok) throw new Error(`${command.type} was accepted: ${d.events.map((e) => e.type).join(', ')}`);
  return `${d.rejection.invariant}: ${d.rejection.message}`;
}

function accepted(command: MigrationCommand, state: MigrationState): MigrationEvent[] {
  const d = decide(command, state);
  if (!d.ok) throw new Error(`${command.type} refused: ${d.rejection.message}`);
  return [...d.events];
}

describe('migration decider: every refusal says which rule and why', () => {
  it('a command needs a valid instant, and a plan comes first and once', () => {
    expect(refusal({ type: 'advance', ...by, at: 'yesterday' }, planned())).toMatchInlineSnapshot(`"valid-time: a command needs a valid instant; "yesterday" is not one"`);
    expect(refusal(c.plan(), planned())).toMatchInlineSnapshot(`"plan-once: a migration is planned once: rules-test was planned already (status active)"`);
    expect(refusal(c.plan(), live())).toMatchInlineSnapshot(`"plan-once: a migration is planned once: rules-test was planned already (status active)"`);
    expect(refusal(c.advance(), initialState)).toMatchInlineSnapshot(`"planned-first: nothing can happen to a migration before it is planned: run plan with its definition first"`);
    expect(refusal(c.start(beta().id), initialState)).toMatchInlineSnapshot(`"planned-first: nothing can happen to a migration before it is planned: run plan with its definition first"`);
  });

  it('nothing happens to a finished migration, whichever way it finished', () => {
    const aborted = apply([c.abort(4)], planned()).state;
    expect(refusal(c.advance(10), aborted)).toMatchInlineSnapshot(`"finished-is-final: nothing happens to an aborted migration: rules-test was aborted at 2026-01-05T09:04:00.000Z"`);
    expect(refusal(c.resume(10), aborted)).toMatchInlineSnapshot(`"finished-is-final: nothing happens to an aborted migration: rules-test was aborted at 2026-01-05T09:04:00.000Z"`);
    const completed = apply([c.advance(100)], allDone()).state;
    expect(completed.status).toBe('completed');
    expect(refusal(c.abort(101), completed)).toMatchInlineSnapshot(`"finished-is-final: nothing happens to a completed migration: rules-test was completed at 2026-01-05T10:40:00.000Z"`);
  });

  it('a paused migration takes no step, with or without a recorded reason, until resumed', () => {
    const withReason = apply([c.pause('change freeze')], live()).state;
    const without = apply([c.pause()], live()).state;
    expect(refusal(c.advance(2), withReason)).toMatchInlineSnapshot(`"paused-holds: a paused migration takes no step until it is resumed (paused: change freeze)"`);
    expect(refusal(c.advance(2), without)).toMatchInlineSnapshot(`"paused-holds: a paused migration takes no step until it is resumed (paused)"`);
    expect(refusal(c.complete(undefined, 2), withReason)).toMatchInlineSnapshot(`"paused-holds: a paused migration takes no step until it is resumed (paused: change freeze)"`);
    expect(refusal(c.finish(2), withReason)).toMatchInlineSnapshot(`"paused-holds: a paused migration takes no step until it is resumed (paused: change freeze)"`);
    const pausedPlanned = apply([c.pause('freeze')], planned()).state;
    expect(refusal(c.start(beta().id), pausedPlanned)).toMatchInlineSnapshot(`"paused-holds: a paused migration takes no step until it is resumed (paused: freeze)"`);
    expect(refusal(c.pause('again'), withReason)).toMatchInlineSnapshot(`"pause-once: the migration is already paused (change freeze)"`);
    expect(refusal(c.pause(), without)).toMatchInlineSnapshot(`"pause-once: the migration is already paused"`);
    expect(refusal(c.resume(), live())).toMatchInlineSnapshot(`"resume-paused: only a paused migration can be resumed, and this one is running"`);
    // Evidence and deployments are still recorded while paused: they report what happened.
    expect(accepted(c.evidence(plan, beta().id), withReason).map((e) => e.type)).toEqual(['EvidenceAttached']);
    const resumed = apply([c.resume(3)], withReason).state;
    expect(resumed).toMatchObject({ status: 'active', since: at(3) });
    expect(resumed.pausedReason).toBeUndefined();
  });

  it('names the steps of the plan when a command names one it does not have', () => {
    const state = live();
    expect(refusal(c.start('nope'), state)).toMatchInlineSnapshot(`"known-step: "nope" is not a step of rules-test (steps: beta-dual-read, preprod-dual-read, prod-dual-read, beta-new-writers, preprod-new-writers, prod-new-writers)"`);
    expect(refusal({ type: 'attachEvidence', stepId: 'nope', evidence: evidenceFor(beta()), ...by, at: at(2) }, state)).toMatchInlineSnapshot(`"known-step: "nope" is not a step of rules-test (steps: beta-dual-read, preprod-dual-read, prod-dual-read, beta-new-writers, preprod-new-writers, prod-new-writers)"`);
    expect(refusal(c.complete('nope'), state)).toMatchInlineSnapshot(`"known-step: "nope" is not a step of rules-test (steps: beta-dual-read, preprod-dual-read, prod-dual-read, beta-new-writers, preprod-new-writers, prod-new-writers)"`);
    expect(refusal(c.deploy('nope', 'started'), state)).toMatchInlineSnapshot(`"known-step: "nope" is not a step of rules-test (steps: beta-dual-read, preprod-dual-read, prod-dual-read, beta-new-writers, preprod-new-writers, prod-new-writers)"`);
    expect(refusal(c.withdraw('why', 'nope'), state)).toMatchInlineSnapshot(`"known-step: "nope" is not a step of rules-test (steps: beta-dual-read, preprod-dual-read, prod-dual-read, beta-new-writers, preprod-new-writers, prod-new-writers)"`);
    expect(refusal(c.rollback('nope'), state)).toMatchInlineSnapshot(`"known-step: "nope" is not a step of rules-test (steps: beta-dual-read, preprod-dual-read, prod-dual-read, beta-new-writers, preprod-new-writers, prod-new-writers)"`);
  });

  it('evidence belongs to the live step, and its report must add up', () => {
    expect(refusal(c.evidence(plan, beta().id), planned())).toMatchInlineSnapshot(`"evidence-for-live-step: evidence belongs to the step that is live, and no step is live now"`);
    expect(refusal(c.evidence(plan, 'preprod-dual-read', true, 2, true), live())).toMatchInlineSnapshot(`"evidence-for-live-step: evidence belongs to the step that is live: preprod-dual-read is not live (beta-dual-read is)"`);
    expect(refusal(c.evidence(plan, 'preprod-dual-read', true, 2, true), planned())).toMatchInlineSnapshot(`"evidence-for-live-step: evidence belongs to the step that is live: preprod-dual-read is not live"`);
    const ok = evidenceFor(beta());
    const bad = (e: Partial<Evidence>): MigrationCommand => ({ type: 'attachEvidence', evidence: { ...ok, ...e }, ...by, at: at(2) });
    expect(refusal(bad({ totals: { read: 10.5, quarantined: 0, compared: 10.5 } }), live())).toMatchInlineSnapshot(`"evidence-adds-up: a shadow report must add up: read must be a whole number of records, got 10.5"`);
    expect(refusal(bad({ outcomes: { ...ok.outcomes, changed: -1 } }), live())).toMatchInlineSnapshot(`"evidence-adds-up: a shadow report must add up: changed must be a whole number of records, got -1"`);
    expect(refusal(bad({ totals: { read: 1000, quarantined: 3, compared: 998 } }), live())).toMatchInlineSnapshot(`"evidence-adds-up: a shadow report must add up: read (1000) must equal compared (998) + quarantined (3)"`);
    expect(refusal(bad({ outcomes: { ...ok.outcomes, same: 989 } }), live())).toMatchInlineSnapshot(`"evidence-adds-up: a shadow report must add up: compared (998) must equal the sum of outcomes (997)"`);
    // Adding up exactly is accepted (the boundary of each check).
    expect(accepted(bad({}), live()).map((e) => e.type)).toEqual(['EvidenceAttached']);
  });

  it('judges the gate: verdict failures, a failed verdict without reasons, alarms missing or not OK', () => {
    const ok = evidenceFor(beta());
    const judged = (e: Evidence) => {
      const [event] = accepted({ type: 'attachEvidence', evidence: e, ...by, at: at(2) }, live());
      if (event?.type !== 'EvidenceAttached') throw new Error('no evidence event');
      return { passed: event.passed, failures: event.failures };
    };
    expect(judged(ok)).toEqual({ passed: true, failures: [] });
    expect(judged({ ...ok, verdict: { passed: false, failures: [{ threshold: 'maxChangedRate', measured: 0.2, limit: 0.01 }] } })).toEqual({
      passed: false,
      failures: ['maxChangedRate: measured 0.2, limit 0.01'],
    });
    expect(judged({ ...ok, verdict: { passed: false, failures: [] } })).toEqual({ passed: false, failures: ['the gate verdict did not pass'] });
    const [first] = beta().gate.alarms;
    if (first === undefined) throw new Error('the beta gate names alarms');
    const alarms = { ...ok.alarms };
    delete alarms[first];
    expect(judged({ ...ok, alarms })).toEqual({ passed: false, failures: [`alarm ${first} was not reported`] });
    expect(judged({ ...ok, alarms: { ...ok.alarms, [first]: 'ALARM' } })).toEqual({ passed: false, failures: [`alarm ${first} is ALARM`] });
    expect(judged({ ...ok, alarms: { ...ok.alarms, [first]: 'INSUFFICIENT_DATA' } })).toEqual({ passed: false, failures: [`alarm ${first} is INSUFFICIENT_DATA`] });
  });

  it('steps start in order: once, phase by phase, stage by stage, step by step, one at a time', () => {
    expect(refusal(c.start(beta().id, 4), firstDone())).toMatchInlineSnapshot(`"step-runs-once: beta-dual-read has already completed; roll back to an earlier step to run it again"`);
    expect(refusal(c.start('preprod-dual-read'), planned())).toMatchInlineSnapshot(`"stage-order: stages go in order: phase 1 may not start in preprod before it has completed in beta (still open: beta-dual-read)"`);
    expect(refusal(c.start('prod-new-writers'), planned())).toMatchInlineSnapshot(`"phase-order: phase 2 may not start in any stage until phase 1 has completed in every stage (all readers must understand new tokens before any writer emits one): phase 1 is not complete in beta, preprod, prod, so prod-new-writers cannot start in prod"`);
    expect(refusal(c.start('beta-dual-read-2'), apply([c.plan(twoInBeta)]).state)).toMatchInlineSnapshot(`"step-order: steps within a stage go in order: beta-dual-read-2 comes after beta-dual-read, which has not completed"`);
    expect(refusal(c.start(beta().id, 2), live())).toMatchInlineSnapshot(`"one-step-at-a-time: one step is live at a time: beta-dual-read is still live; complete it or roll back first"`);
    const second = apply([c.evidence(twoInBeta, beta().id), c.advance(3)], live(twoInBeta)).state;
    expect(accepted(c.start('beta-dual-read-2', 4), second)).toMatchObject([{ type: 'StepStarted', stepId: 'beta-dual-read-2', stage: 'beta' }]);
  });

  it('only the live step completes, once deployed, baked and gated', () => {
    expect(refusal(c.complete(), planned())).toMatchInlineSnapshot(`"complete-live-step: only the live step can complete, and no step is live now"`);
    expect(refusal(c.complete('preprod-dual-read'), live())).toMatchInlineSnapshot(`"complete-live-step: only the live step can complete: preprod-dual-read is not live (beta-dual-read is)"`);
    expect(refusal(c.complete('preprod-dual-read'), planned())).toMatchInlineSnapshot(`"complete-live-step: only the live step can complete: preprod-dual-read is not live"`);
    expect(refusal(c.complete(), deploying())).toMatchInlineSnapshot(`"deployed-before-complete: a step completes only once the deployment carrying its flags has: beta deployment #7 of beta-dual-read has not completed"`);
    expect(refusal(c.complete(), live())).toMatchInlineSnapshot(`"passing-gate: a step may not complete without a passing gate attached: no evidence has been attached to beta-dual-read since it started"`);
    expect(refusal(c.complete(), liveWithEvidence(false))).toMatchInlineSnapshot(`"passing-gate: a step may not complete without a passing gate attached: the latest evidence for beta-dual-read failed (maxChangedRate: measured 0.2, limit 0.01)"`);
    expect(accepted(c.complete(), liveWithEvidence())).toMatchObject([{ type: 'StepCompleted', stepId: beta().id, at: at(5) }]);
    expect(accepted(c.complete(beta().id), liveWithEvidence())).toMatchObject([{ type: 'StepCompleted', stepId: beta().id }]);
  });

  it('counts the bake from the start, or from the end of the deployment once there is one, to the minute', () => {
    const started = apply([c.plan(baking), c.advance(0), c.evidence(baking, beta(baking).id, true, 1)]).state;
    expect(refusal(c.advance(25), started)).toMatchInlineSnapshot(`"bake-time: a step may not complete before its bake time has passed: beta-dual-read has baked 25m of 1h (35m to go)"`);
    expect(refusal({ type: 'advance', ...by, at: new Date(T0 + 59 * 60_000 + 59_999).toISOString() }, started)).toMatchInlineSnapshot(`"bake-time: a step may not complete before its bake time has passed: beta-dual-read has baked 59m of 1h (1s to go)"`);
    expect(accepted(c.advance(60), started).map((e) => e.type)).toEqual(['StepCompleted']);
    const deployed = apply([c.deploy(beta(baking).id, 'started', deployment(), 10), c.deploy(beta(baking).id, 'complete', deployment(), 20)], started).state;
    expect(refusal(c.advance(60), deployed)).toMatchInlineSnapshot(`"bake-time: a step may not complete before its bake time has passed: beta-dual-read has baked 40m of 1h (20m to go)"`);
    expect(refusal(c.advance(79), deployed)).toMatchInlineSnapshot(`"bake-time: a step may not complete before its bake time has passed: beta-dual-read has baked 59m of 1h (1m to go)"`);
    expect(accepted(c.advance(80), deployed).map((e) => e.type)).toEqual(['StepCompleted']);
  });

  it('records a deployment only for the live step, after a passing gate, once, started before complete', () => {
    const id = beta().id;
    expect(refusal(c.deploy('preprod-dual-read', 'started'), live())).toMatchInlineSnapshot(`"deployment-for-live-step: a deployment carries the flags of the step that is live: preprod-dual-read is not live (beta-dual-read is)"`);
    expect(refusal(c.deploy(id, 'started'), planned())).toMatchInlineSnapshot(`"deployment-for-live-step: a deployment carries the flags of the step that is live: beta-dual-read is not live"`);
    expect(refusal(c.deploy(id, 'started'), live())).toMatchInlineSnapshot(`"gate-before-deploy: a step's flags are deployed only after a passing gate is attached: beta-dual-read has no evidence since it started"`);
    expect(refusal(c.deploy(id, 'started'), liveWithEvidence(false))).toMatchInlineSnapshot(`"gate-before-deploy: a step's flags are deployed only after a passing gate is attached: beta-dual-read has failing evidence since it started"`);
    expect(refusal(c.deploy(id, 'started', deployment(8)), deploying())).toMatchInlineSnapshot(`"one-deployment-per-step: one deployment carries a run of a step: beta-dual-read already has beta deployment #7; roll back to deploy again"`);
    expect(refusal(c.deploy(id, 'complete'), liveWithEvidence())).toMatchInlineSnapshot(`"deployment-recorded-first: a deployment completes only after it was recorded as started for the step: beta-dual-read has no deployment"`);
    expect(refusal(c.deploy(id, 'complete', deployment(8)), deploying())).toMatchInlineSnapshot(`"deployment-recorded-first: a deployment completes only after it was recorded as started for the step: beta-dual-read has deployment #7 in beta, not #8 in beta"`);
    expect(refusal(c.deploy(id, 'complete', deployment(7, 'preprod')), deploying())).toMatchInlineSnapshot(`"deployment-recorded-first: a deployment completes only after it was recorded as started for the step: beta-dual-read has deployment #7 in beta, not #7 in preprod"`);
    const done = apply([c.deploy(id, 'complete', deployment(), 4)], deploying()).state;
    expect(refusal(c.deploy(id, 'complete', deployment(), 5), done)).toMatchInlineSnapshot(`"deployment-completes-once: beta deployment #7 of beta-dual-read was recorded complete already"`);
    expect(done.steps[id]?.deployment).toEqual({ ...deployment(), startedAt: at(3), completedAt: at(4) });
    expect(accepted(c.deploy(id, 'started', { ...deployment(), configVersion: '9' }), liveWithEvidence())).toEqual([
      { type: 'DeploymentStarted', actor: 'alice', at: at(3), stepId: id, stage: 'beta', deployment: { environment: 'beta', number: 7, configVersion: '9' } },
    ]);
  });

  it('withdraws only the live, undeployed step, with a reason; pauses in the same decision when asked', () => {
    expect(refusal(c.withdraw(' '), live())).toMatchInlineSnapshot(`"withdraw-reason: a withdrawal records why it happened: give a reason"`);
    expect(refusal(c.withdraw(), planned())).toMatchInlineSnapshot(`"withdraw-live-step: only the live step can be withdrawn, and no step is live now"`);
    expect(refusal(c.withdraw('why', 'preprod-dual-read'), live())).toMatchInlineSnapshot(`"withdraw-live-step: only the live step can be withdrawn: preprod-dual-read is not live (beta-dual-read is)"`);
    expect(refusal(c.withdraw('why', 'preprod-dual-read'), planned())).toMatchInlineSnapshot(`"withdraw-live-step: only the live step can be withdrawn: preprod-dual-read is not live"`);
    expect(refusal(c.withdraw(), deploying())).toMatchInlineSnapshot(`"withdraw-undeployed: a step is withdrawn only before its flags are deployed: beta deployment #7 of beta-dual-read was started; roll back instead"`);
    expect(accepted(c.withdraw('why', undefined, true), live()).map((e) => e.type)).toEqual(['StepWithdrawn', 'MigrationPaused']);
    expect(accepted(c.withdraw('why', undefined, false), live()).map((e) => e.type)).toEqual(['StepWithdrawn']);
    const paused = apply([c.pause('freeze', 2)], live()).state;
    expect(accepted(c.withdraw('why', undefined, true), paused).map((e) => e.type)).toEqual(['StepWithdrawn']);
    const withdrawn = apply([c.withdraw('why', undefined, true)], live()).state;
    expect(withdrawn.current).toBeUndefined();
    expect(withdrawn.steps[beta().id]).toEqual({ status: 'pending', evidence: [], runs: 1 });
    expect(withdrawn.liveFlags.beta).toEqual(plan.initialFlags);
    expect(withdrawn).toMatchObject({ status: 'paused', pausedReason: 'why' });
  });

  it('rolls back only to a completed step or the start, with a reason, and only when something started after it', () => {
    expect(refusal(c.rollback(beta().id, ''), live())).toMatchInlineSnapshot(`"rollback-reason: a rollback records why it happened: give a reason"`);
    expect(refusal(c.rollback(beta().id), live())).toMatchInlineSnapshot(`"rollback-target: a rollback returns to a step that has completed (or to "start", before the first step), and beta-dual-read has not (it is in-progress)"`);
    expect(refusal(c.rollback('prod-dual-read'), live())).toMatchInlineSnapshot(`"rollback-target: a rollback returns to a step that has completed (or to "start", before the first step), and prod-dual-read has not (it is pending)"`);
    expect(refusal(c.rollback('start'), planned())).toMatchInlineSnapshot(`"rollback-target: nothing to roll back: no step after the start has started"`);
    expect(refusal(c.rollback(beta().id), firstDone())).toMatchInlineSnapshot(`"rollback-target: nothing to roll back: no step after beta-dual-read has started"`);
    expect(accepted(c.rollback('start', 'why', true), firstDone()).map((e) => e.type)).toEqual(['RolledBack', 'MigrationPaused']);
    const paused = apply([c.pause('freeze', 5)], firstDone()).state;
    expect(accepted(c.rollback('start', 'why', true), paused).map((e) => e.type)).toEqual(['RolledBack']);
    const back = apply([c.rollback('start')], firstDone()).state;
    expect(back.steps[beta().id]).toEqual({ status: 'pending', evidence: [], runs: 1 });
    // Beta is touched by the rollback: its readers stay dual; untouched stages keep what they ran.
    expect(back.liveFlags.beta).toMatchObject({ tokenReadMode: 'dual', priorityScheme: 'dual', tokenWriteMode: plan.initialFlags.tokenWriteMode });
    expect(back.liveFlags.prod).toEqual(plan.initialFlags);
  });

  it('a rollback to a completed step keeps that step\'s flags in its stage and lands later stages on what is left, readers dual', () => {
    const twoDone = apply([c.advance(11), c.evidence(plan, 'preprod-dual-read', true, 12), c.advance(13)], firstDone()).state;
    const betaFlags = twoDone.liveFlags.beta;
    const [event] = accepted(c.rollback(beta().id), twoDone);
    expect(event).toMatchObject({ type: 'RolledBack', toStep: beta().id, undoneSteps: ['preprod-dual-read'] });
    const back = fold([event as MigrationEvent], twoDone);
    expect(back.liveFlags.beta).toEqual(betaFlags);
    expect(back.liveFlags.preprod).toEqual({ ...plan.initialFlags, tokenReadMode: 'dual', priorityScheme: 'dual' });
    expect(back.liveFlags.prod).toEqual(plan.initialFlags);
    expect(back.steps[beta().id]?.status).toBe('completed');
    expect(back.steps['preprod-dual-read']).toEqual({ status: 'pending', evidence: [], runs: 1 });
    expect(historyView([event as MigrationEvent])[0]?.summary).toBe(`rolled back to ${beta().id}, undoing preprod-dual-read`);
  });

  it('completes the migration only when every step has, and carries a reason onto events only when given', () => {
    expect(refusal(c.finish(), live())).toMatchInlineSnapshot(`"all-steps-complete: a migration completes only once every step has: 6 not complete (beta-dual-read, preprod-dual-read, prod-dual-read, beta-new-writers, preprod-new-writers, prod-new-writers)"`);
    expect(accepted(c.finish(), allDone())).toEqual([{ type: 'MigrationCompleted', actor: 'alice', at: at(9) }]);
    expect(accepted({ ...c.finish(), reason: 'all green' }, allDone())).toEqual([{ type: 'MigrationCompleted', actor: 'alice', at: at(9), reason: 'all green' }]);
    expect(accepted(c.advance(100), allDone())).toEqual([{ type: 'MigrationCompleted', actor: 'alice', at: at(100) }]);
  });
});

describe('formatDuration', () => {
  it('rounds time still to go up and time elapsed down, in s, m and h', () => {
    const cases: [number, 'up' | 'down', string][] = [
      [0, 'up', '0s'],
      [1, 'up', '1s'],
      [1, 'down', '0s'],
      [59_999, 'up', '60s'],
      [59_999, 'down', '59s'],
      [60_000, 'up', '1m'],
      [60_001, 'up', '2m'],
      [60_001, 'down', '1m'],
      [3_599_999, 'down', '59m'],
      [3_599_999, 'up', '1h'],
      [3_600_000, 'up', '1h'],
      [5_400_000, 'up', '1h30m'],
      [7_200_000, 'down', '2h'],
    ];
    for (const [ms, round, text] of cases) expect(`${ms} ${round}: ${formatDuration(ms, round)}`).toBe(`${ms} ${round}: ${text}`);
    expect(formatDuration(90_000)).toBe('2m');
  });
});

describe('evolve', () => {
  it('a step started again counts its runs and keeps the flags it started from', () => {
    const once = live();
    expect(once.steps[beta().id]).toMatchObject({ status: 'in-progress', startedAt: at(1), runs: 1, flagsBefore: plan.initialFlags });
    const again = apply([c.withdraw('why', undefined, false, 2), c.advance(3)], once).state;
    expect(again.steps[beta().id]).toMatchObject({ status: 'in-progress', startedAt: at(3), runs: 2, evidence: [] });
  });

  it('a deployment completed without one started changes nothing but the version', () => {
    const state = live();
    const next = evolve(state, { type: 'DeploymentCompleted', stepId: beta().id, deployment: deployment(), ...by, at: at(4) });
    expect(next).toEqual({ ...state, version: state.version + 1 });
  });

  it('pausing records the reason only when there is one; aborting drops the live step and the reason', () => {
    const paused = apply([c.pause(undefined, 2)], live()).state;
    expect(paused).toMatchObject({ status: 'paused', since: at(2) });
    expect('pausedReason' in paused).toBe(false);
    const aborted = apply([c.pause('x', 2), c.abort(3)], live()).state;
    expect(aborted).toMatchObject({ status: 'aborted', since: at(3) });
    expect(aborted.current).toBeUndefined();
    expect(aborted.pausedReason).toBeUndefined();
  });
});

describe('status and history views', () => {
  it('the state at an instant includes the events recorded at that instant, and none before the first', () => {
    const { events } = apply([c.plan(plan, 0), c.advance(1), c.pause('x', 2)]);
    expect(stateAt(events, at(1))).toMatchObject({ status: 'active', current: beta().id, version: 2 });
    expect(stateAt(events, new Date(T0 + 60_000 - 1).toISOString()).version).toBe(1);
    expect(stateAt(events, new Date(T0 - 1).toISOString())).toEqual(initialState);
    expect(stateAt(events, at(99)).status).toBe('paused');
  });

  it('shows the live step, its bake left, its gate, what advance would do and what blocks it', () => {
    const state = apply([c.plan(baking), c.advance(0)]).state;
    const view = statusView(state, at(25));
    expect(view?.live).toEqual({ step: beta(baking).id, stage: 'beta', phase: 1, startedAt: at(0), bakeRemainingMinutes: 35, gate: 'missing' });
    expect(view?.next).toEqual({ action: 'complete-step', step: beta(baking).id });
    expect(view?.blockedBy?.invariant).toBe('bake-time');
    expect(view?.stages.map((s) => s.phases.map((p) => p.status))).toEqual([
      ['in-progress', 'pending'],
      ['pending', 'pending'],
      ['pending', 'pending'],
    ]);
    expect(view?.steps[0]).toEqual({ id: beta(baking).id, phase: 1, stage: 'beta', status: 'in-progress', runs: 1 });
    expect(statusView(state, at(61))?.live?.bakeRemainingMinutes).toBe(0);
    const failed = apply([c.evidence(baking, beta(baking).id, false, 1)], state).state;
    expect(statusView(failed, at(2))?.live?.gate).toBe('failed');
    const passed = apply([c.evidence(baking, beta(baking).id, true, 1)], state).state;
    expect(statusView(passed, at(2))?.live?.gate).toBe('passed');
    // Deploying: the bake has not begun until the deployment completes, then counts from there.
    const deploying2 = apply([c.deploy(beta(baking).id, 'started', deployment(), 3)], passed).state;
    expect(statusView(deploying2, at(50))?.live?.bakeRemainingMinutes).toBe(60);
    const deployed = apply([c.deploy(beta(baking).id, 'complete', deployment(), 10)], deploying2).state;
    expect(statusView(deployed, at(50))?.live?.bakeRemainingMinutes).toBe(20);
  });

  it('with nothing live: the next step to start, then completing the migration, then nothing, never blocked once finished', () => {
    expect(statusView(initialState, at(0))).toBeUndefined();
    const p = statusView(planned(), at(1));
    expect(p).toMatchObject({ id: 'rules-test', status: 'active', version: 1, since: at(0), next: { action: 'start-step', step: beta().id } });
    expect(p?.live).toBeUndefined();
    expect(p?.blockedBy).toBeUndefined();
    const done = allDone();
    expect(statusView(done, at(100))?.next).toEqual({ action: 'complete-migration' });
    expect(statusView(done, at(100))?.stages.every((s) => s.phases.every((ph) => ph.status === 'completed'))).toBe(true);
    const finished = apply([c.advance(100)], done).state;
    const view = statusView(finished, at(101));
    expect(view?.next).toEqual({ action: 'none' });
    expect(view?.blockedBy).toBeUndefined();
    const paused = statusView(apply([c.pause('freeze', 2)], planned()).state, at(3));
    expect(paused).toMatchObject({ status: 'paused', pausedReason: 'freeze', next: { action: 'start-step', step: beta().id }, blockedBy: { invariant: 'paused-holds' } });
  });

  it('writes one line per event a person can read', () => {
    const { events } = apply([
      c.plan(),
      c.advance(1),
      c.evidence(plan, beta().id, false, 2),
      c.evidence(plan, beta().id, true, 3),
      c.deploy(beta().id, 'started', deployment(), 4),
      c.deploy(beta().id, 'complete', deployment(), 5),
      c.pause('lunch', 6),
      c.resume(7),
      c.advance(8),
      c.rollback('start', 'bad tokens', false, 9),
      c.advance(10),
      c.withdraw('wrong log', undefined, false, 11),
      c.abort(12),
    ]);
    expect(historyView(events).map((h) => `${h.version} ${h.type}: ${h.summary}${h.reason === undefined ? '' : ` — ${h.reason}`}`)).toMatchInlineSnapshot(`
      [
        "1 MigrationPlanned: planned rules-test: 6 steps over beta → preprod → prod",
        "2 StepStarted: started beta-dual-read in beta (read dual/dual, write v1, tiers observed, rules tiered-7.1)",
        "3 EvidenceAttached: evidence for beta-dual-read: gate FAILED (998 compared, 8 changed)",
        "4 EvidenceAttached: evidence for beta-dual-read: gate passed (998 compared, 8 changed)",
        "5 DeploymentStarted: deployment #7 of beta-dual-read started in beta (configuration version 3)",
        "6 DeploymentCompleted: deployment #7 of beta-dual-read completed in beta",
        "7 MigrationPaused: paused — lunch",
        "8 MigrationResumed: resumed",
        "9 StepCompleted: completed beta-dual-read",
        "10 RolledBack: rolled back to the start, undoing beta-dual-read — bad tokens",
        "11 StepStarted: started beta-dual-read in beta (read dual/dual, write v1, tiers observed, rules tiered-7.1)",
        "12 StepWithdrawn: withdrew beta-dual-read before deploying it; beta stays on read dual/dual, write v1, tiers ignored, rules legacy-4 — wrong log",
        "13 MigrationAborted: aborted",
      ]
    `);
    const [completed] = historyView([...events.slice(0, 1), { type: 'MigrationCompleted', ...by, at: at(20) }]).slice(1);
    expect(completed).toEqual({ version: 2, at: at(20), actor: 'alice', type: 'MigrationCompleted', summary: 'completed the migration' });
    expect('reason' in (historyView(events)[0] ?? {})).toBe(false);
    const evidence = historyView(events)[2]?.evidence;
    expect(evidence).toEqual({ source: `reports/${beta().id}/report.json`, passed: false, failures: ['maxChangedRate: measured 0.2, limit 0.01'], compared: 998, changed: 8 });
  });
});
