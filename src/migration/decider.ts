/**
 * The migration decider: every rule of the rollout lives here, in one pure function.
 *
 *   decide(command, state) → events | rejection
 *   evolve(state, event)   → state
 *
 * No clock, ids or I/O: the command carries the instant it is decided at, and the shell loads,
 * folds and appends (see handleCommand in service.ts). Rejections name the invariant in plain words.
 */
import { applyFlags, readersAcceptBoth, withDualReaders } from './flags.js';
import type {
  Attribution,
  Decision,
  DeploymentRef,
  Evidence,
  Flags,
  MigrationCommand,
  MigrationEvent,
  MigrationState,
  Plan,
  Rejection,
  Step,
  StepProgress,
} from './model.js';

export const initialState: MigrationState = Object.freeze({ status: 'unplanned', steps: {}, liveFlags: {}, version: 0 });

const PHASE_ORDER_RULE =
  'may not start in any stage until phase {prev} has completed in every stage (all readers must understand new tokens before any writer emits one)';

function reject(invariant: string, message: string): Decision {
  return { ok: false, rejection: { invariant, message } };
}

function accept(...events: MigrationEvent[]): Decision {
  return { ok: true, events };
}

/** Decides what a command does to a migration in the given state. Pure and total. */
export function decide(command: MigrationCommand, state: MigrationState): Decision {
  if (Number.isNaN(Date.parse(command.at))) return reject('valid-time', `a command needs a valid instant; "${command.at}" is not one`);
  const base = { actor: command.actor, at: command.at, ...(command.reason !== undefined ? { reason: command.reason } : {}) };

  if (command.type === 'plan') {
    if (state.status !== 'unplanned') {
      return reject('plan-once', `a migration is planned once: ${state.plan?.id ?? 'this migration'} was planned already (status ${state.status})`);
    }
    return accept({ type: 'MigrationPlanned', ...base, plan: command.plan });
  }
  const plan = state.plan;
  if (state.status === 'unplanned' || plan === undefined) {
    return reject('planned-first', 'nothing can happen to a migration before it is planned: run plan with its definition first');
  }
  if (state.status === 'aborted' || state.status === 'completed') {
    return reject('finished-is-final', `nothing happens to ${state.status === 'aborted' ? 'an aborted' : 'a completed'} migration: ${plan.id} was ${state.status} at ${state.since ?? 'an earlier time'}`);
  }
  const paused = (): Decision | undefined =>
    state.status === 'paused'
      ? reject('paused-holds', `a paused migration takes no step until it is resumed (paused${state.pausedReason ? `: ${state.pausedReason}` : ''})`)
      : undefined;

  switch (command.type) {
    case 'startStep': {
      const step = plan.steps.find((s) => s.id === command.stepId);
      if (step === undefined) return unknownStep(plan, command.stepId);
      return paused() ?? startStep(plan, state, step, base);
    }
    case 'attachEvidence': {
      const stepId = command.stepId ?? state.current;
      const step = plan.steps.find((s) => s.id === stepId);
      if (stepId === undefined || step === undefined) {
        return stepId === undefined
          ? reject('evidence-for-live-step', 'evidence belongs to the step that is live, and no step is live now')
          : unknownStep(plan, stepId);
      }
      if (state.current !== step.id) {
        return reject('evidence-for-live-step', `evidence belongs to the step that is live: ${step.id} is not live${state.current ? ` (${state.current} is)` : ''}`);
      }
      const inconsistency = evidenceInconsistency(command.evidence);
      if (inconsistency !== undefined) return reject('evidence-adds-up', `a shadow report must add up: ${inconsistency}`);
      const failures = gateFailures(step, command.evidence);
      return accept({ type: 'EvidenceAttached', ...base, stepId: step.id, evidence: command.evidence, passed: failures.length === 0, failures });
    }
    case 'completeStep': {
      const stepId = command.stepId ?? state.current;
      if (stepId === undefined) return reject('complete-live-step', 'only the live step can complete, and no step is live now');
      const step = plan.steps.find((s) => s.id === stepId);
      if (step === undefined) return unknownStep(plan, stepId);
      return paused() ?? completeStep(state, step, command.at, base);
    }
    case 'advance': {
      const blocked = paused();
      if (blocked) return blocked;
      if (state.current !== undefined) {
        const step = plan.steps.find((s) => s.id === state.current) as Step;
        return completeStep(state, step, command.at, base);
      }
      const next = nextStep(plan, state);
      if (next === undefined) return accept({ type: 'MigrationCompleted', ...base });
      return startStep(plan, state, next, base);
    }
    case 'pause':
      if (state.status === 'paused') return reject('pause-once', `the migration is already paused${state.pausedReason ? ` (${state.pausedReason})` : ''}`);
      return accept({ type: 'MigrationPaused', ...base });
    case 'resume':
      if (state.status !== 'paused') return reject('resume-paused', 'only a paused migration can be resumed, and this one is running');
      return accept({ type: 'MigrationResumed', ...base });
    case 'recordDeployment':
      return recordDeployment(plan, state, command.stepId, command.deployment, command.state, base);
    case 'rollback': {
      const decision = rollback(plan, state, command.toStep, command.reason, base);
      if (!decision.ok || command.pause !== true || state.status === 'paused') return decision;
      return accept(...decision.events, { type: 'MigrationPaused', ...base });
    }
    case 'withdrawStep': {
      const decision = withdrawStep(plan, state, command.stepId ?? state.current, command.reason, base);
      if (!decision.ok || command.pause !== true || state.status === 'paused') return decision;
      return accept(...decision.events, { type: 'MigrationPaused', ...base });
    }
    case 'abort':
      return accept({ type: 'MigrationAborted', ...base });
    case 'complete': {
      const blocked = paused();
      if (blocked) return blocked;
      const open = plan.steps.filter((s) => state.steps[s.id]?.status !== 'completed');
      if (open.length > 0) {
        return reject('all-steps-complete', `a migration completes only once every step has: ${open.length} not complete (${open.map((s) => s.id).join(', ')})`);
      }
      return accept({ type: 'MigrationCompleted', ...base });
    }
  }
}

function unknownStep(plan: Plan, stepId: string): Decision {
  return reject('known-step', `"${stepId}" is not a step of ${plan.id} (steps: ${plan.steps.map((s) => s.id).join(', ')})`);
}

/** The first step in rollout order that has not completed. */
export function nextStep(plan: Plan, state: MigrationState): Step | undefined {
  return plan.steps.find((s) => state.steps[s.id]?.status !== 'completed');
}

type Base = Attribution;

function startStep(plan: Plan, state: MigrationState, step: Step, base: Base): Decision {
  if (state.steps[step.id]?.status === 'completed') {
    return reject('step-runs-once', `${step.id} has already completed; roll back to an earlier step to run it again`);
  }
  const done = (s: Step) => state.steps[s.id]?.status === 'completed';
  const earlierPhaseOpen = plan.steps.filter((s) => s.phase < step.phase && !done(s));
  if (earlierPhaseOpen.length > 0) {
    const phase = Math.min(...earlierPhaseOpen.map((s) => s.phase));
    const stages = [...new Set(earlierPhaseOpen.filter((s) => s.phase === phase).map((s) => s.stage))];
    return reject(
      'phase-order',
      `phase ${step.phase} ${PHASE_ORDER_RULE.replace('{prev}', String(phase))}: phase ${phase} is not complete in ${stages.join(', ')}, so ${step.id} cannot start in ${step.stage}`,
    );
  }
  const stageRank = (name: string) => plan.stages.findIndex((s) => s.name === name);
  const earlierStageOpen = plan.steps.filter((s) => s.phase === step.phase && stageRank(s.stage) < stageRank(step.stage) && !done(s));
  if (earlierStageOpen.length > 0) {
    const stages = [...new Set(earlierStageOpen.map((s) => s.stage))];
    return reject(
      'stage-order',
      `stages go in order: phase ${step.phase} may not start in ${step.stage} before it has completed in ${stages.join(', ')} (still open: ${earlierStageOpen.map((s) => s.id).join(', ')})`,
    );
  }
  const index = plan.steps.indexOf(step);
  const earlierInStage = plan.steps.filter((s, i) => i < index && s.phase === step.phase && s.stage === step.stage && !done(s));
  if (earlierInStage.length > 0) {
    return reject('step-order', `steps within a stage go in order: ${step.id} comes after ${earlierInStage.map((s) => s.id).join(', ')}, which has not completed`);
  }
  if (state.current !== undefined) {
    return reject('one-step-at-a-time', `one step is live at a time: ${state.current} is still live; complete it or roll back first`);
  }
  const before = state.liveFlags[step.stage] ?? plan.initialFlags;
  return accept({ type: 'StepStarted', ...base, stepId: step.id, stage: step.stage, liveFlags: { ...before, ...step.flags } });
}

function completeStep(state: MigrationState, step: Step, at: string, base: Base): Decision {
  const progress = state.steps[step.id];
  if (state.current !== step.id || progress?.startedAt === undefined) {
    return reject('complete-live-step', `only the live step can complete: ${step.id} is not live${state.current ? ` (${state.current} is)` : ''}`);
  }
  const deployment = progress.deployment;
  if (deployment !== undefined && deployment.completedAt === undefined) {
    return reject(
      'deployed-before-complete',
      `a step completes only once the deployment carrying its flags has: ${deployment.environment} deployment #${deployment.number} of ${step.id} has not completed`,
    );
  }
  // Once the step's flags were deployed, the bake is counted from the moment they were fully out.
  const bakeFrom = deployment?.completedAt ?? progress.startedAt;
  const baked = Date.parse(at) - Date.parse(bakeFrom);
  const needed = step.bakeMinutes * 60_000;
  if (baked < needed) {
    return reject(
      'bake-time',
      `a step may not complete before its bake time has passed: ${step.id} has baked ${formatDuration(Math.max(0, baked), 'down')} of ${formatDuration(needed)} (${formatDuration(needed - Math.max(0, baked), 'up')} to go)`,
    );
  }
  const latest = progress.evidence[progress.evidence.length - 1];
  if (latest === undefined) {
    return reject('passing-gate', `a step may not complete without a passing gate attached: no evidence has been attached to ${step.id} since it started`);
  }
  if (!latest.passed) {
    return reject('passing-gate', `a step may not complete without a passing gate attached: the latest evidence for ${step.id} failed (${latest.failures.join('; ')})`);
  }
  return accept({ type: 'StepCompleted', ...base, stepId: step.id });
}

function recordDeployment(plan: Plan, state: MigrationState, stepId: string, deployment: DeploymentRef, what: 'started' | 'complete', base: Base): Decision {
  const step = plan.steps.find((s) => s.id === stepId);
  if (step === undefined) return unknownStep(plan, stepId);
  const progress = state.steps[step.id];
  if (state.current !== step.id || progress === undefined) {
    return reject('deployment-for-live-step', `a deployment carries the flags of the step that is live: ${step.id} is not live${state.current ? ` (${state.current} is)` : ''}`);
  }
  const ref: DeploymentRef = { environment: deployment.environment, number: deployment.number, configVersion: deployment.configVersion };
  if (what === 'started') {
    const latest = progress.evidence[progress.evidence.length - 1];
    if (latest === undefined || !latest.passed) {
      return reject('gate-before-deploy', `a step's flags are deployed only after a passing gate is attached: ${step.id} has ${latest === undefined ? 'no evidence' : 'failing evidence'} since it started`);
    }
    if (progress.deployment !== undefined) {
      return reject(
        'one-deployment-per-step',
        `one deployment carries a run of a step: ${step.id} already has ${progress.deployment.environment} deployment #${progress.deployment.number}; roll back to deploy again`,
      );
    }
    return accept({ type: 'DeploymentStarted', ...base, stepId: step.id, stage: step.stage, deployment: ref });
  }
  const started = progress.deployment;
  if (started === undefined || started.number !== ref.number || started.environment !== ref.environment) {
    return reject(
      'deployment-recorded-first',
      `a deployment completes only after it was recorded as started for the step: ${step.id} ${started === undefined ? 'has no deployment' : `has deployment #${started.number} in ${started.environment}, not #${ref.number} in ${ref.environment}`}`,
    );
  }
  if (started.completedAt !== undefined) return reject('deployment-completes-once', `${ref.environment} deployment #${ref.number} of ${step.id} was recorded complete already`);
  return accept({ type: 'DeploymentCompleted', ...base, stepId: step.id, deployment: ref });
}

/**
 * A step whose flags never went out (no deployment recorded) is withdrawn rather than rolled
 * back: its stage returns to exactly what it ran before, so nothing is deployed. A rollback would
 * widen the stage's readers to dual for tokens the step might have written, but the step wrote
 * none, and widening them is itself a deployment.
 */
function withdrawStep(plan: Plan, state: MigrationState, stepId: string | undefined, reason: string, base: Base): Decision {
  if (reason.trim() === '') return reject('withdraw-reason', 'a withdrawal records why it happened: give a reason');
  if (stepId === undefined) return reject('withdraw-live-step', 'only the live step can be withdrawn, and no step is live now');
  const step = plan.steps.find((s) => s.id === stepId);
  if (step === undefined) return unknownStep(plan, stepId);
  const progress = state.steps[step.id];
  if (state.current !== step.id || progress === undefined) {
    return reject('withdraw-live-step', `only the live step can be withdrawn: ${step.id} is not live${state.current ? ` (${state.current} is)` : ''}`);
  }
  if (progress.deployment !== undefined) {
    return reject(
      'withdraw-undeployed',
      `a step is withdrawn only before its flags are deployed: ${progress.deployment.environment} deployment #${progress.deployment.number} of ${step.id} was started; roll back instead`,
    );
  }
  const before = progress.flagsBefore;
  if (before === undefined) return reject('withdraw-undeployed', `${step.id} records no flags from before it started; roll back instead`);
  return accept({ type: 'StepWithdrawn', ...base, reason, stepId: step.id, stage: step.stage, liveFlags: before });
}

/** Rollback target that undoes every step: back to the flags before the first one (readers kept dual). */
export const ROLLBACK_TO_START = 'start';

function rollback(plan: Plan, state: MigrationState, toStep: string, reason: string, base: Base): Decision {
  if (reason.trim() === '') return reject('rollback-reason', 'a rollback records why it happened: give a reason');
  let targetIndex = -1;
  if (toStep !== ROLLBACK_TO_START) {
    const target = plan.steps.find((s) => s.id === toStep);
    if (target === undefined) return unknownStep(plan, toStep);
    if (state.steps[target.id]?.status !== 'completed') {
      return reject(
        'rollback-target',
        `a rollback returns to a step that has completed (or to "${ROLLBACK_TO_START}", before the first step), and ${target.id} has not (it is ${state.steps[target.id]?.status ?? 'pending'})`,
      );
    }
    targetIndex = plan.steps.indexOf(target);
  }
  const undone = plan.steps
    .filter((s, i) => i > targetIndex && state.steps[s.id]?.status !== 'pending')
    .reverse()
    .map((s) => s.id);
  if (undone.length === 0) {
    return reject('rollback-target', `nothing to roll back: no step after ${toStep === ROLLBACK_TO_START ? 'the start' : toStep} has started`);
  }
  const undoneStages = new Set(undone.map((id) => plan.steps.find((s) => s.id === id)?.stage));
  const liveFlags: Record<string, Flags> = {};
  for (const { name } of plan.stages) {
    const kept = plan.steps.filter((s, i) => i <= targetIndex && s.stage === name && state.steps[s.id]?.status === 'completed');
    const landed = applyFlags(plan.initialFlags, kept.map((s) => s.flags));
    const current = state.liveFlags[name] ?? plan.initialFlags;
    // Tokens written by the undone steps may still be in flight: readers that could read both
    // formats keep doing so, and so do readers of every stage the rollback touches.
    liveFlags[name] = undoneStages.has(name) || readersAcceptBoth(current) ? withDualReaders(landed) : landed;
  }
  return accept({ type: 'RolledBack', ...base, reason, toStep, undoneSteps: undone, liveFlags });
}

function evidenceInconsistency(e: Evidence): string | undefined {
  const counts = { ...e.totals, ...e.outcomes };
  for (const [name, n] of Object.entries(counts)) {
    if (!Number.isInteger(n) || n < 0) return `${name} must be a whole number of records, got ${n}`;
  }
  const { read, compared, quarantined } = e.totals;
  if (read !== compared + quarantined) return `read (${read}) must equal compared (${compared}) + quarantined (${quarantined})`;
  const o = e.outcomes;
  const sum = o.same + o.changed + o.baselineError + o.candidateError + o.bothError;
  if (compared !== sum) return `compared (${compared}) must equal the sum of outcomes (${sum})`;
  return undefined;
}

/** Why this evidence does not pass the step's gate (empty when it passes). */
function gateFailures(step: Step, e: Evidence): string[] {
  const failures = e.verdict.passed ? [] : e.verdict.failures.map((f) => `${f.threshold}: measured ${f.measured}, limit ${f.limit}`);
  if (!e.verdict.passed && failures.length === 0) failures.push('the gate verdict did not pass');
  for (const alarm of step.gate.alarms) {
    const seen = e.alarms[alarm];
    if (seen === undefined) failures.push(`alarm ${alarm} was not reported`);
    else if (seen !== 'OK') failures.push(`alarm ${alarm} is ${seen}`);
  }
  return failures;
}

/** `45s`, `12m`, `1h`, `2h30m`: elapsed time rounds down, time still to go rounds up. */
export function formatDuration(ms: number, round: 'up' | 'down' = 'up'): string {
  if (ms < 60_000) return `${(round === 'up' ? Math.ceil : Math.floor)(ms / 1000)}s`;
  const minutes = (round === 'up' ? Math.ceil : Math.floor)(ms / 60_000);
  if (minutes < 60) return `${minutes}m`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h}h` : `${h}h${m}m`;
}

const pendingStep: StepProgress = Object.freeze({ status: 'pending', evidence: [], runs: 0 });

/** Applies one event to the state. Pure; unknown event types are a programmer error. */
export function evolve(state: MigrationState, event: MigrationEvent): MigrationState {
  const version = state.version + 1;
  switch (event.type) {
    case 'MigrationPlanned': {
      const steps: Record<string, StepProgress> = {};
      for (const s of event.plan.steps) steps[s.id] = pendingStep;
      const liveFlags: Record<string, Flags> = {};
      for (const s of event.plan.stages) liveFlags[s.name] = event.plan.initialFlags;
      return { status: 'active', plan: event.plan, steps, liveFlags, since: event.at, version };
    }
    case 'StepStarted': {
      const prior = state.steps[event.stepId] ?? pendingStep;
      const flagsBefore = state.liveFlags[event.stage] ?? state.plan?.initialFlags;
      return {
        ...state,
        steps: {
          ...state.steps,
          [event.stepId]: { status: 'in-progress', startedAt: event.at, evidence: [], runs: prior.runs + 1, ...(flagsBefore === undefined ? {} : { flagsBefore }) },
        },
        current: event.stepId,
        liveFlags: { ...state.liveFlags, [event.stage]: event.liveFlags },
        version,
      };
    }
    case 'EvidenceAttached': {
      const prior = state.steps[event.stepId] ?? pendingStep;
      const entry = { at: event.at, actor: event.actor, passed: event.passed, failures: event.failures, evidence: event.evidence };
      return { ...state, steps: { ...state.steps, [event.stepId]: { ...prior, evidence: [...prior.evidence, entry] } }, version };
    }
    case 'StepCompleted': {
      const prior = state.steps[event.stepId] ?? pendingStep;
      const { current: _current, ...rest } = state;
      return { ...rest, steps: { ...state.steps, [event.stepId]: { ...prior, status: 'completed', completedAt: event.at } }, version };
    }
    case 'DeploymentStarted': {
      const prior = state.steps[event.stepId] ?? pendingStep;
      return { ...state, steps: { ...state.steps, [event.stepId]: { ...prior, deployment: { ...event.deployment, startedAt: event.at } } }, version };
    }
    case 'DeploymentCompleted': {
      const prior = state.steps[event.stepId] ?? pendingStep;
      if (prior.deployment === undefined) return { ...state, version };
      return { ...state, steps: { ...state.steps, [event.stepId]: { ...prior, deployment: { ...prior.deployment, completedAt: event.at } } }, version };
    }
    case 'MigrationPaused':
      return { ...state, status: 'paused', since: event.at, ...(event.reason !== undefined ? { pausedReason: event.reason } : {}), version };
    case 'MigrationResumed': {
      const { pausedReason: _reason, ...rest } = state;
      return { ...rest, status: 'active', since: event.at, version };
    }
    case 'RolledBack': {
      const steps = { ...state.steps };
      for (const id of event.undoneSteps) steps[id] = { status: 'pending', evidence: [], runs: state.steps[id]?.runs ?? 0 };
      const { current: _current, ...rest } = state;
      return { ...rest, steps, liveFlags: { ...state.liveFlags, ...event.liveFlags }, version };
    }
    case 'StepWithdrawn': {
      const { current: _current, ...rest } = state;
      const runs = state.steps[event.stepId]?.runs ?? 0;
      return { ...rest, steps: { ...state.steps, [event.stepId]: { status: 'pending', evidence: [], runs } }, liveFlags: { ...state.liveFlags, [event.stage]: event.liveFlags }, version };
    }
    case 'MigrationAborted':
    case 'MigrationCompleted': {
      const { current: _current, pausedReason: _reason, ...rest } = state;
      return { ...rest, status: event.type === 'MigrationAborted' ? 'aborted' : 'completed', since: event.at, version };
    }
  }
}

/** Folds events onto a state (the initial one by default). */
export function fold(events: Iterable<MigrationEvent>, from: MigrationState = initialState): MigrationState {
  let state = from;
  for (const e of events) state = evolve(state, e);
  return state;
}

export type { Rejection };
