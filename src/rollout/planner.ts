/**
 * The rollout planner: from the migration's state (folded from its event stream) and what the
 * runner observes right now (what each stage's AppConfig environment has live and is deploying,
 * the live step's deployment, the alarms), the one thing to do next. Pure and total: every
 * restart of a runner, on any machine, computes the same next action from the same stream and
 * the same observations, which is what makes the runner resumable and idempotent.
 *
 * The rules of the rollout stay in the migration decider; the planner only sequences the work
 * around them (evidence before deployment, deployment before bake, bake before completion) and
 * says when to roll back.
 */
import { nextStep, ROLLBACK_TO_START, type Flags, type MigrationState, type Plan, type Step } from '../migration/index.js';

export interface StageObservation {
  /** The flags of the newest completed flags deployment in the stage's environment; undefined when none ever completed. */
  readonly deployedFlags: Flags | undefined;
  /** The deployment running in the environment, if any (AppConfig runs one per environment at a time). */
  readonly running: { readonly number: number; readonly state: string } | undefined;
}

/** Why the fleet of the live step's stage is in trouble: an alarm firing, or instances not answering. */
export interface AlarmObservation {
  readonly name: string;
  readonly detail: string;
}

export interface Observations {
  /** The runner's clock (ISO; a rehearsal's clock runs faster, see clock.ts). */
  readonly now: string;
  readonly stages: Readonly<Record<string, StageObservation>>;
  /** AppConfig's view of the live step's recorded deployment. */
  readonly stepDeployment?: { readonly number: number; readonly state: string };
  /** Set when an alarm of the live step fires, or its fleet stopped answering. */
  readonly alarm?: AlarmObservation;
}

export interface PlannerOptions {
  /** Stop once this step has completed (the per-stage pipeline entries). */
  readonly until?: string;
}

export type RolloutAction =
  | { readonly kind: 'finished'; readonly status: 'completed' | 'aborted' | 'until-reached'; readonly step?: string }
  | { readonly kind: 'paused'; readonly reason: string }
  /** Deploy `flags` to a stage whose environment does not run what the migration says it runs (after a rollback). */
  | { readonly kind: 'reconcile'; readonly stage: string; readonly flags: Flags }
  | { readonly kind: 'wait'; readonly reason: string }
  | { readonly kind: 'start-step'; readonly step: Step }
  | { readonly kind: 'gather-evidence'; readonly step: Step }
  | { readonly kind: 'deploy'; readonly step: Step; readonly flags: Flags; readonly run: number }
  | { readonly kind: 'watch'; readonly step: Step; readonly deployment: number }
  | { readonly kind: 'record-deployed'; readonly step: Step; readonly deployment: number }
  | { readonly kind: 'bake'; readonly step: Step; readonly until: string }
  | { readonly kind: 'complete-step'; readonly step: Step }
  | { readonly kind: 'complete-migration' }
  /** The live step's gate failed before anything was deployed: withdraw it, deploying nothing. */
  | { readonly kind: 'withdraw'; readonly step: Step; readonly reason: string }
  | {
      readonly kind: 'rollback';
      readonly step: Step;
      /** The step the migration goes back to (the last one completed before the live step), or `start`. */
      readonly toStep: string;
      readonly reason: string;
      /** The live step's deployment still running, to stop first. */
      readonly stop?: { readonly environment: string; readonly number: number };
    };

export function sameFlags(a: Flags | undefined, b: Flags | undefined): boolean {
  return (
    a !== undefined &&
    b !== undefined &&
    a.priorityScheme === b.priorityScheme &&
    a.tokenReadMode === b.tokenReadMode &&
    a.tokenWriteMode === b.tokenWriteMode &&
    a.serviceTierMode === b.serviceTierMode &&
    a.rulesVersion === b.rulesVersion
  );
}

/**
 * Stages whose environment must be brought to the flags the migration says they run, in the
 * safe order: stages whose writers go back to v1 first, so that no reader anywhere is left
 * facing v2 tokens from a stage that is only about to stop writing them.
 */
export function stagesToReconcile(plan: Plan, state: MigrationState, obs: Observations, except: string | undefined): { stage: string; flags: Flags }[] {
  const out: { stage: string; flags: Flags; first: boolean }[] = [];
  for (const { name } of plan.stages) {
    if (name === except) continue;
    const wanted = state.liveFlags[name] ?? plan.initialFlags;
    const deployed = obs.stages[name]?.deployedFlags;
    if (sameFlags(wanted, deployed)) continue;
    out.push({ stage: name, flags: wanted, first: deployed?.tokenWriteMode === 'v2' && wanted.tokenWriteMode === 'v1' });
  }
  return out.sort((a, b) => Number(b.first) - Number(a.first)).map(({ stage, flags }) => ({ stage, flags }));
}

/** The step an automatic rollback of `step` returns to: the last step completed before it, or the start. */
export function rollbackTarget(plan: Plan, state: MigrationState, step: Step): string {
  const index = plan.steps.indexOf(step);
  const before = plan.steps.filter((s, i) => i < index && state.steps[s.id]?.status === 'completed');
  return before[before.length - 1]?.id ?? ROLLBACK_TO_START;
}

const FAILED_DEPLOYMENT = new Set(['ROLLED_BACK', 'REVERTED']);

/** The next thing the runner does. */
export function nextAction(state: MigrationState, obs: Observations, options: PlannerOptions = {}): RolloutAction {
  const plan = state.plan;
  if (plan === undefined) return { kind: 'wait', reason: 'the migration is not planned' };
  if (state.status === 'completed' || state.status === 'aborted') return { kind: 'finished', status: state.status };

  const live = state.current === undefined ? undefined : plan.steps.find((s) => s.id === state.current);
  // Environments first: after a rollback (or before the first step) each stage must run what the
  // migration says it runs before anything moves forward. One deployment at a time.
  for (const { name } of plan.stages) {
    if (name === live?.stage) continue;
    const running = obs.stages[name]?.running;
    if (running !== undefined) return { kind: 'wait', reason: `deployment #${running.number} is ${running.state} in ${name}` };
  }
  const stale = stagesToReconcile(plan, state, obs, live?.stage)[0];
  if (stale !== undefined) return { kind: 'reconcile', stage: stale.stage, flags: stale.flags };

  if (state.status === 'paused' && live === undefined) return { kind: 'paused', reason: state.pausedReason ?? 'paused' };

  if (live === undefined) {
    if (options.until !== undefined && state.steps[options.until]?.status === 'completed') return { kind: 'finished', status: 'until-reached', step: options.until };
    const next = nextStep(plan, state);
    return next === undefined ? { kind: 'complete-migration' } : { kind: 'start-step', step: next };
  }

  const progress = state.steps[live.id];
  const rollback = (reason: string, stop?: { environment: string; number: number }): RolloutAction => ({
    kind: 'rollback',
    step: live,
    toStep: rollbackTarget(plan, state, live),
    reason,
    ...(stop === undefined ? {} : { stop }),
  });
  if (progress === undefined) return { kind: 'wait', reason: `${live.id} has no progress recorded` };
  const latest = progress.evidence[progress.evidence.length - 1];
  const deployment = progress.deployment;
  if (deployment === undefined) {
    if (state.status === 'paused') return { kind: 'paused', reason: state.pausedReason ?? 'paused' };
    if (latest === undefined) return { kind: 'gather-evidence', step: live };
    // Nothing carried the step's flags out, so nothing needs undoing: the stage stays as it is.
    if (!latest.passed) return { kind: 'withdraw', step: live, reason: `gate failed for ${live.id}: ${latest.failures.join('; ')}` };
    // The shell finds a deployment of this run started before a crash, or waits for one someone else runs, before starting its own.
    return { kind: 'deploy', step: live, flags: state.liveFlags[live.stage] ?? plan.initialFlags, run: progress.runs };
  }
  const where = `${deployment.environment} deployment #${deployment.number}`;
  if (deployment.completedAt === undefined) {
    const seen = obs.stepDeployment;
    if (seen !== undefined && seen.number === deployment.number) {
      if (FAILED_DEPLOYMENT.has(seen.state)) return rollback(`${where} of ${live.id} ended ${seen.state}`);
      if (seen.state === 'COMPLETE') return { kind: 'record-deployed', step: live, deployment: deployment.number };
    }
    if (obs.alarm !== undefined) return rollback(`${obs.alarm.name} during ${where} of ${live.id}: ${obs.alarm.detail}`, { environment: deployment.environment, number: deployment.number });
    return { kind: 'watch', step: live, deployment: deployment.number };
  }
  if (obs.alarm !== undefined) return rollback(`${obs.alarm.name} while ${live.id} baked: ${obs.alarm.detail}`);
  if (state.status === 'paused') return { kind: 'paused', reason: state.pausedReason ?? 'paused' };
  const until = new Date(Date.parse(deployment.completedAt) + live.bakeMinutes * 60_000).toISOString();
  if (Date.parse(obs.now) < Date.parse(until)) return { kind: 'bake', step: live, until };
  return { kind: 'complete-step', step: live };
}
